//! A TCP listener that can refuse connections for a while: it closes its
//! socket (so clients get "connection refused", as from a host that is down)
//! and binds the same address again when the fault ends.

use crate::state::SharedState;
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};

pub struct RefusableListener {
    state: SharedState,
    address: SocketAddr,
    socket: Option<TcpListener>,
}

impl RefusableListener {
    /// Binds `address` (port 0 picks one) and remembers the chosen port for rebinding.
    pub async fn bind(state: SharedState, address: SocketAddr) -> io::Result<Self> {
        let socket = TcpListener::bind(address).await?;
        let address = socket.local_addr()?;
        Ok(RefusableListener {
            state,
            address,
            socket: Some(socket),
        })
    }
}

impl axum::serve::Listener for RefusableListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let refusing = self.state.read().faults.refusing_until();
            if let Some(until) = refusing {
                self.socket = None;
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            let socket = match &self.socket {
                Some(socket) => socket,
                None => match TcpListener::bind(self.address).await {
                    Ok(socket) => self.socket.insert(socket),
                    Err(error) => {
                        tracing::warn!(%error, address = %self.address, "rebinding failed; trying again");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            tokio::select! {
                accepted = socket.accept() => match accepted {
                    Ok(connection) => return connection,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                },
                () = self.state.refuse_signal.notified() => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.address)
    }
}

//! A small callback receiver for tests: records every POST and answers
//! with planned statuses (200 unless told otherwise). Waiting is on the
//! arrival itself, never on a sleep.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// One callback as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query the callback was sent to.
    pub uri: String,
    pub body: Value,
    /// The status the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    plan: Mutex<VecDeque<u16>>,
    arrived: Notify,
}

/// Listens on an ephemeral loopback port until dropped.
pub struct CallbackReceiver {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl CallbackReceiver {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(receive).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallbackReceiver {
            address,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Answers the next callbacks with these statuses, in order, then 200 again.
    pub fn answer_next(&self, statuses: impl IntoIterator<Item = u16>) {
        self.shared.plan.lock().expect("not poisoned").extend(statuses);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("not poisoned").clone()
    }

    /// Waits until `count` callbacks satisfy `matching`; returns them, or
    /// `Err` with everything received when `timeout` passes first.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
        matching: impl Fn(&Received) -> bool,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found: Vec<Received> = self.received().into_iter().filter(&matching).collect();
            if found.len() >= count {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(self.received());
            }
        }
    }
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, OriginalUri(uri): OriginalUri, body: Bytes) -> StatusCode {
    let answered = shared.plan.lock().expect("not poisoned").pop_front().unwrap_or(200);
    let body =
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    shared.received.lock().expect("not poisoned").push(Received {
        uri: uri.to_string(),
        body,
        answered,
    });
    shared.arrived.notify_waiters();
    StatusCode::from_u16(answered).unwrap_or(StatusCode::OK)
}

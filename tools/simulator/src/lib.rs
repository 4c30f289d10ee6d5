//! A local DeepCleer and ZEGOCLOUD that speak the real wire protocol over
//! HTTP, so that the functions, the end-to-end tests and the local run talk
//! to it exactly as they would talk to production.
//!
//! - DeepCleer: `POST /audiostream/v4`, `/finish_audiostream/v4`,
//!   `/finish_videostream/v4` ([`api`]).
//! - Zego: `POST /?Action=StartCensorAudioV2|StopCensorAudioV2` with signed
//!   common parameters; callbacks signed as Zego signs them.
//! - Time is scaled ([`Clock`]): at `time_scale` 600 a 10-minute stream runs in a second.
//! - Verdicts and stream outcomes come from a [`Scenario`]; faults and
//!   everything that happened are under `/_sim/` ([`control`]; the client
//!   side is [`ControlClient`]).
//!
//! Tests start it in-process with [`Simulator::start`]; the binary runs it
//! from the command line (`--help`).

pub mod api;
pub mod clock;
pub mod config;
pub mod control;
pub mod control_client;
pub mod delivery;
pub mod faults;
mod listener;
pub mod pull;
pub mod receiver;
pub mod scenario;
pub mod state;
pub mod stream;

pub use clock::Clock;
pub use config::{Config, ZegoCredentials};
pub use control_client::{ControlClient, ControlError};
pub use faults::{Api, Fault};
pub use scenario::{Scenario, SegmentRule, StreamRule};

use axum::Router;
use axum::routing::{get, post};
use state::{SharedState, State};
use std::net::SocketAddr;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0} is not a loopback address; pass --allow-non-loopback to listen there")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A running simulator; stops when dropped or shut down.
pub struct Simulator {
    address: SocketAddr,
    state: SharedState,
    shutdown: tokio_util::sync::CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

/// All routes, for serving and for route listings.
pub fn router(state: SharedState) -> Router {
    Router::new()
        .route(streamguard_wire::deepcleer::START_PATH, post(api::start))
        .route(streamguard_wire::deepcleer::CLOSE_AUDIO_PATH, post(api::close_audio))
        .route(streamguard_wire::deepcleer::CLOSE_VIDEO_PATH, post(api::close_video))
        .route("/", post(api::zego))
        .route("/_sim/health", get(control::health))
        .route("/_sim/scenario", get(control::get_scenario).put(control::put_scenario))
        .route(
            "/_sim/faults",
            get(control::list_faults)
                .post(control::add_faults)
                .delete(control::clear_faults),
        )
        .route("/_sim/tasks", get(control::tasks))
        .route("/_sim/tasks/{request_id}/stray", post(control::start_stray))
        .route("/_sim/deliveries", get(control::deliveries))
        .route("/_sim/requests", get(control::requests))
        .route("/_sim/video-tasks", post(control::add_video_task))
        .route("/_sim/video-tasks/{request_id}", get(control::video_task))
        .route("/_sim/reset", post(control::reset))
        .route("/_sim/audio/{file}", get(control::audio))
        .with_state(state)
}

impl Simulator {
    /// Binds and starts serving in the background.
    pub async fn start(config: Config) -> Result<Simulator, StartError> {
        let requested = config.listen;
        if !config.allow_non_loopback && !requested.ip().is_loopback() {
            return Err(StartError::NotLoopback(requested));
        }
        let state = State::new(config);
        let listener = listener::RefusableListener::bind(state.clone(), requested)
            .await
            .map_err(|source| StartError::Bind {
                address: requested,
                source,
            })?;
        let address = axum::serve::Listener::local_addr(&listener).expect("a bound address");
        state.update(|inner| inner.base_url = format!("http://{address}"));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Ok(Simulator {
            address,
            state,
            shutdown,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state, for in-process inspection.
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Stops accepting, ends every task and waits for the server to finish.
    pub async fn shutdown(mut self) {
        self.stop_tasks();
        self.shutdown.cancel();
        let _ = (&mut self.server).await;
    }

    fn stop_tasks(&self) {
        self.state.read().tasks.values().for_each(|task| task.cancel.cancel());
    }

    /// Waits until the server stops (Ctrl-C in the binary).
    pub async fn serve_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop_tasks();
        self.shutdown.cancel();
    }
}

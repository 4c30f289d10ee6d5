//! What streamguard decides: the task lifecycle, idempotent start, close,
//! and which callbacks become queue events, exactly once. It knows the
//! outside world only through [`crate::ports`].

pub mod callback;
pub mod close;
pub mod error;
pub mod progress;
pub mod start;
pub mod task;
pub mod token;
pub mod zego;

pub use error::ApiError;
pub use task::{Task, TaskStatus};
pub use token::{CallbackKey, TaskRef};

use crate::ports::{Clock, EventQueue, StreamProvider, TaskStore};
use std::time::Duration;
use wire::deepcleer::RiskLevel;
use wire::event::Provider;

/// A secret string: never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The decisions configuration makes.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Sent as `accessKey`; owned by the bundle, never by the caller.
    pub access_key: Secret,
    /// Signs callback tokens.
    pub callback_key: CallbackKey,
    /// `appId` when the caller sends none.
    pub default_app_id: Option<String>,
    /// `eventId` when the caller sends none.
    pub default_event_id: Option<String>,
    /// Risk levels whose segments are published (default REJECT).
    pub published_levels: Vec<RiskLevel>,
    /// Attempts at the start call when the provider does not answer in time.
    pub start_attempts: u32,
    /// Attempts at the close call.
    pub close_attempts: u32,
    /// How long a STARTING task holds its btId against another start.
    pub starting_lease: Duration,
    /// How long published-event records are kept for deduplication.
    pub event_retention: Duration,
    /// At most one progress write per task per this interval (per instance).
    pub progress_interval: Duration,
    /// The deployment's provider; a start may name the other one.
    pub default_provider: Provider,
    /// Whether Zego's API credentials are configured (start, close).
    pub zego_enabled: bool,
    /// Verifies Zego's callback signatures (callback).
    pub zego_callback_secret: Option<Secret>,
    /// Zego `EventId` when a start's `eventId` is not one of Zego's.
    pub zego_default_event_id: String,
}

impl Policy {
    /// Defaults for everything but the secrets.
    pub fn new(access_key: Secret, callback_key: CallbackKey) -> Self {
        Policy {
            access_key,
            callback_key,
            default_app_id: None,
            default_event_id: None,
            published_levels: vec![RiskLevel::Reject],
            start_attempts: 2,
            close_attempts: 3,
            starting_lease: Duration::from_secs(30),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            progress_interval: Duration::from_secs(60),
            default_provider: Provider::Deepcleer,
            zego_enabled: false,
            zego_callback_secret: None,
            zego_default_event_id: "audio_room".to_owned(),
        }
    }
}

/// The service every function runs, over whichever adapters it is given.
pub struct Streamguard<S, Q, P, C> {
    pub store: S,
    pub queue: Q,
    pub provider: P,
    pub clock: C,
    pub policy: Policy,
    progress: progress::ProgressGate,
}

impl<S: TaskStore, Q: EventQueue, P: StreamProvider, C: Clock> Streamguard<S, Q, P, C> {
    pub fn new(store: S, queue: Q, provider: P, clock: C, policy: Policy) -> Self {
        let progress = progress::ProgressGate::new(policy.progress_interval);
        Streamguard {
            store,
            queue,
            provider,
            clock,
            policy,
            progress,
        }
    }
}

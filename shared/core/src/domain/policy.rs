//! The decisions configuration makes, one struct per use case. Each is read
//! from the environment and given its defaults in one place
//! (`crate::config`); tests build them with `Default`.

use std::time::Duration;
use streamguard_wire::event::RiskLevel;

/// How starts behave.
#[derive(Debug, Clone, PartialEq)]
pub struct StartPolicy {
    /// Attempts at the provider's start when it does not answer in time
    /// (only for providers that recognise a resubmission).
    pub attempts: u32,
    /// How long a STARTING task holds its btId against another start.
    pub starting_lease: Duration,
    /// How long finished tasks and published-event records are kept.
    pub retention: Duration,
    /// How long a callback token is valid: the longest stream the deployment
    /// lets run, and a margin for the provider's last deliveries.
    pub token_lifetime: Duration,
}

/// How closes behave.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosePolicy {
    /// Attempts at the provider's stop on timeouts and transient refusals.
    pub attempts: u32,
    /// How long finished tasks are kept.
    pub retention: Duration,
}

/// How callbacks are turned into events.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackPolicy {
    /// Risk levels whose segments are published.
    pub published_levels: Vec<RiskLevel>,
    /// How long finished tasks and published-event records are kept.
    pub retention: Duration,
    /// At most one progress write per task per this interval (per instance).
    pub progress_interval: Duration,
}

/// What the watchdog looks for, every run.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchdogPolicy {
    /// An ACTIVE task that calls back for every segment and has been silent
    /// this long gets a `streamStale` event.
    pub stale_after: Duration,
    /// A task open longer than this is closed (`MAX_DURATION`); `None`: never.
    pub max_stream: Option<Duration>,
    /// How long to wait for what should have come: the end after a close
    /// (then ENDED, `END_NOT_RECEIVED`), a retry of a start whose lease ended
    /// (then FAILED, so its provider task, if any, is a stray and stopped).
    pub grace: Duration,
    /// How long a failing close is retried before the task is let go
    /// (CLOSED, its stop unconfirmed), so that the btId is never held forever.
    pub close_retry_for: Duration,
    /// How long finished tasks and published-event records are kept.
    pub retention: Duration,
}

/// How the archiver fetches and keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidencePolicy {
    /// Attempts at a fetch that fails for a reason worth another try.
    pub fetch_attempts: u32,
    /// The wait before the second attempt, doubled for each next one.
    pub fetch_backoff: Duration,
    /// How long one fetch may take.
    pub fetch_timeout: Duration,
    /// The most one fetched object may weigh.
    pub max_bytes: usize,
    /// Whether plain `http` links are fetched (local runs); else `https` only.
    pub allow_http: bool,
}

impl EvidencePolicy {
    /// The longest archiving one event may take: both links fetched with
    /// every attempt timing out and every backoff waited, and the writes.
    pub fn longest_event(&self) -> Duration {
        /// What the archive and table writes of one event are allowed.
        const WRITES: Duration = Duration::from_secs(10);
        let attempts = self.fetch_attempts.max(1);
        let backoffs = self.fetch_backoff * (2u32.saturating_pow(attempts - 1) - 1);
        (self.fetch_timeout * attempts + backoffs) * 2 + WRITES
    }
}

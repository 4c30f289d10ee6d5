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
}

/// How closes behave.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosePolicy {
    /// Attempts at the provider's stop on timeouts and transient refusals.
    pub attempts: u32,
}

/// How callbacks are turned into events.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackPolicy {
    /// Risk levels whose segments are published.
    pub published_levels: Vec<RiskLevel>,
    /// How long published-event records are kept for deduplication.
    pub event_retention: Duration,
    /// At most one progress write per task per this interval (per instance).
    pub progress_interval: Duration,
}

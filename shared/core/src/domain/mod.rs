//! What streamguard decides: the task lifecycle, idempotent start, close,
//! and which callbacks become queue events, exactly once. One service per
//! function, each holding only what its function may do:
//!
//! - [`Starter`] (start): claims tasks and calls providers' start;
//! - [`Closer`] (close): stops tasks at their providers;
//! - [`CallbackHandler`] (callback): reads callbacks and publishes; calls no provider;
//! - [`Watchdog`] (watchdog): gives every open task a way out (`docs/lifecycle.md`);
//! - [`Archiver`] (archiver): keeps every published segment's evidence;
//! - [`History`] (history): a btId's published events with their evidence.
//!
//! It knows the outside world only through [`crate::ports`], and never names
//! a provider, an AWS service or HTTP (a test holds it to that).

pub mod callback;
pub mod close;
pub mod error;
pub mod events;
pub mod evidence;
pub mod policy;
pub mod progress;
pub mod provider;
pub mod publish;
pub mod start;
pub mod task;
pub mod token;
pub mod view;
pub mod watchdog;

pub use callback::CallbackHandler;
pub use close::Closer;
pub use error::Error;
pub use evidence::{Archiver, History};
pub use provider::ProviderId;
pub use start::Starter;
pub use task::{Task, TaskStatus};
pub use token::{CallbackKey, CallbackKeys, TaskRef, Verified};
pub use watchdog::Watchdog;

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

//! What the domain knows of moderation providers, in neutral terms: a name,
//! the answers of a control API, and callbacks read into readings. The
//! traits are ports ([`crate::ports::ProviderControl`],
//! [`crate::ports::CallbackReader`]); which providers exist is the
//! registry's business, and nothing here names one.

use serde::Serialize;
use std::time::Duration;
use streamguard_wire::Problems;
use streamguard_wire::event::{SegmentEvent, StreamEndEvent};

/// A provider's name, as tasks, tokens and events carry it. Which names
/// exist is the registry's list (`crate::providers::REGISTERED`), handed to
/// whatever must read a name; [`ProviderId::find`] is the one place a name
/// is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(&'static str);

impl ProviderId {
    /// For the provider modules: declares a provider's name.
    pub(crate) const fn declare(name: &'static str) -> Self {
        ProviderId(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The provider of this name among `known`; an unknown name is an error, never a default.
    pub fn find(name: &str, known: &[ProviderId]) -> Result<ProviderId, UnknownProvider> {
        known
            .iter()
            .copied()
            .find(|id| id.as_str() == name)
            .ok_or_else(|| UnknownProvider {
                name: name.to_owned(),
                known: known.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", "),
            })
    }
}

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for ProviderId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// A name that is not a provider the bundle knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a provider streamguard knows (known: {known})")]
pub struct UnknownProvider {
    pub name: String,
    pub known: String,
}

/// Audio or video: which of a provider's stop calls a foreign task needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Audio,
    Video,
}

/// A task at a provider, as its stop call needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderTask {
    /// The provider's id of the task.
    pub id: String,
    pub media: Media,
}

/// How a provider refused, which decides what the caller and the domain do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefusalClass {
    /// The request breaks the provider's rules: the caller must change it.
    InvalidRequest,
    /// Too many requests or streams: retry after a while.
    RateLimited,
    /// The provider failed: retry later.
    ProviderFailing,
    /// The deployment's credentials or account are wrong: an operator must act.
    Configuration,
}

/// A provider's refusal: its own code, how the domain and the caller should
/// take it, and what the caller is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub provider: ProviderId,
    /// The provider's own code.
    pub code: i64,
    /// The API's stable name for this refusal (`error.code`).
    pub label: &'static str,
    /// What the caller is told (the provider's words, and what to check).
    pub message: String,
    pub class: RefusalClass,
    /// When the provider says how long to wait.
    pub retry_after: Option<Duration>,
    /// Whether the provider advises making the same call again (a stop is retried).
    pub transient: bool,
}

/// What a provider answered to a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// A new task: the provider's id of it.
    Accepted {
        provider_task_id: String,
    },
    /// The stream was already in moderation: the running task's id.
    Duplicate {
        running_task_id: String,
    },
    Refused(Refusal),
}

/// What a provider answered to a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Stopped,
    Refused(Refusal),
}

/// Why a start cannot be submitted, found before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartProblem {
    /// The caller's body breaks these rules.
    Invalid(Problems),
    /// What the deployment adds (credentials, the callback URL) is wrong.
    Configuration(String),
}

/// A callback, read into what the domain acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Segment(Box<SegmentReading>),
    StreamEnd(EndReading),
    /// A callback without a result (an error code, a status that is not the end).
    NoResult {
        detail: String,
    },
}

/// One moderated segment. Its `segment.segment_id` must begin with
/// `<provider_task_id>_` (both providers name segments so), which lets a
/// task's published segments be counted by prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentReading {
    /// The provider's id of the task the segment belongs to.
    pub provider_task_id: String,
    /// The segment as published (its `segment_id` is the deduplication key).
    pub segment: SegmentEvent,
    /// The start's `passThrough`, as echoed.
    pub pass_through: Option<serde_json::Value>,
    /// The btId the provider echoed, if it does.
    pub echoed_bt_id: Option<String>,
    /// Paths of descriptive fields that had an unexpected type and were left out.
    pub unread_fields: Vec<String>,
}

/// The end of a provider task.
#[derive(Debug, Clone, PartialEq)]
pub struct EndReading {
    pub provider_task_id: String,
    pub end: StreamEndEvent,
    pub pass_through: Option<serde_json::Value>,
    pub echoed_bt_id: Option<String>,
    /// Paths of descriptive fields that had an unexpected type and were left out.
    pub unread_fields: Vec<String>,
}

/// Why a callback body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The provider's own signature over the callback is missing, wrong or stale.
    #[error("the callback's signature does not hold: {0}")]
    Unauthenticated(String),
    #[error("the body is not a callback: {0}")]
    Malformed(String),
}

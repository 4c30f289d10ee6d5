//! The event streamguard puts on its queue: one per published segment (by
//! default every REJECT) and one per stream end.
//!
//! This is a public contract for queue consumers, described by
//! `schema/queue-event.v1.schema.json` in the repository. Fields are only
//! ever added within a `schemaVersion`; a change that could break a consumer
//! raises it. The event never carries the provider accessKey, the Zego
//! secrets, or any RTC token: it is built field by field from the callback,
//! never by copying the echoed request.

/// The disposition vocabulary and label shape every provider's segments are read into.
pub use crate::verdict::{RiskLabel, RiskLevel};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// One queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct QueueEvent {
    /// [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// Stable per segment or stream end: the same provider delivery retried
    /// yields the same id, so consumers can be idempotent on it.
    pub event_id: String,
    /// The provider's name (`deepcleer`, `zego`): a string, so that a
    /// consumer keeps working when a provider is added.
    #[cfg_attr(test, proptest(strategy = "\"[a-z]{3,12}\""))]
    pub provider: String,
    /// The backend's stream id; `null` only when the task is unknown and the
    /// provider does not echo it (Zego).
    pub bt_id: Option<String>,
    /// The task's id at the provider (DeepCleer requestId, Zego TaskId).
    pub request_id: String,
    /// `false` when no task was found for the callback: published anyway,
    /// because a violation is never dropped.
    pub task_known: bool,
    /// When streamguard received the callback (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::utc_time()"))]
    pub received_at: OffsetDateTime,
    /// The request's `passThrough`, as echoed by the provider.
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub pass_through: Option<Value>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened; `kind` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventBody {
    /// A segment whose risk level is published (by default REJECT).
    Segment(Box<SegmentEvent>),
    /// The stream ended.
    StreamEnd(StreamEndEvent),
}

/// A moderated segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct SegmentEvent {
    /// The provider's segment id (`<requestId>_<n>`, Zego `ResultTaskId`).
    pub segment_id: String,
    /// `n`, when the id carries it.
    pub segment_index: Option<u64>,
    /// The disposition; act on this, not on the labels.
    pub risk_level: RiskLevel,
    pub risk_label1: Option<String>,
    pub risk_label2: Option<String>,
    pub risk_label3: Option<String>,
    /// For people, not for code.
    pub risk_description: Option<String>,
    /// Every label detected in the segment.
    pub all_labels: Vec<RiskLabel>,
    pub audio_text: Option<String>,
    pub audio_url: Option<String>,
    pub pre_audio_url: Option<String>,
    /// Start of the content in the stream, as the provider sent it.
    pub audio_start_time: Option<String>,
    pub audio_end_time: Option<String>,
    /// Unix milliseconds.
    pub process_begin_time: Option<i64>,
    /// Unix milliseconds.
    pub process_finish_time: Option<i64>,
    /// In-room speaker, for separated streams.
    pub speaker_id: Option<String>,
    pub room: Option<String>,
}

/// The end of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct StreamEndEvent {
    /// The provider's code (DeepCleer 3001–3005), when it sent one.
    pub end_code: Option<i64>,
    /// `FINISHED` without a code; otherwise the code's name, e.g.
    /// `TOKEN_INVALID_OR_EXPIRED` (refresh the RTC token and start again).
    pub end_reason: String,
    /// Stream duration as reported (DeepCleer: `streamTime`; Zego: seconds).
    pub stream_time: Option<i64>,
}

impl QueueEvent {
    /// The SQS FIFO message group: the stream (`btId`), else the task id.
    pub fn group_key(&self) -> &str {
        self.bt_id.as_deref().unwrap_or(&self.request_id)
    }
}

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
    /// The callback came from a provider task that is not its task's current
    /// one (a stray, e.g. a start whose answer was lost and was made again):
    /// published anyway, it changes no task, and streamguard stops that
    /// provider task.
    #[serde(default)]
    pub stray_provider_task: bool,
    /// What the provider sent that could not be read (a field of an
    /// unexpected type): left out of the event and named here, by its path in
    /// the provider's message.
    #[serde(default)]
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(\"[a-zA-Z.]{1,20}\", 0..3)"))]
    pub unread_fields: Vec<String>,
    /// Fields shortened (texts) or left out (an oversized passThrough, labels
    /// beyond the limit) so that the event stays under the queue's 256 KiB.
    #[serde(default)]
    #[cfg_attr(test, proptest(strategy = "proptest::collection::vec(\"[a-zA-Z.]{1,20}\", 0..3)"))]
    pub truncated_fields: Vec<String>,
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened; `kind` on the wire. New kinds may be added within a schema
/// version: a consumer reads one it does not know as [`EventBody::Other`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventBody {
    /// A segment whose risk level is published (by default REJECT).
    Segment(Box<SegmentEvent>),
    /// The stream ended.
    StreamEnd(StreamEndEvent),
    /// A stream that calls back for every segment has been silent for a while.
    StreamStale(StreamStaleEvent),
    /// streamguard closed the stream itself (it had run too long).
    StreamClosed(StreamClosedEvent),
    /// A kind this version of the crate does not know.
    #[serde(other)]
    #[cfg_attr(test, proptest(skip))]
    Other,
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
    /// `false` when the provider sent a level this version does not know: it
    /// is published as given (never taken for PASS); decide what it means.
    #[serde(default = "recognised")]
    pub risk_level_recognised: bool,
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

impl EventBody {
    /// The `kind` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Segment(_) => "segment",
            EventBody::StreamEnd(_) => "streamEnd",
            EventBody::StreamStale(_) => "streamStale",
            EventBody::StreamClosed(_) => "streamClosed",
            EventBody::Other => "other",
        }
    }
}

fn recognised() -> bool {
    true
}

/// A stream that calls back for every segment (`returnAllText` 1) has sent
/// nothing for a while: the provider may have lost it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct StreamStaleEvent {
    /// The last sign of the stream (a callback recorded, or the start).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::utc_time()"))]
    pub last_activity_at: OffsetDateTime,
    /// Seconds since then.
    pub silent_secs: u64,
    /// The highest segment number seen.
    pub segments_seen: u64,
}

/// streamguard closed the stream at the provider without being asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct StreamClosedEvent {
    /// Why: `MAX_DURATION` (open longer than the deployment allows).
    pub close_reason: String,
    /// Seconds the task had been open.
    pub open_secs: u64,
}

impl QueueEvent {
    /// The SQS FIFO message group: the stream (`btId`), else the task id.
    pub fn group_key(&self) -> &str {
        self.bt_id.as_deref().unwrap_or(&self.request_id)
    }
}

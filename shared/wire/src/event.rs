//! The event streamguard puts on its queue: one per published segment (by
//! default every REJECT) and one per stream end.
//!
//! This is a public contract for queue consumers, described by
//! `schema/queue-event.v1.schema.json` in the repository. Fields are only
//! ever added within a `schemaVersion`; a change that could break a consumer
//! raises it. The event never carries the provider accessKey, the Zego
//! secrets, or any RTC token: it is built field by field from the callback,
//! never by copying the echoed request.

use crate::deepcleer::{AudioDetail, Callback, RiskLabel, RiskLevel, SegmentId, StreamEndCode, StreamEndInfo};
use crate::zego::{ZegoResultCallback, ZegoResultDetail, ZegoStatusCallback};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Which provider sent the callback behind the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Deepcleer,
    Zego,
}

impl Provider {
    /// The lowercase name used in events, ids and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Deepcleer => "deepcleer",
            Provider::Zego => "zego",
        }
    }
}

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
    pub provider: Provider,
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

/// What the callback handler knows about the task when it builds an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskContext {
    /// The backend's id from the task record (wins over an echoed one).
    pub bt_id: Option<String>,
    /// Whether a task record was found.
    pub task_known: bool,
}

impl QueueEvent {
    /// The SQS FIFO message group: the stream (`btId`), else the task id.
    pub fn group_key(&self) -> &str {
        self.bt_id.as_deref().unwrap_or(&self.request_id)
    }

    /// Builds the event for a DeepCleer segment.
    pub fn deepcleer_segment(
        callback: &Callback,
        detail: &AudioDetail,
        task: &TaskContext,
        received_at: OffsetDateTime,
    ) -> Self {
        let segment = callback.segment_id();
        let aux = detail.aux_info.as_ref();
        QueueEvent {
            schema_version: SCHEMA_VERSION,
            event_id: format!("deepcleer:{}", segment.full),
            provider: Provider::Deepcleer,
            bt_id: task.bt_id.clone().or_else(|| callback.bt_id.clone()),
            request_id: segment.task_request_id.to_owned(),
            task_known: task.task_known,
            received_at,
            pass_through: callback.pass_through().cloned(),
            body: EventBody::Segment(Box::new(SegmentEvent {
                segment_id: segment.full.to_owned(),
                segment_index: segment.index,
                risk_level: detail.risk_level.clone(),
                risk_label1: detail.risk_label1.clone(),
                risk_label2: detail.risk_label2.clone(),
                risk_label3: detail.risk_label3.clone(),
                risk_description: detail.risk_description.clone(),
                all_labels: detail.all_labels.clone().unwrap_or_default(),
                audio_text: detail.audio_text.clone(),
                audio_url: detail.audio_url.clone(),
                pre_audio_url: detail.pre_audio_url.clone(),
                audio_start_time: aux.and_then(|aux| aux.audio_start_time.clone()),
                audio_end_time: aux.and_then(|aux| aux.audio_end_time.clone()),
                process_begin_time: aux.and_then(|aux| aux.begin_process_time),
                process_finish_time: aux.and_then(|aux| aux.finish_process_time),
                speaker_id: aux
                    .and_then(|aux| aux.str_user_id.clone().or_else(|| aux.user_id.map(|id| id.to_string()))),
                room: aux.and_then(|aux| aux.room.clone()),
            })),
        }
    }

    /// Builds the event for a DeepCleer stream end.
    pub fn deepcleer_stream_end(
        callback: &Callback,
        info: Option<&StreamEndInfo>,
        task: &TaskContext,
        received_at: OffsetDateTime,
    ) -> Self {
        let task_request_id = SegmentId::parse(&callback.request_id).task_request_id.to_owned();
        let code = info.and_then(|info| info.error_code);
        QueueEvent {
            schema_version: SCHEMA_VERSION,
            event_id: format!("deepcleer:{task_request_id}:end"),
            provider: Provider::Deepcleer,
            bt_id: task.bt_id.clone().or_else(|| callback.bt_id.clone()),
            request_id: task_request_id,
            task_known: task.task_known,
            received_at,
            pass_through: callback.pass_through().cloned(),
            body: EventBody::StreamEnd(StreamEndEvent {
                end_code: code.map(StreamEndCode::code),
                end_reason: end_reason(code).to_owned(),
                stream_time: info.and_then(|info| info.stream_time),
            }),
        }
    }

    /// Builds the event for a Zego segment result.
    pub fn zego_segment(
        callback: &ZegoResultCallback,
        detail: &ZegoResultDetail,
        task: &TaskContext,
        received_at: OffsetDateTime,
    ) -> Self {
        let segment = SegmentId::parse(&callback.result_task_id);
        let task_id = callback
            .task_id
            .clone()
            .unwrap_or_else(|| segment.task_request_id.to_owned());
        let aux = callback.aux_info.as_ref();
        let all_labels = [&detail.risk_label1, &detail.risk_label2, &detail.risk_label3]
            .iter()
            .any(|label| label.is_some())
            .then(|| RiskLabel {
                risk_label1: detail.risk_label1.clone(),
                risk_label2: detail.risk_label2.clone(),
                risk_label3: detail.risk_label3.clone(),
                risk_description: detail.risk_description.clone(),
            });
        QueueEvent {
            schema_version: SCHEMA_VERSION,
            event_id: format!("zego:{}", segment.full),
            provider: Provider::Zego,
            bt_id: task.bt_id.clone(),
            request_id: task_id,
            task_known: task.task_known,
            received_at,
            pass_through: None,
            body: EventBody::Segment(Box::new(SegmentEvent {
                segment_id: segment.full.to_owned(),
                segment_index: segment.index,
                risk_level: detail.risk_level.clone(),
                risk_label1: detail.risk_label1.clone(),
                risk_label2: detail.risk_label2.clone(),
                risk_label3: detail.risk_label3.clone(),
                risk_description: detail.risk_description.clone(),
                all_labels: all_labels.into_iter().collect(),
                audio_text: detail.audio_text.clone(),
                audio_url: detail.audio_url.clone(),
                pre_audio_url: detail.pre_audio_url.clone(),
                audio_start_time: None,
                audio_end_time: None,
                process_begin_time: aux.and_then(|aux| aux.process_begin_time),
                process_finish_time: aux.and_then(|aux| aux.process_finish_time),
                speaker_id: None,
                room: aux.and_then(|aux| aux.room_id.clone()),
            })),
        }
    }

    /// Builds the event for a Zego task status of "finished"; a non-zero `Code`
    /// is kept as the end code (named when it is one of DeepCleer's 3001–3005).
    pub fn zego_stream_end(callback: &ZegoStatusCallback, task: &TaskContext, received_at: OffsetDateTime) -> Self {
        let code = callback.code.filter(|code| *code != 0);
        QueueEvent {
            schema_version: SCHEMA_VERSION,
            event_id: format!("zego:{}:end", callback.task_id),
            provider: Provider::Zego,
            bt_id: task.bt_id.clone(),
            request_id: callback.task_id.clone(),
            task_known: task.task_known,
            received_at,
            pass_through: None,
            body: EventBody::StreamEnd(StreamEndEvent {
                end_code: code,
                end_reason: end_reason(code.map(StreamEndCode::from_code)).to_owned(),
                stream_time: callback.aux_info.as_ref().and_then(|aux| aux.censor_stream_time),
            }),
        }
    }
}

/// `FINISHED` when no code was sent, else the code's name.
pub fn end_reason(code: Option<StreamEndCode>) -> &'static str {
    code.map_or("FINISHED", StreamEndCode::name)
}

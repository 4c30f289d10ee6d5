//! The queue events the domain publishes, assembled from neutral readings,
//! and their ids: `<provider>:<segment id>` for a segment and
//! `<provider>:<provider task id>:end` for the end of a task. An id is
//! stable per provider delivery, so a retried callback yields the same id
//! and consumers can be idempotent on it.

use super::provider::{EndReading, ProviderId, SegmentReading};
use streamguard_wire::event::{EventBody, QueueEvent, SCHEMA_VERSION};
use time::OffsetDateTime;

/// What the callback handler knows about the task when it builds an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskContext {
    /// The backend's id from the task record (wins over an echoed one).
    pub bt_id: Option<String>,
    /// Whether a task record was found.
    pub task_known: bool,
}

/// The id of a segment's event.
pub fn segment_id(provider: ProviderId, segment_id: &str) -> String {
    format!("{provider}:{segment_id}")
}

/// The id of a task end's event.
pub fn end_id(provider: ProviderId, provider_task_id: &str) -> String {
    format!("{provider}:{provider_task_id}:end")
}

/// The prefix every segment event id of a provider task shares: providers
/// name a segment `<task id>_<n>` ([`SegmentReading`] requires it).
pub fn segment_prefix(provider: ProviderId, provider_task_id: &str) -> String {
    format!("{provider}:{provider_task_id}_")
}

/// The event for a published segment.
pub fn segment_event(
    provider: ProviderId,
    reading: &SegmentReading,
    task: &TaskContext,
    received_at: OffsetDateTime,
) -> QueueEvent {
    QueueEvent {
        schema_version: SCHEMA_VERSION,
        event_id: segment_id(provider, &reading.segment.segment_id),
        provider: provider.as_str().to_owned(),
        bt_id: task.bt_id.clone().or_else(|| reading.echoed_bt_id.clone()),
        request_id: reading.provider_task_id.clone(),
        task_known: task.task_known,
        received_at,
        pass_through: reading.pass_through.clone(),
        body: EventBody::Segment(Box::new(reading.segment.clone())),
    }
}

/// The event for the end of a provider task.
pub fn end_event(
    provider: ProviderId,
    reading: &EndReading,
    task: &TaskContext,
    received_at: OffsetDateTime,
) -> QueueEvent {
    QueueEvent {
        schema_version: SCHEMA_VERSION,
        event_id: end_id(provider, &reading.provider_task_id),
        provider: provider.as_str().to_owned(),
        bt_id: task.bt_id.clone().or_else(|| reading.echoed_bt_id.clone()),
        request_id: reading.provider_task_id.clone(),
        task_known: task.task_known,
        received_at,
        pass_through: reading.pass_through.clone(),
        body: EventBody::StreamEnd(reading.end.clone()),
    }
}

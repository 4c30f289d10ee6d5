//! The small traits the domain needs from the outside world. Adapters:
//! DynamoDB, SQS and the provider's HTTP API in production and end-to-end
//! tests; in-memory fakes in unit tests (`adapters::memory`).

use crate::domain::task::{Published, StreamEnd, Task};
use std::future::Future;
use time::OffsetDateTime;
use wire::deepcleer::{CloseResponse, MediaKind, StartRequest, SyncResponse};
use wire::event::QueueEvent;
use wire::zego::{StartCensorAudio, ZegoResponse};

/// The table could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("task storage failed: {0}")]
pub struct StoreError(pub String);

/// The queue did not take the event.
#[derive(Debug, Clone, thiserror::Error)]
#[error("queue send failed: {0}")]
pub struct QueueError(pub String);

/// The provider did not answer with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No answer within the timeout: the request may or may not have been acted on.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The connection failed before the request was sent.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not the provider's JSON.
    #[error("the provider's answer was not understood: {0}")]
    BadAnswer(String),
}

/// The result of claiming a btId for a new start.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The new task was written (STARTING).
    Created,
    /// A live task holds the btId (STARTING in progress, ACTIVE or CLOSING).
    Live(Task),
    /// A task was left STARTING by an attempt that failed or died.
    Stale(Task),
}

/// Task records and published-event records.
pub trait TaskStore: Send + Sync {
    /// Writes `task` unless the btId has a task that is not over.
    fn claim(&self, task: &Task) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Takes over a stale STARTING task (same taskId); `None` if it changed meanwhile.
    fn take_over(
        &self,
        stale: &Task,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// STARTING → ACTIVE with the provider's requestId; `None` if the task is no longer this STARTING one.
    fn activate(
        &self,
        task: &Task,
        request_id: &str,
        adopted_duplicate: bool,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// STARTING → FAILED: the provider refused; the btId is free again.
    fn fail(
        &self,
        task: &Task,
        reason: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Leaves the task STARTING but expired, so the next start takes it over at once.
    fn release(&self, task: &Task, now: OffsetDateTime) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The current task of a btId.
    fn get(&self, bt_id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// The task with this provider requestId.
    fn find_by_request_id(&self, request_id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// ACTIVE or CLOSING → CLOSING; `None` if the task is in another state or was replaced.
    fn mark_closing(
        &self,
        task: &Task,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// → ENDED with the reason; `false` if the btId's current task is another one.
    fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Raises `segments_seen` to `segment` (never lowers it).
    fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether an event with this id was already published.
    fn is_published(&self, bt_id: &str, event_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Remembers a published event (conditional: an existing record is left as is).
    fn record_published(&self, record: &Published) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// How many segment events of this risk level were published for a task.
    fn count_published(
        &self,
        bt_id: &str,
        event_prefix: &str,
        risk_level: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Where events go.
pub trait EventQueue: Send + Sync {
    /// Sends durably (FIFO, deduplicated by event id within the queue's window).
    fn publish(&self, event: &QueueEvent) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The moderation provider's control API.
pub trait StreamProvider: Send + Sync {
    fn start(&self, request: &StartRequest) -> impl Future<Output = Result<SyncResponse, ProviderError>> + Send;
    fn close(
        &self,
        access_request_id: &str,
        media: MediaKind,
    ) -> impl Future<Output = Result<CloseResponse, ProviderError>> + Send;
    /// Zego `StartCensorAudioV2` (signed afresh per call).
    fn zego_start(&self, body: &StartCensorAudio) -> impl Future<Output = Result<ZegoResponse, ProviderError>> + Send;
    /// Zego `StopCensorAudioV2`.
    fn zego_stop(&self, task_id: &str) -> impl Future<Output = Result<ZegoResponse, ProviderError>> + Send;
}

/// Now. A port so that tests control time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

//! Provider callbacks. The token is verified before anything is read or
//! written. A published segment (REJECT by default) and every stream end
//! become one queue event each, however often the provider retries:
//!
//! 1. read the event's record (consistent): already published → done;
//! 2. send to the FIFO queue, deduplication id = event id;
//! 3. write the record (conditional put).
//!
//! A failure at 2 or 3 answers 5xx and leaves nothing that blocks the
//! retry. Only if 3 fails after 2 succeeded *and* the provider's retry
//! comes after SQS's 5-minute deduplication window can an event be sent
//! twice; its `eventId` is the same, so consumers can drop it. An event is
//! never dropped: a REJECT for a task missing from the table is published
//! with `taskKnown: false`.

use super::task::{Published, StreamEnd};
use super::{ApiError, Streamguard, TaskRef};
use crate::ports::{Clock, EventQueue, StreamProvider, TaskStore};
use wire::deepcleer::{Callback, CallbackKind};
use wire::event::{EventBody, Provider, QueueEvent, TaskContext, end_reason};

/// What a callback amounted to (for logs, metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new event went on the queue.
    Published,
    /// The event had been published before: nothing sent.
    Duplicate,
    /// A segment whose level is not published: counted only.
    Counted,
    /// A callback without a result (`code` not 1100): acknowledged, logged.
    Ignored,
}

impl<S: TaskStore, Q: EventQueue, P: StreamProvider, C: Clock> Streamguard<S, Q, P, C> {
    /// Verifies the token; the only work done before it passes is one HMAC.
    pub fn authenticate(&self, token: &str) -> Result<TaskRef, ApiError> {
        self.policy.callback_key.verify(token).map_err(|error| {
            tracing::warn!(%error, "callback refused");
            ApiError::Unauthorized
        })
    }

    /// `POST /callbacks/{token}`: the token names the provider that was given the URL.
    pub async fn callback(&self, task_ref: &TaskRef, body: &[u8]) -> Result<Outcome, ApiError> {
        match task_ref.provider {
            Provider::Deepcleer => self.deepcleer_callback(task_ref, body).await,
            Provider::Zego => self.zego_callback(task_ref, body).await,
        }
    }

    /// `POST /callbacks/{token}` for DeepCleer.
    pub async fn deepcleer_callback(&self, task_ref: &TaskRef, body: &[u8]) -> Result<Outcome, ApiError> {
        let callback: Callback =
            serde_json::from_slice(body).map_err(|error| ApiError::MalformedCallback(error.to_string()))?;
        let published = |level| self.policy.published_levels.contains(level);
        if let CallbackKind::Segment(detail) = callback.kind()
            && !published(&detail.risk_level)
        {
            // Counted only: no read, and a write at most once a minute.
            if let Some(index) = callback.segment_id().index {
                self.note_progress(task_ref, index).await;
            }
            return Ok(Outcome::Counted);
        }
        let task = self
            .store
            .get(&task_ref.bt_id)
            .await?
            .filter(|task| task.task_id == task_ref.task_id);
        let context = TaskContext {
            bt_id: Some(task_ref.bt_id.clone()),
            task_known: task.is_some(),
        };
        let now = self.clock.now();
        match callback.kind() {
            CallbackKind::Segment(detail) => {
                let event = QueueEvent::deepcleer_segment(&callback, detail, &context, now);
                let outcome = self.publish_once(&event).await?;
                if let (true, Some(index)) = (task.is_some(), callback.segment_id().index) {
                    self.note_progress(task_ref, index).await;
                }
                Ok(outcome)
            }
            CallbackKind::StreamEnd(info) => {
                let event = QueueEvent::deepcleer_stream_end(&callback, info, &context, now);
                let outcome = self.publish_once(&event).await?;
                if task.is_some() {
                    let code = info.and_then(|info| info.error_code);
                    let end = StreamEnd {
                        code: code.map(|code| code.code()),
                        reason: end_reason(code).to_owned(),
                        stream_time: info.and_then(|info| info.stream_time),
                    };
                    self.store
                        .mark_ended(&task_ref.bt_id, &task_ref.task_id, &end, now)
                        .await?;
                }
                Ok(outcome)
            }
            CallbackKind::Failed(code) => {
                tracing::warn!(bt_id = %task_ref.bt_id, request_id = %callback.request_id, code = ?code.map(|c| c.code()), "callback without a result");
                Ok(Outcome::Ignored)
            }
        }
    }

    /// Publishes `event` unless it was published before (see the module docs).
    pub async fn publish_once(&self, event: &QueueEvent) -> Result<Outcome, ApiError> {
        let bt_id = event.group_key().to_owned();
        if self.store.is_published(&bt_id, &event.event_id).await? {
            tracing::info!(event_id = %event.event_id, "duplicate delivery; already published");
            return Ok(Outcome::Duplicate);
        }
        self.queue.publish(event).await?;
        let (kind, risk_level) = match &event.body {
            EventBody::Segment(segment) => ("segment", Some(segment.risk_level.to_string())),
            EventBody::StreamEnd(_) => ("streamEnd", None),
        };
        let now = self.clock.now();
        let record = Published {
            bt_id,
            event_id: event.event_id.clone(),
            request_id: event.request_id.clone(),
            kind,
            risk_level,
            at: now,
            expires_at: now + self.policy.event_retention,
        };
        self.store.record_published(&record).await?;
        tracing::info!(event_id = %event.event_id, bt_id = ?event.bt_id, task_known = event.task_known, "event published");
        Ok(Outcome::Published)
    }

    /// Best effort: progress is a figure for people, not a correctness matter.
    /// The write is conditional (this task, a higher segment), so it needs no read.
    pub(super) async fn note_progress(&self, task: &TaskRef, index: u64) {
        let now = self.clock.now();
        if !self.progress.due(&task.task_id, now) {
            return;
        }
        if let Err(error) = self.store.record_progress(&task.bt_id, &task.task_id, index, now).await {
            self.progress.forget(&task.task_id);
            tracing::warn!(%error, bt_id = %task.bt_id, "progress not recorded");
        }
    }
}

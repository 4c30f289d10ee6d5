//! Provider callbacks. The token is verified before anything is read or
//! written; the provider's reader then checks the provider's own signature,
//! where it signs its callbacks, and reads the body into a neutral reading.
//! A published segment (REJECT by default) and every task end become one
//! queue event each, however often the provider retries:
//!
//! 1. read the event's record (consistent): already published → done;
//! 2. send to the FIFO queue, deduplication id = event id;
//! 3. write the record (conditional put).
//!
//! A failure at 2 or 3 answers 5xx and leaves nothing that blocks the
//! retry. Only if 3 fails after 2 succeeded *and* the provider's retry
//! comes after the queue's own deduplication window can an event be sent
//! twice; its `eventId` is the same, so consumers can drop it. An event is
//! never dropped: a REJECT for a task missing from the table is published
//! with `taskKnown: false`.

use super::error::Error;
use super::events::{self, TaskContext};
use super::policy::CallbackPolicy;
use super::progress::ProgressGate;
use super::provider::{ReadError, Reading};
use super::task::{Published, StreamEnd};
use super::token::{CallbackKey, TaskRef};
use crate::ports::{Clock, EventQueue, Readers, TaskStore};
use streamguard_wire::event::{EventBody, QueueEvent};

/// What a callback amounted to (for logs, metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new event went on the queue.
    Published,
    /// The event had been published before: nothing sent.
    Duplicate,
    /// A segment whose level is not published: counted only.
    Counted,
    /// A callback without a result: acknowledged, logged.
    Ignored,
}

/// The callback function's service: it may read and write tasks and events
/// and publish; it calls no provider.
pub struct CallbackHandler<S, Q, C> {
    pub store: S,
    pub queue: Q,
    pub clock: C,
    pub readers: Readers,
    pub key: CallbackKey,
    pub policy: CallbackPolicy,
    progress: ProgressGate,
}

impl<S: TaskStore, Q: EventQueue, C: Clock> CallbackHandler<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, readers: Readers, key: CallbackKey, policy: CallbackPolicy) -> Self {
        let progress = ProgressGate::new(policy.progress_interval);
        CallbackHandler {
            store,
            queue,
            clock,
            readers,
            key,
            policy,
            progress,
        }
    }

    /// Verifies the token; the only work done before it passes is one HMAC.
    pub fn authenticate(&self, token: &str) -> Result<TaskRef, Error> {
        self.key.verify(token).map_err(|error| {
            tracing::warn!(%error, "callback refused");
            Error::Unauthorized
        })
    }

    /// `POST /callbacks/{token}`: the token names the provider that was given the URL.
    pub async fn handle(&self, task_ref: &TaskRef, body: &[u8]) -> Result<Outcome, Error> {
        let reader = self.readers.get(task_ref.provider).ok_or_else(|| {
            Error::Configuration(format!(
                "a {} callback arrived, but this deployment is not configured to read them",
                task_ref.provider
            ))
        })?;
        let now = self.clock.now();
        let reading = reader.read(body, now).map_err(|error| match error {
            ReadError::Unauthenticated(detail) => {
                tracing::warn!(bt_id = %task_ref.bt_id, provider = %task_ref.provider, detail, "callback signature refused");
                Error::Unauthorized
            }
            ReadError::Malformed(detail) => Error::MalformedCallback(detail),
        })?;
        match reading {
            Reading::Segment(segment) => {
                let index = segment.segment.segment_index;
                if !self.policy.published_levels.contains(&segment.segment.risk_level) {
                    // Counted only: no read, and a write at most once a minute.
                    if let Some(index) = index {
                        self.note_progress(task_ref, index).await;
                    }
                    return Ok(Outcome::Counted);
                }
                let context = self.context(task_ref).await?;
                let event = events::segment_event(task_ref.provider, &segment, &context, now);
                let outcome = self.publish_once(&event).await?;
                if let (true, Some(index)) = (context.task_known, index) {
                    self.note_progress(task_ref, index).await;
                }
                Ok(outcome)
            }
            Reading::StreamEnd(end) => {
                let context = self.context(task_ref).await?;
                let event = events::end_event(task_ref.provider, &end, &context, now);
                let outcome = self.publish_once(&event).await?;
                if context.task_known {
                    let stream_end = StreamEnd {
                        code: end.end.end_code,
                        reason: end.end.end_reason.clone(),
                        stream_time: end.end.stream_time,
                    };
                    self.store
                        .mark_ended(&task_ref.bt_id, &task_ref.task_id, &stream_end, now)
                        .await?;
                }
                Ok(outcome)
            }
            Reading::NoResult { detail } => {
                tracing::warn!(bt_id = %task_ref.bt_id, provider = %task_ref.provider, detail, "callback without a result");
                Ok(Outcome::Ignored)
            }
        }
    }

    /// Whether the token's task is the btId's current one.
    async fn context(&self, task_ref: &TaskRef) -> Result<TaskContext, Error> {
        let task = self
            .store
            .get(&task_ref.bt_id)
            .await?
            .filter(|task| task.task_id == task_ref.task_id);
        Ok(TaskContext {
            bt_id: Some(task_ref.bt_id.clone()),
            task_known: task.is_some(),
        })
    }

    /// Publishes `event` unless it was published before (see the module docs).
    pub async fn publish_once(&self, event: &QueueEvent) -> Result<Outcome, Error> {
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
    async fn note_progress(&self, task: &TaskRef, index: u64) {
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

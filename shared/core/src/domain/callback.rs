//! Provider callbacks. The token is verified before anything is read or
//! written; the provider's reader then checks the provider's own signature,
//! where it signs its callbacks, and reads the body into a neutral reading:
//! strictly what identifies the segment, tolerantly everything descriptive.
//!
//! A callback is matched to its task by the task id its token carries,
//! whatever task is current for the btId now. Then:
//!
//! - a segment of a published level (REJECT by default), or of a level no
//!   provider documents (never taken for PASS), becomes one queue event
//!   ([`super::publish`]), however often the provider retries;
//! - any other segment is counted, with at most one write per task and
//!   provider task a minute, and no read;
//! - a task's end is published and recorded on that task;
//! - a callback from a provider task that is not the task's current one (a
//!   stray) is published, flagged, changes no task, and is remembered so
//!   that the watchdog stops that provider task.
//!
//! An event is never dropped: a REJECT for a task missing from the table is
//! published with `taskKnown: false`. Such a task's claim was undone or its
//! record expired, so no task will ever close that provider task: it is
//! remembered as a stray too (the watchdog leaves it to a live task that
//! adopted it).

use super::error::Error;
use super::events::{self, TaskContext};
use super::policy::CallbackPolicy;
use super::progress::ProgressGate;
use super::provider::{ReadError, Reading};
use super::publish::{self, Publication};
use super::task::{Stray, StreamEnd, Task};
use super::token::{CallbackKeys, TaskRef, Verified};
use crate::ports::{CallbackReader, Clock, EventQueue, Progress, Readers, StoreError, TaskStore};

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
    pub keys: CallbackKeys,
    pub policy: CallbackPolicy,
    progress: ProgressGate,
}

impl<S: TaskStore, Q: EventQueue, C: Clock> CallbackHandler<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, readers: Readers, keys: CallbackKeys, policy: CallbackPolicy) -> Self {
        let progress = ProgressGate::new(policy.progress_interval);
        CallbackHandler {
            store,
            queue,
            clock,
            readers,
            keys,
            policy,
            progress,
        }
    }

    /// Verifies the token; the only work done before it passes is one HMAC.
    pub fn authenticate(&self, token: &str) -> Result<Verified, Error> {
        let verified = self.keys.verify(token, self.clock.now()).map_err(|error| {
            tracing::warn!(%error, "callback refused");
            Error::Unauthorized
        })?;
        if verified.by_previous_key {
            tracing::info!(bt_id = %verified.task.bt_id, "a callback token of the previous key");
        }
        Ok(verified)
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
                let level = &segment.segment.risk_level;
                let index = segment.segment.segment_index;
                if level.is_known() && !self.policy.published_levels.contains(level) {
                    // Counted only: no read, and a write at most once a minute.
                    if let Some(index) = index {
                        self.note_progress(task_ref, &segment.provider_task_id, index).await;
                    }
                    return Ok(Outcome::Counted);
                }
                if !level.is_known() {
                    tracing::warn!(bt_id = %task_ref.bt_id, level = %level, "a risk level no provider documents: published");
                }
                let record = self.record(task_ref).await?;
                let (target, record) = self.resolve(task_ref, record, &segment.provider_task_id).await?;
                let context = context(task_ref, record.task(), &segment.provider_task_id);
                let event = events::segment_event(task_ref.provider, &segment, &context, now);
                let outcome = self.publish(&event, reader, body).await?;
                if context.stray || matches!(record, Record::Missing) {
                    self.remember_stray(task_ref, &segment.provider_task_id).await?;
                } else if let (true, Some(index)) = (context.task_known, index) {
                    self.note_progress(&target, &segment.provider_task_id, index).await;
                }
                Ok(outcome)
            }
            Reading::StreamEnd(end) => {
                let record = self.record(task_ref).await?;
                let (target, record) = self.resolve(task_ref, record, &end.provider_task_id).await?;
                let context = context(task_ref, record.task(), &end.provider_task_id);
                let event = events::end_event(task_ref.provider, &end, &context, now);
                let outcome = self.publish(&event, reader, body).await?;
                if context.task_known && !context.stray {
                    let stream_end = StreamEnd {
                        code: end.end.end_code,
                        reason: end.end.end_reason.clone(),
                        stream_time: end.end.stream_time,
                    };
                    let expires_at = now + self.policy.retention;
                    self.store
                        .mark_ended(&target.bt_id, &target.task_id, &stream_end, now, expires_at)
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

    /// The token's task, by its id. A record that cannot be read is treated
    /// as unknown (the event is published anyway) rather than refused.
    async fn record(&self, task_ref: &TaskRef) -> Result<Record, Error> {
        match self.store.task(&task_ref.bt_id, &task_ref.task_id).await {
            Ok(Some(task)) => Ok(Record::Known(Box::new(task))),
            Ok(None) => Ok(Record::Missing),
            Err(StoreError::Unreadable(detail)) => {
                tracing::error!(bt_id = %task_ref.bt_id, task_id = %task_ref.task_id, detail, "task record unreadable; publishing as unknown");
                Ok(Record::Unreadable)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Publishes `event` with what the provider sent for it (`body`, read
    /// through the provider's `reader`, secrets stripped).
    async fn publish(
        &self,
        event: &streamguard_wire::event::QueueEvent,
        reader: &dyn CallbackReader,
        body: &[u8],
    ) -> Result<Outcome, Error> {
        let provider_result = reader.evidence(body);
        let publication = publish::publish_once(
            &self.store,
            &self.queue,
            &self.clock,
            event,
            provider_result.as_ref(),
            self.policy.retention,
        )
        .await?;
        Ok(match publication {
            Publication::Published => Outcome::Published,
            Publication::Duplicate => Outcome::Duplicate,
        })
    }

    /// The task a callback from `provider_task_id` belongs to: the token's
    /// task; or, when that is not the token's task's current provider task,
    /// the btId's task that owns it since (a later start adopted it, so its
    /// callbacks still come to the URL it was started with).
    async fn resolve(
        &self,
        task_ref: &TaskRef,
        record: Record,
        provider_task_id: &str,
    ) -> Result<(TaskRef, Record), Error> {
        let candidate = match &record {
            Record::Known(task) => task.is_stray(provider_task_id),
            Record::Missing => true,
            Record::Unreadable => false,
        };
        if !candidate {
            return Ok((task_ref.clone(), record));
        }
        let owner = self
            .store
            .provider_task_owner(task_ref.provider, provider_task_id)
            .await?
            .filter(|owner| owner.bt_id == task_ref.bt_id && owner.task_id != task_ref.task_id);
        let Some(owner) = owner else {
            return Ok((task_ref.clone(), record));
        };
        let owner_ref = TaskRef {
            provider: task_ref.provider,
            bt_id: owner.bt_id,
            task_id: owner.task_id,
        };
        match self.record(&owner_ref).await? {
            Record::Known(task) if !task.is_stray(provider_task_id) => Ok((owner_ref, Record::Known(task))),
            _ => Ok((task_ref.clone(), record)),
        }
    }

    /// Remembers a stray provider task (once), for the watchdog to stop.
    async fn remember_stray(&self, task_ref: &TaskRef, provider_task_id: &str) -> Result<(), Error> {
        let stray = Stray {
            bt_id: task_ref.bt_id.clone(),
            task_id: task_ref.task_id.clone(),
            provider: task_ref.provider,
            provider_task_id: provider_task_id.to_owned(),
            recorded_at: self.clock.now(),
            stopped_at: None,
            stop_attempts: 0,
        };
        if self.store.record_stray(&stray).await? {
            tracing::warn!(bt_id = %task_ref.bt_id, task_id = %task_ref.task_id, provider_task_id, "a stray provider task calls back; it will be stopped");
        }
        Ok(())
    }

    /// Best effort: progress is a figure for people (and the watchdog's sign
    /// of life), not a correctness matter. The write is conditional (this
    /// task, its current provider task, a higher segment), so it needs no
    /// read; when it finds the provider task is not the current one, that
    /// stray is remembered.
    async fn note_progress(&self, task_ref: &TaskRef, provider_task_id: &str, index: u64) {
        let now = self.clock.now();
        let gate = format!("{}/{provider_task_id}", task_ref.task_id);
        if !self.progress.due(&gate, now) {
            return;
        }
        let outcome = self
            .store
            .record_progress(&task_ref.bt_id, &task_ref.task_id, provider_task_id, index, now)
            .await;
        let stray = match outcome {
            Ok(Progress::Stray) => self.progress_of_another(task_ref, provider_task_id, index, now).await,
            Ok(_) => Ok(()),
            Err(error) => Err(error.into()),
        };
        if let Err(error) = stray {
            self.progress.forget(&gate);
            tracing::warn!(%error, bt_id = %task_ref.bt_id, "progress not recorded");
        }
    }
}

impl<S: TaskStore, Q: EventQueue, C: Clock> CallbackHandler<S, Q, C> {
    /// Progress from a provider task that is not the token's task's current
    /// one: the owning task's (see [`Self::resolve`]), else a stray's.
    async fn progress_of_another(
        &self,
        task_ref: &TaskRef,
        provider_task_id: &str,
        index: u64,
        now: time::OffsetDateTime,
    ) -> Result<(), Error> {
        let record = self.record(task_ref).await?;
        match self.resolve(task_ref, record, provider_task_id).await? {
            (target, Record::Known(_)) if target != *task_ref => {
                self.store
                    .record_progress(&target.bt_id, &target.task_id, provider_task_id, index, now)
                    .await?;
                Ok(())
            }
            _ => self.remember_stray(task_ref, provider_task_id).await,
        }
    }
}

/// What the table holds for a callback token's task.
enum Record {
    Known(Box<Task>),
    /// No such task: its claim was undone, or its record expired.
    Missing,
    /// A record this version cannot read (it may be live): nothing is done
    /// to its provider task.
    Unreadable,
}

impl Record {
    fn task(&self) -> Option<&Task> {
        match self {
            Record::Known(task) => Some(task),
            Record::Missing | Record::Unreadable => None,
        }
    }
}

/// What the event says of its task: the token's btId, whether the task is
/// known, and whether the provider task is a stray.
fn context(task_ref: &TaskRef, task: Option<&Task>, provider_task_id: &str) -> TaskContext {
    TaskContext {
        bt_id: Some(task_ref.bt_id.clone()),
        task_known: task.is_some(),
        stray: task.is_some_and(|task| task.is_stray(provider_task_id)),
    }
}

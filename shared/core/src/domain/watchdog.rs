//! The watchdog: run every minute over the open tasks and strays, it gives
//! every state a way out that does not depend on a message that may never
//! come (`docs/lifecycle.md`):
//!
//! - STARTING past its lease by the grace period: FAILED (`START_ABANDONED`);
//!   a provider task it may have started then calls back as a stray, and is
//!   stopped.
//! - ACTIVE with a close requested (a stop that failed): the stop again;
//!   after the retry period, CLOSED anyway, so the btId is not held forever.
//! - ACTIVE open longer than the maximum: a `streamClosed` event, then closed
//!   (`MAX_DURATION`).
//! - ACTIVE calling back for every segment, silent past the threshold: one
//!   `streamStale` event per silence.
//! - CLOSED with no end within the grace period: a `streamEnd` event and
//!   ENDED (`END_NOT_RECEIVED`).
//! - A stray: stopped at its provider, once; given up after the retry period.
//!
//! Each finding is handled on its own: a failure is logged and counted, and
//! the next run tries again. Every event is published once (by id).

use super::close::{Closing, stop_with_retries, stopper};
use super::error::Error;
use super::events;
use super::policy::WatchdogPolicy;
use super::provider::{Media, ProviderTask};
use super::publish;
use super::task::{Open, Stray, StreamEnd, Task, TaskStatus, close_reason, end_reason};
use crate::ports::{Clock, EventQueue, OpenFilter, Stops, TaskStore};
use time::OffsetDateTime;

/// Open records read per page.
const PAGE: usize = 100;

/// What one run found and did (logged, and the function's answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Open tasks and strays looked at.
    pub open: usize,
    /// STARTING tasks given up (FAILED).
    pub abandoned: usize,
    /// `streamStale` events published.
    pub stale: usize,
    /// Tasks closed for running too long.
    pub max_duration: usize,
    /// Failed closes retried successfully.
    pub closes_retried: usize,
    /// Closes given up on (CLOSED with the stop unconfirmed).
    pub closes_given_up: usize,
    /// CLOSED tasks ended for want of their end.
    pub ended: usize,
    /// Strays stopped (or given up on).
    pub strays_stopped: usize,
    /// Findings that failed this run (retried on the next).
    pub failures: usize,
}

/// The watchdog function's service: it may read the open records, publish,
/// stop provider tasks and move tasks along; it starts nothing.
pub struct Watchdog<S, Q, C> {
    pub store: S,
    pub queue: Q,
    pub clock: C,
    pub providers: Stops,
    pub policy: WatchdogPolicy,
}

enum Done {
    Nothing,
    Abandoned,
    Stale,
    MaxDuration,
    CloseRetried,
    CloseGivenUp,
    Ended,
    StrayStopped,
}

impl<S: TaskStore, Q: EventQueue, C: Clock> Watchdog<S, Q, C> {
    /// One run over every open record.
    pub async fn run(&self) -> Result<Report, Error> {
        let mut report = Report::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.open(OpenFilter::All, cursor.as_deref(), PAGE).await?;
            for item in page.items {
                report.open += 1;
                match self.look_at(item).await {
                    Ok(Done::Nothing) => {}
                    Ok(Done::Abandoned) => report.abandoned += 1,
                    Ok(Done::Stale) => report.stale += 1,
                    Ok(Done::MaxDuration) => report.max_duration += 1,
                    Ok(Done::CloseRetried) => report.closes_retried += 1,
                    Ok(Done::CloseGivenUp) => report.closes_given_up += 1,
                    Ok(Done::Ended) => report.ended += 1,
                    Ok(Done::StrayStopped) => report.strays_stopped += 1,
                    Err(error) => {
                        report.failures += 1;
                        tracing::warn!(%error, "watchdog finding not handled; the next run retries it");
                    }
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        tracing::info!(?report, "watchdog run");
        Ok(report)
    }

    async fn look_at(&self, item: Open) -> Result<Done, Error> {
        let now = self.clock.now();
        match item {
            Open::Stray(stray) => self.stop_stray(stray, now).await,
            Open::Task(task) => match task.status {
                TaskStatus::Starting => self.abandon_if_left(*task, now).await,
                TaskStatus::Active => self.watch_active(*task, now).await,
                TaskStatus::Closed => self.end_if_overdue(*task, now).await,
                TaskStatus::Ended | TaskStatus::Failed => Ok(Done::Nothing),
            },
        }
    }

    fn closing(&self) -> Closing<'_, S, C> {
        Closing {
            store: &self.store,
            clock: &self.clock,
            retention: self.policy.retention,
        }
    }

    async fn publish(&self, event: &streamguard_wire::event::QueueEvent) -> Result<(), Error> {
        publish::publish_once(&self.store, &self.queue, &self.clock, event, self.policy.retention).await?;
        Ok(())
    }

    async fn abandon_if_left(&self, task: Task, now: OffsetDateTime) -> Result<Done, Error> {
        let left = task
            .starting_expires_at
            .is_some_and(|expiry| expiry + self.policy.grace <= now);
        if !left {
            return Ok(Done::Nothing);
        }
        let reason = "START_ABANDONED: no start retried it after its lease ended";
        let failed = self.store.fail(&task, reason, now, now + self.policy.retention).await?;
        Ok(if failed.is_some() {
            Done::Abandoned
        } else {
            Done::Nothing
        })
    }

    async fn watch_active(&self, task: Task, now: OffsetDateTime) -> Result<Done, Error> {
        if let Some(requested) = task.close_requested_at {
            let reason = task
                .close_reason
                .clone()
                .unwrap_or_else(|| close_reason::REQUESTED.to_owned());
            let provider = stopper(&self.providers, &task)?;
            return match self.closing().close(provider, task.clone(), &reason, 1).await {
                Ok(_) => Ok(Done::CloseRetried),
                Err(error) if requested + self.policy.close_retry_for <= now => {
                    tracing::error!(%error, bt_id = %task.bt_id, "the stop keeps failing; the task is let go unconfirmed");
                    self.closing().closed(task).await?;
                    Ok(Done::CloseGivenUp)
                }
                Err(error) => Err(error),
            };
        }
        if let Some(max) = self.policy.max_stream
            && task.created_at + max <= now
        {
            self.publish(&events::closed_event(&task, close_reason::MAX_DURATION, now))
                .await?;
            let provider = stopper(&self.providers, &task)?;
            self.closing()
                .close(provider, task, close_reason::MAX_DURATION, 1)
                .await?;
            return Ok(Done::MaxDuration);
        }
        let silence_began = task.last_activity();
        let silent = task.reports_every_segment && silence_began + self.policy.stale_after <= now;
        let not_yet_said = task.stale_notified_at.is_none_or(|said| said < silence_began);
        if silent && not_yet_said {
            self.publish(&events::stale_event(&task, now)).await?;
            self.store.note_stale(&task, now).await?;
            return Ok(Done::Stale);
        }
        Ok(Done::Nothing)
    }

    async fn end_if_overdue(&self, task: Task, now: OffsetDateTime) -> Result<Done, Error> {
        let closed_at = task.closed_at.unwrap_or(task.updated_at);
        let (reason, due) = if task.reports_stream_end {
            (end_reason::END_NOT_RECEIVED, closed_at + self.policy.grace <= now)
        } else {
            // Left CLOSED between two writes: no end was asked for.
            (end_reason::CLOSED, true)
        };
        if !due {
            return Ok(Done::Nothing);
        }
        if reason == end_reason::END_NOT_RECEIVED {
            self.publish(&events::end_not_received_event(&task, now)).await?;
        }
        let end = StreamEnd {
            code: None,
            reason: reason.to_owned(),
            stream_time: None,
        };
        let ended = self
            .store
            .mark_ended(&task.bt_id, &task.task_id, &end, now, now + self.policy.retention)
            .await?;
        Ok(if ended.is_some() { Done::Ended } else { Done::Nothing })
    }

    async fn stop_stray(&self, stray: Stray, now: OffsetDateTime) -> Result<Done, Error> {
        let Some(provider) = self.providers.get(stray.provider) else {
            return Err(Error::Configuration(format!(
                "a stray {} task calls back, but this deployment cannot stop {} tasks",
                stray.provider, stray.provider
            )));
        };
        let task = ProviderTask {
            id: stray.provider_task_id.clone(),
            media: Media::Audio,
        };
        let stopped = match stop_with_retries(provider, &task, 1).await {
            Ok(()) => true,
            // The provider knows no such task, or will not stop it: nothing more to do.
            Err(Error::Refused(refusal)) if !refusal.transient => {
                tracing::warn!(%refusal, provider_task_id = %stray.provider_task_id, "the stray's stop was refused; not retried");
                true
            }
            Err(error) if stray.recorded_at + self.policy.close_retry_for <= now => {
                tracing::error!(%error, provider_task_id = %stray.provider_task_id, "the stray's stop keeps failing; given up");
                true
            }
            Err(error) => {
                self.store.stray_stop_attempted(&stray, false, now).await?;
                return Err(error);
            }
        };
        self.store.stray_stop_attempted(&stray, stopped, now).await?;
        Ok(Done::StrayStopped)
    }
}

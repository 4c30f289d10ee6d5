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
//! - A stray: stopped at its provider, once; given up after the retry period
//!   (from its first failed stop). Not while a live task holds it as its
//!   provider task (a start answered as a duplicate adopted it): stopping it
//!   would end that task's moderation unseen.
//!
//! What the index showed is re-read before an event goes out on it (the real
//! end may have arrived, the backend may have closed the task), and the
//! writes are conditional on what was read.
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
        publish::publish_once(
            &self.store,
            &self.queue,
            &self.clock,
            event,
            None,
            self.policy.retention,
        )
        .await?;
        Ok(())
    }

    /// The task as it is now (read consistently): what a snapshot of the
    /// index showed may have changed since, and an event published on it
    /// could not be taken back.
    async fn fresh(&self, task: &Task) -> Result<Option<Task>, Error> {
        Ok(self.store.task(&task.bt_id, &task.task_id).await?)
    }

    async fn abandon_if_left(&self, task: Task, now: OffsetDateTime) -> Result<Done, Error> {
        // A STARTING task without a lease is left behind by definition.
        let cutoff = now - self.policy.grace;
        if task.starting_expires_at.is_some_and(|expiry| expiry > cutoff) {
            return Ok(Done::Nothing);
        }
        let reason = "START_ABANDONED: no start retried it after its lease ended";
        // Conditional on the lease still having ended by the cutoff: a
        // take-over that renewed it since the index was read wins.
        let failed = self
            .store
            .fail(&task, reason, Some(cutoff), now, now + self.policy.retention)
            .await?;
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
            let stopped = match stopper(&self.providers, &task) {
                Ok(provider) => self.closing().close(provider, task.clone(), &reason, 1).await,
                Err(error) => Err(error),
            };
            return match stopped {
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
            let Some(task) = self
                .fresh(&task)
                .await?
                .filter(|task| task.status == TaskStatus::Active)
            else {
                return Ok(Done::Nothing);
            };
            self.publish(&events::closed_event(&task, close_reason::MAX_DURATION, now))
                .await?;
            match stopper(&self.providers, &task) {
                Ok(provider) => {
                    self.closing()
                        .close(provider, task, close_reason::MAX_DURATION, 1)
                        .await?;
                }
                Err(error) => {
                    // Recorded as a close that failed: retried, and let go in time.
                    self.store.request_close(&task, close_reason::MAX_DURATION, now).await?;
                    return Err(error);
                }
            }
            return Ok(Done::MaxDuration);
        }
        if self.silent_unsaid(&task, now) {
            let Some(task) = self.fresh(&task).await?.filter(|task| self.silent_unsaid(task, now)) else {
                return Ok(Done::Nothing);
            };
            self.publish(&events::stale_event(&task, now)).await?;
            self.store.note_stale(&task, now).await?;
            return Ok(Done::Stale);
        }
        Ok(Done::Nothing)
    }

    /// ACTIVE, reporting every segment, silent past the threshold, and not
    /// yet said so for this silence.
    fn silent_unsaid(&self, task: &Task, now: OffsetDateTime) -> bool {
        let silence_began = task.last_activity();
        task.status == TaskStatus::Active
            && task.reports_every_segment
            && silence_began + self.policy.stale_after <= now
            && task.stale_notified_at.is_none_or(|said| said < silence_began)
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
            // The real end may have been recorded since the index was read.
            if !self
                .fresh(&task)
                .await?
                .is_some_and(|task| task.status == TaskStatus::Closed)
            {
                return Ok(Done::Nothing);
            }
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

    /// Whether a live task has the provider task as its own (it adopted it
    /// since it was seen as a stray): then it is not a stray to stop.
    async fn live_task_holds(&self, stray: &Stray) -> Result<bool, Error> {
        let holds = |task: &Task| {
            matches!(task.status, TaskStatus::Starting | TaskStatus::Active)
                && task.request_id.as_deref() == Some(stray.provider_task_id.as_str())
        };
        if let Some(owner) = self
            .store
            .provider_task_owner(stray.provider, &stray.provider_task_id)
            .await?
            && self
                .store
                .task(&owner.bt_id, &owner.task_id)
                .await?
                .is_some_and(|task| holds(&task))
        {
            return Ok(true);
        }
        // Tasks activated before ownership was recorded: the index of provider task ids.
        let holders = self.store.find_by_provider_task(&stray.provider_task_id).await?;
        Ok(holders
            .iter()
            .any(|task| task.provider == stray.provider && holds(task)))
    }

    async fn stop_stray(&self, stray: Stray, now: OffsetDateTime) -> Result<Done, Error> {
        if self.live_task_holds(&stray).await? {
            tracing::warn!(provider_task_id = %stray.provider_task_id, "a stray is a live task's provider task; not stopped");
            return Ok(Done::Nothing);
        }
        // Measured from the first failed attempt on: a run long overdue still tries once.
        let retried_long_enough = stray.stop_attempts > 0 && stray.recorded_at + self.policy.close_retry_for <= now;
        let expires_at = now + self.policy.retention;
        let stopped = match self.providers.get(stray.provider) {
            None => Err(Error::Configuration(format!(
                "a stray {} task calls back, but this deployment cannot stop {} tasks",
                stray.provider, stray.provider
            ))),
            Some(provider) => {
                let task = ProviderTask {
                    id: stray.provider_task_id.clone(),
                    media: Media::Audio,
                };
                stop_with_retries(provider, &task, 1).await
            }
        };
        match stopped {
            Ok(()) => {}
            // The provider knows no such task, or will not stop it: nothing more to do.
            Err(Error::Refused(refusal)) if !refusal.transient => {
                tracing::warn!(%refusal, provider_task_id = %stray.provider_task_id, "the stray's stop was refused; not retried");
            }
            Err(error) if retried_long_enough => {
                tracing::error!(%error, provider_task_id = %stray.provider_task_id, "the stray's stop keeps failing; given up");
            }
            Err(error) => {
                self.store.stray_stop_attempted(&stray, false, now, expires_at).await?;
                return Err(error);
            }
        }
        self.store.stray_stop_attempted(&stray, true, now, expires_at).await?;
        Ok(Done::StrayStopped)
    }
}

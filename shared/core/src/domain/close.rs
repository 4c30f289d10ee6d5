//! Close: by the backend's btId, or by a provider task id given directly
//! (a `dupRequestId`, tasks not started through the bundle, video tasks).
//!
//! Closing an ACTIVE task records the request first (so that the watchdog
//! retries a stop that fails), stops the provider task, and then makes the
//! task CLOSED, which frees the btId; a provider that refuses the stop
//! because it has no such task (it ended already) closes it too. A task that asked for no stream-end
//! callback goes on to ENDED (`CLOSED`) at once: no end will come.

use super::error::Error;
use super::policy::ClosePolicy;
use super::provider::{Media, ProviderTask, RefusalClass, Stop};
use super::task::{StreamEnd, Task, TaskStatus, close_reason, end_reason};
use super::view::TaskView;
use crate::ports::{Clock, ProviderError, ProviderStop, Stops, TaskStore};
use std::time::Duration;
use streamguard_wire::{Problem, Problems};

/// The outcome of a close.
#[derive(Debug)]
pub struct Closed {
    /// The task, when streamguard knows it.
    pub task: Option<TaskView>,
    /// The provider task that was stopped.
    pub request_id: Option<String>,
    /// `false` when nothing needed doing (the task was already closed or over).
    pub provider_called: bool,
}

/// The close function's service: it may stop tasks at their providers and
/// close them; it starts nothing and publishes nothing.
pub struct Closer<S, C> {
    pub store: S,
    pub clock: C,
    pub providers: Stops,
    pub policy: ClosePolicy,
}

impl<S: TaskStore, C: Clock> Closer<S, C> {
    /// `POST /streams/{btId}/close`.
    pub async fn close_stream(&self, bt_id: &str) -> Result<Closed, Error> {
        let task = self
            .store
            .current(bt_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no task for btId {bt_id}")))?;
        self.close_task(task).await
    }

    /// `POST /requests/{requestId}/close`: a task the table knows (of the
    /// named provider, when one is named) is closed as such; any other id is
    /// stopped at the named provider, else the deployment's, else one that
    /// stops tasks of that medium.
    pub async fn close_request(&self, request_id: &str, media: Media, named: Option<&str>) -> Result<Closed, Error> {
        let invalid = |problem| Error::Invalid(Problems(vec![problem]));
        let named = named
            .map(|_| self.providers.read(named, "provider"))
            .transpose()
            .map_err(invalid)?;
        if media == Media::Audio {
            let known = self.store.find_by_provider_task(request_id).await?;
            let ours = known
                .into_iter()
                .filter(|task| named.is_none_or(|provider| provider == task.provider))
                .max_by_key(|task| (task.status.holds_bt_id(), task.created_at));
            match ours {
                Some(task) if task.status == TaskStatus::Active => return self.close_task(task).await,
                // Closed, ended or failed as far as the table knows, but named
                // by its provider task id: stopped again, in case it still
                // runs (a close let go unconfirmed, a start left behind).
                Some(task) if task.status != TaskStatus::Starting => {
                    let provider = stopper(&self.providers, &task)?;
                    let at_provider = ProviderTask {
                        id: request_id.to_owned(),
                        media,
                    };
                    stop_idempotently(provider, &at_provider, self.policy.attempts).await?;
                    return Ok(Closed {
                        request_id: Some(request_id.to_owned()),
                        task: Some(task.into()),
                        provider_called: true,
                    });
                }
                Some(task) => return self.close_task(task).await,
                None => {}
            }
        }
        let provider = match named {
            Some(id) => self.providers.choose(Some(id.as_str()), "provider").map_err(invalid)?,
            None => self
                .providers
                .get(self.providers.default_id())
                .filter(|provider| provider.stops(media))
                .or_else(|| self.providers.iter().find(|provider| provider.stops(media)))
                .ok_or_else(|| Error::Configuration(format!("no configured provider stops {media:?} tasks")))?,
        };
        if !provider.stops(media) {
            return Err(invalid(Problem {
                field: "media".into(),
                rule: format!("{} has no {media:?} tasks to stop", provider.id()),
            }));
        }
        let task = ProviderTask {
            id: request_id.to_owned(),
            media,
        };
        // An id neither the table nor the provider knows is the caller's
        // mistake: the provider's refusal is the answer.
        stop_with_retries(provider, &task, self.policy.attempts).await?;
        Ok(Closed {
            task: None,
            request_id: Some(request_id.to_owned()),
            provider_called: true,
        })
    }

    async fn close_task(&self, task: Task) -> Result<Closed, Error> {
        match task.status {
            TaskStatus::Closed | TaskStatus::Ended | TaskStatus::Failed => Ok(Closed {
                request_id: task.request_id.clone(),
                task: Some(task.into()),
                provider_called: false,
            }),
            TaskStatus::Starting => Err(Error::Conflict(format!(
                "the task for {} is still starting and has no provider task yet; retry shortly",
                task.bt_id
            ))),
            TaskStatus::Active => {
                let provider = stopper(&self.providers, &task)?;
                let request_id = task.request_id.clone();
                let closing = Closing {
                    store: &self.store,
                    clock: &self.clock,
                    retention: self.policy.retention,
                };
                let task = closing
                    .close(provider, task, close_reason::REQUESTED, self.policy.attempts)
                    .await?;
                Ok(Closed {
                    task: Some(task.into()),
                    request_id,
                    provider_called: true,
                })
            }
        }
    }
}

/// The stop of the provider a task runs on.
pub(super) fn stopper<'a>(providers: &'a Stops, task: &Task) -> Result<&'a dyn ProviderStop, Error> {
    providers.get(task.provider).ok_or_else(|| {
        Error::Configuration(format!(
            "the task for {} runs on {}, which this deployment has no credentials for",
            task.bt_id, task.provider
        ))
    })
}

/// Closing an ACTIVE task, for close and the watchdog alike.
pub(super) struct Closing<'a, S, C> {
    pub store: &'a S,
    pub clock: &'a C,
    /// How long an ENDED task is kept.
    pub retention: Duration,
}

impl<S: TaskStore, C: Clock> Closing<'_, S, C> {
    /// Records the close request, stops the provider task (up to `attempts`
    /// times), and closes the task: the task as it then is. A stop that fails
    /// is recorded on the task for the watchdog to retry.
    pub async fn close(
        &self,
        provider: &dyn ProviderStop,
        task: Task,
        reason: &str,
        attempts: u32,
    ) -> Result<Task, Error> {
        let now = self.clock.now();
        let Some(task) = self.store.request_close(&task, reason, now).await? else {
            // No longer ACTIVE: closed, ended, or its end won the race.
            return self.current_state(&task).await;
        };
        let request_id = task.request_id.clone().unwrap_or_default();
        let at_provider = ProviderTask {
            id: request_id,
            media: Media::Audio,
        };
        if let Err(error) = stop_idempotently(provider, &at_provider, attempts).await {
            if let Err(store_error) = self.store.close_failed(&task, &error.to_string()).await {
                tracing::warn!(%store_error, bt_id = %task.bt_id, "the failed close was not recorded");
            }
            return Err(error);
        }
        self.closed(task).await
    }

    /// The provider acknowledged the stop: CLOSED, and ENDED at once when no
    /// end was asked for.
    pub async fn closed(&self, task: Task) -> Result<Task, Error> {
        let now = self.clock.now();
        let Some(closed) = self.store.mark_closed(&task, now).await? else {
            return self.current_state(&task).await;
        };
        if closed.reports_stream_end {
            return Ok(closed);
        }
        let end = StreamEnd {
            code: None,
            reason: end_reason::CLOSED.to_owned(),
            stream_time: None,
        };
        Ok(self
            .store
            .mark_ended(&closed.bt_id, &closed.task_id, &end, now, now + self.retention)
            .await?
            .unwrap_or(closed))
    }

    async fn current_state(&self, task: &Task) -> Result<Task, Error> {
        Ok(self
            .store
            .task(&task.bt_id, &task.task_id)
            .await?
            .unwrap_or_else(|| task.clone()))
    }
}

/// Stops `task`; a provider that has no such task to stop (it ended, or was
/// stopped before) counts as done.
pub(super) async fn stop_idempotently(
    provider: &dyn ProviderStop,
    task: &ProviderTask,
    attempts: u32,
) -> Result<(), Error> {
    match stop_with_retries(provider, task, attempts).await {
        Err(Error::Refused(refusal)) if refusal.class == RefusalClass::InvalidRequest => {
            tracing::info!(%refusal, id = %task.id, "the provider has no such task to stop");
            Ok(())
        }
        other => other,
    }
}

/// Stops `task` with up to `attempts` tries on timeouts and transient refusals.
pub(super) async fn stop_with_retries(
    provider: &dyn ProviderStop,
    task: &ProviderTask,
    attempts: u32,
) -> Result<(), Error> {
    let mut last = Error::ProviderTimeout {
        provider: provider.id(),
    };
    for attempt in 1..=attempts.max(1) {
        match provider.stop(task).await {
            Ok(Stop::Stopped) => return Ok(()),
            Ok(Stop::Refused(refusal)) if refusal.transient => {
                tracing::warn!(id = %task.id, attempt, %refusal, "stop refused for now; retrying");
                last = Error::Refused(refusal);
            }
            Ok(Stop::Refused(refusal)) => return Err(Error::Refused(refusal)),
            Err(error @ (ProviderError::Timeout | ProviderError::Unreachable(_))) => {
                tracing::warn!(id = %task.id, attempt, %error, "stop not acknowledged; retrying");
                last = Error::from_provider(provider.id(), error);
            }
            Err(error) => return Err(Error::from_provider(provider.id(), error)),
        }
    }
    Err(last)
}

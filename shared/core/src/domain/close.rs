//! Close: by the backend's btId, or by a provider task id given directly
//! (a `dupRequestId`, tasks not started through the bundle, video tasks).

use super::error::Error;
use super::policy::ClosePolicy;
use super::provider::{Media, ProviderTask, Stop};
use super::task::{Task, TaskStatus};
use super::view::TaskView;
use crate::ports::{Clock, ProviderError, ProviderStop, Stops, TaskStore};
use streamguard_wire::Problems;

/// The outcome of a close.
#[derive(Debug)]
pub struct Closed {
    /// The task, when streamguard knows it.
    pub task: Option<TaskView>,
    /// The provider task that was stopped.
    pub request_id: Option<String>,
    /// `false` when nothing needed doing (the task had already ended).
    pub provider_called: bool,
}

/// The close function's service: it may stop tasks at their providers and
/// mark them closing; it starts nothing and publishes nothing.
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
            .get(bt_id)
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
        if media == Media::Audio
            && let Some(task) = self.store.find_by_request_id(request_id).await?
            && named.is_none_or(|provider| provider == task.provider)
        {
            return self.close_task(task).await;
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
            return Err(invalid(streamguard_wire::Problem {
                field: "media".into(),
                rule: format!("{} has no {media:?} tasks to stop", provider.id()),
            }));
        }
        let task = ProviderTask {
            id: request_id.to_owned(),
            media,
        };
        self.stop(provider, &task).await?;
        Ok(Closed {
            task: None,
            request_id: Some(request_id.to_owned()),
            provider_called: true,
        })
    }

    async fn close_task(&self, task: Task) -> Result<Closed, Error> {
        match task.status {
            TaskStatus::Ended | TaskStatus::Failed => Ok(Closed {
                request_id: task.request_id.clone(),
                task: Some(task.into()),
                provider_called: false,
            }),
            TaskStatus::Starting => Err(Error::Conflict(format!(
                "the task for {} is still starting and has no provider task yet; retry shortly",
                task.bt_id
            ))),
            TaskStatus::Active | TaskStatus::Closing => {
                let request_id = task.request_id.clone().ok_or_else(|| {
                    Error::Conflict(format!(
                        "the task for {} has no provider task yet; retry shortly",
                        task.bt_id
                    ))
                })?;
                let provider = self.providers.get(task.provider).ok_or_else(|| {
                    Error::Configuration(format!(
                        "the task for {} runs on {}, which this deployment has no credentials for",
                        task.bt_id, task.provider
                    ))
                })?;
                let at_provider = ProviderTask {
                    id: request_id.clone(),
                    media: Media::Audio,
                };
                self.stop(provider, &at_provider).await?;
                let task = match self.store.mark_closing(&task, self.clock.now()).await? {
                    Some(task) => task,
                    // The stream-end callback won the race (ENDED), or a new task replaced it.
                    None => self.store.get(&task.bt_id).await?.unwrap_or(task),
                };
                Ok(Closed {
                    task: Some(task.into()),
                    request_id: Some(request_id),
                    provider_called: true,
                })
            }
        }
    }

    /// Stops `task` with bounded retries on timeouts and transient refusals.
    async fn stop(&self, provider: &dyn ProviderStop, task: &ProviderTask) -> Result<(), Error> {
        let mut last = Error::ProviderTimeout {
            provider: provider.id(),
        };
        for attempt in 1..=self.policy.attempts.max(1) {
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
}

//! Close: by the backend's btId, or by a provider requestId / dupRequestId
//! given directly (tasks not started through the bundle, and video tasks).

use super::{ApiError, Streamguard, Task, TaskStatus};
use crate::ports::{Clock, EventQueue, ProviderError, StreamProvider, TaskStore};
use wire::deepcleer::{CloseResponse, MediaKind, ResponseCode};
use wire::event::Provider;

/// What one attempt at a provider's close said.
pub(super) enum CloseAnswer {
    Closed,
    /// Refused for now (rate limit, service failure): try again.
    Retry(ApiError),
    /// Refused for good.
    Refused(ApiError),
}

/// The outcome of a close.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// The task, when streamguard knows it.
    pub task: Option<Task>,
    /// The provider requestId that was closed.
    pub request_id: Option<String>,
    /// `false` when nothing needed doing (the task had already ended).
    pub provider_called: bool,
}

impl<S: TaskStore, Q: EventQueue, P: StreamProvider, C: Clock> Streamguard<S, Q, P, C> {
    /// `POST /streams/{btId}/close`.
    pub async fn close_stream(&self, bt_id: &str) -> Result<Closed, ApiError> {
        let task = self
            .store
            .get(bt_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no task for btId {bt_id}")))?;
        self.close_task(task).await
    }

    /// `POST /requests/{requestId}/close`: a requestId or dupRequestId, audio or video.
    pub async fn close_request(&self, request_id: &str, media: MediaKind) -> Result<Closed, ApiError> {
        if media == MediaKind::Audio
            && let Some(task) = self.store.find_by_request_id(request_id).await?
        {
            return self.close_task(task).await;
        }
        self.close_at_provider(request_id, media).await?;
        Ok(Closed {
            task: None,
            request_id: Some(request_id.to_owned()),
            provider_called: true,
        })
    }

    async fn close_task(&self, task: Task) -> Result<Closed, ApiError> {
        match task.status {
            TaskStatus::Ended | TaskStatus::Failed => {
                let request_id = task.request_id.clone();
                Ok(Closed {
                    task: Some(task),
                    request_id,
                    provider_called: false,
                })
            }
            TaskStatus::Starting => Err(ApiError::Conflict(format!(
                "the task for {} is still starting and has no requestId yet; retry shortly",
                task.bt_id
            ))),
            TaskStatus::Active | TaskStatus::Closing => {
                let request_id = task.request_id.clone().ok_or_else(|| {
                    ApiError::Conflict(format!("the task for {} has no requestId; retry shortly", task.bt_id))
                })?;
                match task.provider {
                    Provider::Deepcleer => self.close_at_provider(&request_id, MediaKind::Audio).await?,
                    Provider::Zego => self.stop_zego(&request_id).await?,
                }
                let closing = self.store.mark_closing(&task, self.clock.now()).await?;
                let task = match closing {
                    Some(task) => task,
                    // The stream-end callback won the race (ENDED), or a new task replaced it.
                    None => self.store.get(&task.bt_id).await?.unwrap_or(task),
                };
                Ok(Closed {
                    task: Some(task),
                    request_id: Some(request_id),
                    provider_called: true,
                })
            }
        }
    }

    /// Calls DeepCleer's close with bounded retries on timeouts and transient codes.
    async fn close_at_provider(&self, request_id: &str, media: MediaKind) -> Result<(), ApiError> {
        self.close_with_retries(request_id, || async {
            let answer = self.provider.close(request_id, media).await?;
            let refused = |answer: CloseResponse| ApiError::ProviderRefused {
                code: answer.code,
                message: answer.message,
            };
            Ok(match answer.code {
                ResponseCode::Success => CloseAnswer::Closed,
                ResponseCode::LimitExceeded | ResponseCode::ServiceFailure => CloseAnswer::Retry(refused(answer)),
                _ => CloseAnswer::Refused(refused(answer)),
            })
        })
        .await
    }

    /// Runs `attempt` up to `close_attempts` times: until closed, refused for
    /// good, or out of attempts (timeouts, unreachable, retry-later codes).
    pub(super) async fn close_with_retries<F, Fut>(&self, id: &str, attempt: F) -> Result<(), ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<CloseAnswer, ProviderError>>,
    {
        let mut last = ApiError::ProviderTimeout;
        for number in 1..=self.policy.close_attempts.max(1) {
            match attempt().await {
                Ok(CloseAnswer::Closed) => return Ok(()),
                Ok(CloseAnswer::Refused(error)) => return Err(error),
                Ok(CloseAnswer::Retry(error)) => {
                    tracing::warn!(id, attempt = number, %error, "close refused for now; retrying");
                    last = error;
                }
                Err(error @ (ProviderError::Timeout | ProviderError::Unreachable(_))) => {
                    tracing::warn!(id, attempt = number, %error, "close not acknowledged; retrying");
                    last = error.into();
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(last)
    }
}

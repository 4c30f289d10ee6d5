//! Idempotent start, after the AWS Powertools idempotency algorithm:
//!
//! 1. Validate everything (the caller's body plus what the bundle adds).
//! 2. Claim the btId with one conditional write (STARTING, with a lease).
//!    A live task (STARTING within its lease, ACTIVE, CLOSING) is returned
//!    as is: no second submission. A STARTING task whose lease passed was
//!    left by an attempt that failed or died: it is taken over, keeping its
//!    taskId, so its callback URL stays valid.
//! 3. Submit. A timeout is retried with the same payload; `1001` adopts the
//!    `dupRequestId` (the provider already has the stream, e.g. because an
//!    earlier acknowledgement was lost). Exactly one task results.
//! 4. ACTIVE with the requestId; a refusal makes the task FAILED (the btId
//!    is free again); no answer at all releases the lease at once, so the
//!    next start resubmits and adopts whatever the provider has.

use super::{ApiError, Streamguard, Task, TaskRef};
use crate::ports::{Claim, Clock, EventQueue, ProviderError, StreamProvider, TaskStore};
use time::OffsetDateTime;
use wire::deepcleer::{StartOutcome, StartRequest, parse_start_request};
use wire::event::Provider;
use wire::{Problem, Problems};

/// A successful start.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub task: Task,
    /// `true` when this call created the task; `false` when it returned an existing one.
    pub created: bool,
}

/// What claiming a btId gave.
enum Claimed {
    /// A task (new, or taken over) to submit.
    Proceed(Task),
    /// The btId's live task, returned without a submission.
    Existing(Started),
}

/// `accessKey` and `callback` belong to the bundle; a caller sending them hears so.
fn owned_fields(request: &StartRequest) -> Result<(), Problems> {
    let problems: Vec<Problem> = [
        ("accessKey", !request.access_key.is_empty()),
        ("callback", !request.callback.is_empty()),
    ]
    .into_iter()
    .filter(|(_, sent)| *sent)
    .map(|(field, _)| Problem {
        field: field.into(),
        rule: "is set by streamguard; leave it out".into(),
    })
    .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Problems(problems))
    }
}

/// Where callbacks for a task go: `<base>/callbacks/<token>`.
pub fn callback_url(base: &str, token: &str) -> String {
    format!("{}/callbacks/{token}", base.trim_end_matches('/'))
}

impl<S: TaskStore, Q: EventQueue, P: StreamProvider, C: Clock> Streamguard<S, Q, P, C> {
    /// `POST /streams`: `body` is the provider's start request minus `accessKey`
    /// and `callback`, plus an optional `provider` (`deepcleer` or `zego`,
    /// default the deployment's); `callback_base` is where this deployment's
    /// callback route lives.
    pub async fn start(&self, body: &str, callback_base: &str) -> Result<Started, ApiError> {
        let mut request = parse_start_request(body).map_err(ApiError::Invalid)?;
        let provider = self.choose_provider(&mut request)?;
        match provider {
            Provider::Deepcleer => {
                let request = self.prepare(request, callback_base)?;
                match self.claim(&request.data.bt_id, Provider::Deepcleer).await? {
                    Claimed::Proceed(task) => self.submit(task, request, callback_base).await,
                    Claimed::Existing(started) => Ok(started),
                }
            }
            Provider::Zego => {
                if !self.policy.zego_enabled {
                    let rule = "zego is not configured in this deployment (no Zego AppId and ServerSecret)";
                    return Err(ApiError::Invalid(Problems(vec![Problem {
                        field: "provider".into(),
                        rule: rule.into(),
                    }])));
                }
                owned_fields(&request).map_err(ApiError::Invalid)?;
                // Validate before claiming: the real callback URL differs only in its token.
                super::zego::start_body(&request, callback_base, &self.policy.zego_default_event_id)
                    .map_err(ApiError::Invalid)?;
                match self.claim(&request.data.bt_id, Provider::Zego).await? {
                    Claimed::Proceed(task) => self.submit_zego(task, &request, callback_base).await,
                    Claimed::Existing(started) => Ok(started),
                }
            }
        }
    }

    /// The provider named by the body's `provider` field (removed before sending), or the default.
    fn choose_provider(&self, request: &mut StartRequest) -> Result<Provider, ApiError> {
        match request.other.remove("provider") {
            None => Ok(self.policy.default_provider),
            Some(serde_json::Value::String(name)) if name == "deepcleer" => Ok(Provider::Deepcleer),
            Some(serde_json::Value::String(name)) if name == "zego" => Ok(Provider::Zego),
            Some(other) => Err(ApiError::Invalid(Problems(vec![Problem {
                field: "provider".into(),
                rule: format!("must be \"deepcleer\" or \"zego\" (is {other})"),
            }]))),
        }
    }

    /// Claims the btId (see the module docs): a task to submit, or the existing one.
    async fn claim(&self, bt_id: &str, provider: Provider) -> Result<Claimed, ApiError> {
        let now = self.clock.now();
        let fresh = Task::starting(bt_id, provider, now, self.lease_end(now));
        Ok(match self.store.claim(&fresh).await? {
            Claim::Created => Claimed::Proceed(fresh),
            Claim::Live(task) => Claimed::Existing(Started { task, created: false }),
            Claim::Stale(stale) => match self.store.take_over(&stale, self.lease_end(now), now).await? {
                Some(task) => {
                    tracing::info!(bt_id = %task.bt_id, task_id = %task.task_id, "taking over a start that did not finish");
                    Claimed::Proceed(task)
                }
                None => Claimed::Existing(self.current(bt_id).await?),
            },
        })
    }

    fn lease_end(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.policy.starting_lease
    }

    /// Fills in what the bundle owns, and validates; every problem at once.
    fn prepare(&self, mut request: StartRequest, callback_base: &str) -> Result<StartRequest, ApiError> {
        let mut problems = owned_fields(&request)
            .err()
            .map(|Problems(found)| found)
            .unwrap_or_default();
        if request.app_id.is_empty()
            && let Some(app_id) = &self.policy.default_app_id
        {
            request.app_id = app_id.clone();
        }
        if request.event_id.is_empty()
            && let Some(event_id) = &self.policy.default_event_id
        {
            request.event_id = event_id.clone();
        }
        request.data.return_finish_info.get_or_insert(1);
        request.access_key = self.policy.access_key.expose().to_owned();
        // The final URL has this shape; the real token is signed once the taskId is known.
        let placeholder = TaskRef {
            provider: Provider::Deepcleer,
            bt_id: request.data.bt_id.clone(),
            task_id: "0".repeat(32),
        };
        request.callback = callback_url(callback_base, &self.policy.callback_key.sign(&placeholder));
        if let Err(Problems(found)) = request.validate() {
            // accessKey and callback come from configuration: a problem there is the deployment's.
            let (configured, sent): (Vec<_>, Vec<_>) = found
                .into_iter()
                .partition(|problem| problem.field == "accessKey" || problem.field == "callback");
            if !configured.is_empty() {
                let detail = configured
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(ApiError::Configuration(detail));
            }
            problems.extend(sent);
        }
        if problems.is_empty() {
            Ok(request)
        } else {
            Err(ApiError::Invalid(Problems(problems)))
        }
    }

    async fn current(&self, bt_id: &str) -> Result<Started, ApiError> {
        let task = self
            .store
            .get(bt_id)
            .await?
            .ok_or_else(|| ApiError::Conflict(format!("the task for {bt_id} changed; retry")))?;
        Ok(Started { task, created: false })
    }

    async fn submit(&self, task: Task, mut request: StartRequest, callback_base: &str) -> Result<Started, ApiError> {
        let reference = TaskRef {
            provider: Provider::Deepcleer,
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
        };
        request.callback = callback_url(callback_base, &self.policy.callback_key.sign(&reference));
        let mut last_error = ProviderError::Timeout;
        for attempt in 1..=self.policy.start_attempts.max(1) {
            let answer = match self.provider.start(&request).await {
                Ok(answer) => answer,
                Err(error @ (ProviderError::Timeout | ProviderError::Unreachable(_))) => {
                    tracing::warn!(bt_id = %task.bt_id, attempt, %error, "start not acknowledged; resubmitting the same payload");
                    last_error = error;
                    continue;
                }
                Err(error) => {
                    self.store.release(&task, self.clock.now()).await?;
                    return Err(error.into());
                }
            };
            let now = self.clock.now();
            return match answer.outcome() {
                StartOutcome::Started(request_id) => self.activate(&task, request_id, false, now).await,
                StartOutcome::Duplicate(request_id) => {
                    tracing::info!(bt_id = %task.bt_id, request_id, "the provider already had the stream; adopting its requestId");
                    self.activate(&task, request_id, true, now).await
                }
                StartOutcome::Refused(code) => {
                    let message = answer.message.clone();
                    self.store
                        .fail(&task, &format!("provider code {code}: {message}"), now)
                        .await?;
                    tracing::warn!(bt_id = %task.bt_id, code = code.code(), "the provider refused the start");
                    Err(ApiError::ProviderRefused { code, message })
                }
            };
        }
        self.store.release(&task, self.clock.now()).await?;
        Err(last_error.into())
    }

    async fn activate(
        &self,
        task: &Task,
        request_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Started, ApiError> {
        match self.store.activate(task, request_id, adopted, now).await? {
            Some(task) => Ok(Started { task, created: true }),
            None => self.current(&task.bt_id).await,
        }
    }
}

//! Idempotent start, after the AWS Powertools idempotency algorithm:
//!
//! 1. Validate everything: the caller's body, what the bundle adds, and
//!    what the chosen provider requires.
//! 2. Claim the btId with one conditional write (STARTING, with a lease).
//!    A task holding the btId (STARTING within its lease, ACTIVE) is
//!    returned as is: no second submission; a start naming another provider
//!    than that task's is a 409 (`PROVIDER_MISMATCH`). A STARTING task whose lease passed was left
//!    by an attempt that failed or died: it is taken over, keeping its taskId
//!    (so its callback URL stays valid) and its provider.
//! 3. Submit. When the provider recognises a resubmission, a start that got
//!    no answer is sent again with the same payload, and a duplicate answer
//!    adopts the running task (an earlier acknowledgement was lost) — unless
//!    that task belongs to another btId: then the claim is undone and the
//!    answer is a 409 (`STREAM_HELD`) naming that btId. A provider that does not recognise
//!    resubmissions gets one attempt: a second would run the stream twice.
//! 4. ACTIVE with the provider's task id; a refusal makes the task FAILED
//!    (the btId is free again); no answer at all releases the lease at
//!    once, so the next start takes the task over.

use super::error::Error;
use super::events::PASS_THROUGH_LIMIT;
use super::policy::StartPolicy;
use super::provider::{ProviderId, StartProblem, Submission};
use super::task::{Page, Task};
use super::token::{CallbackKey, TaskRef};
use super::view::{self, TaskView};
use crate::ports::{Claim, Clock, ProviderError, ProviderStart, Starts, TaskStore};
use streamguard_wire::api::StartBody;
use streamguard_wire::{Problem, Problems};
use time::OffsetDateTime;

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

/// Where a deployment's callbacks go, and the key that signs their tokens.
#[derive(Debug, Clone)]
pub struct CallbackUrls {
    pub key: CallbackKey,
    /// The public base URL of the callback route, when configured; otherwise
    /// the base the start request came in on.
    pub base: Option<String>,
}

impl CallbackUrls {
    /// The base URL callbacks go to.
    fn base<'a>(&'a self, request_base: Option<&'a str>) -> Result<&'a str, Error> {
        self.base.as_deref().or(request_base).ok_or_else(|| {
            Error::Configuration("no callback base URL is configured and the request names no host".into())
        })
    }

    /// `<base>/callbacks/<token>` for a task.
    pub fn for_task(&self, base: &str, task: &TaskRef) -> String {
        format!("{}/callbacks/{}", base.trim_end_matches('/'), self.key.sign(task))
    }
}

/// The start function's service: it may claim tasks and call providers'
/// start; it publishes nothing.
pub struct Starter<S, C> {
    pub store: S,
    pub clock: C,
    pub providers: Starts,
    pub callbacks: CallbackUrls,
    pub policy: StartPolicy,
}

impl<S: TaskStore, C: Clock> Starter<S, C> {
    /// `POST /streams`: `body` is the API's start body; `request_base` is the
    /// base URL the request came in on (used when no callback base is configured).
    pub async fn start(&self, body: &str, request_base: Option<&str>) -> Result<Started, Error> {
        let callback_base = self.callbacks.base(request_base)?;
        let body = StartBody::parse(body).map_err(Error::Invalid)?;
        let provider = self
            .providers
            .choose(body.provider.as_deref(), "provider")
            .map_err(|problem| Error::Invalid(Problems(vec![problem])))?;
        self.check(provider, &body, callback_base)?;
        match self.claim(&body, provider.id()).await? {
            Claimed::Proceed(task) => self.submit(provider, task, &body, callback_base).await,
            Claimed::Existing(started) => Ok(started),
        }
    }

    /// `GET /streams/{btId}`.
    pub async fn view(&self, bt_id: &str) -> Result<TaskView, Error> {
        view::task_view(&self.store, bt_id).await
    }

    /// `GET /streams?status=&limit=&cursor=`: the open tasks, a page at a time.
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<TaskView>, Error> {
        view::list(&self.store, status, limit, cursor).await
    }

    /// Every problem with the body at once: the bundle's own rules, then the
    /// provider's, with a callback URL of the final shape (only its token differs).
    fn check(&self, provider: &dyn ProviderStart, body: &StartBody, callback_base: &str) -> Result<(), Error> {
        let mut problems = body.owned_field_problems();
        if let Some((field, size)) = body.pass_through_size()
            && size > PASS_THROUGH_LIMIT
        {
            problems.push(Problem {
                field: field.into(),
                rule: format!(
                    "must be at most {PASS_THROUGH_LIMIT} bytes as JSON (is {size}): it is echoed in every event, and an event must fit the queue"
                ),
            });
        }
        let placeholder = TaskRef {
            provider: provider.id(),
            bt_id: body.bt_id().to_owned(),
            task_id: "0".repeat(32),
        };
        match provider.check(body, &self.callbacks.for_task(callback_base, &placeholder)) {
            Ok(()) => {}
            Err(StartProblem::Configuration(detail)) => return Err(Error::Configuration(detail)),
            Err(StartProblem::Invalid(Problems(found))) => problems.extend(found),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(Problems(problems)))
        }
    }

    /// Claims the btId (see the module docs): a task to submit, or the existing one.
    async fn claim(&self, body: &StartBody, provider: ProviderId) -> Result<Claimed, Error> {
        let now = self.clock.now();
        let mut fresh = Task::starting(body.bt_id(), provider, now, self.lease_end(now));
        fresh.reports_every_segment = body.reports_every_segment();
        fresh.reports_stream_end = body.reports_stream_end();
        let other_provider = |task: &Task| Error::ProviderMismatch {
            bt_id: task.bt_id.clone(),
            running: task.provider,
            asked: provider,
        };
        Ok(match self.store.claim(&fresh).await? {
            Claim::Created => Claimed::Proceed(fresh),
            Claim::Live(task) if task.provider != provider => return Err(other_provider(&task)),
            Claim::Live(task) => Claimed::Existing(Started { task, created: false }),
            Claim::Stale(stale) if stale.provider != provider => return Err(other_provider(&stale)),
            Claim::Stale(stale) => match self.store.take_over(&stale, self.lease_end(now), now).await? {
                Some(task) => {
                    tracing::info!(bt_id = %task.bt_id, task_id = %task.task_id, "taking over a start that did not finish");
                    Claimed::Proceed(task)
                }
                None => Claimed::Existing(self.current(body.bt_id()).await?),
            },
        })
    }

    fn lease_end(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.policy.starting_lease
    }

    async fn current(&self, bt_id: &str) -> Result<Started, Error> {
        let task = self
            .store
            .current(bt_id)
            .await?
            .ok_or_else(|| Error::Conflict(format!("the task for {bt_id} changed; retry")))?;
        Ok(Started { task, created: false })
    }

    async fn submit(
        &self,
        provider: &dyn ProviderStart,
        task: Task,
        body: &StartBody,
        callback_base: &str,
    ) -> Result<Started, Error> {
        let reference = TaskRef {
            provider: provider.id(),
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
        };
        let callback = self.callbacks.for_task(callback_base, &reference);
        let attempts = if provider.recognises_resubmission() {
            self.policy.attempts.max(1)
        } else {
            1
        };
        let mut last_error = ProviderError::Timeout;
        for attempt in 1..=attempts {
            let answer = match provider.submit(body, &callback).await {
                Ok(answer) => answer,
                Err(error @ (ProviderError::Timeout | ProviderError::Unreachable(_))) => {
                    tracing::warn!(bt_id = %task.bt_id, provider = %provider.id(), attempt, %error, "start not acknowledged");
                    last_error = error;
                    continue;
                }
                Err(error) => {
                    self.store.release(&task, self.clock.now()).await?;
                    return Err(Error::from_provider(provider.id(), error));
                }
            };
            let now = self.clock.now();
            return match answer {
                Submission::Accepted { provider_task_id } => self.activate(&task, &provider_task_id, false, now).await,
                Submission::Duplicate { running_task_id } => self.adopt(&task, &running_task_id, now).await,
                Submission::Refused(refusal) => {
                    let reason = format!("{} code {}: {}", refusal.provider, refusal.code, refusal.message);
                    self.store
                        .fail(&task, &reason, now, now + self.policy.retention)
                        .await?;
                    tracing::warn!(bt_id = %task.bt_id, provider = %refusal.provider, code = refusal.code, "the provider refused the start");
                    Err(Error::Refused(refusal))
                }
            };
        }
        self.store.release(&task, self.clock.now()).await?;
        Err(Error::from_provider(provider.id(), last_error))
    }

    /// The provider already runs the stream: adopt its task, unless it is
    /// another btId's (then nothing of this start remains, and nothing is closed).
    async fn adopt(&self, task: &Task, running_task_id: &str, now: OffsetDateTime) -> Result<Started, Error> {
        let holders = self.store.find_by_provider_task(running_task_id).await?;
        if let Some(holder) = holders.iter().find(|holder| holder.bt_id != task.bt_id) {
            self.store.abandon(task).await?;
            tracing::warn!(bt_id = %task.bt_id, holder = %holder.bt_id, "the stream is moderated for another btId; not adopted");
            return Err(Error::StreamHeld {
                holder: holder.bt_id.clone(),
            });
        }
        tracing::info!(bt_id = %task.bt_id, running_task_id, "the provider already had the stream; adopting its task");
        self.activate(task, running_task_id, true, now).await
    }

    async fn activate(
        &self,
        task: &Task,
        provider_task_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Started, Error> {
        match self.store.activate(task, provider_task_id, adopted, now).await? {
            Some(task) => Ok(Started { task, created: true }),
            None => self.current(&task.bt_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallbackKey;

    #[test]
    fn callback_urls_carry_a_signed_token() {
        let urls = CallbackUrls {
            key: CallbackKey::new(b"0123456789abcdef-test-key", crate::providers::REGISTERED).unwrap(),
            base: None,
        };
        let task = TaskRef {
            provider: crate::providers::REGISTERED[0],
            bt_id: "room-1".into(),
            task_id: "t".repeat(32),
        };
        let url = urls.for_task("https://api.example.com/", &task);
        let token = url.strip_prefix("https://api.example.com/callbacks/").unwrap();
        assert_eq!(urls.key.verify(token).unwrap(), task);
    }
}

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
use super::task::{Owner, Page, Reports, Stray, Task};
use super::token::{CallbackKey, TaskRef};
use super::view::{self, TaskView};
use crate::ports::{Claim, Clock, Ownership, ProviderError, ProviderStart, Starts, TaskStore};
use std::time::Duration;
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
    /// the API's own domain, as the platform reports it.
    pub base: Option<String>,
}

impl CallbackUrls {
    /// The base URL callbacks go to.
    fn base<'a>(&'a self, api_base: Option<&'a str>) -> Result<&'a str, Error> {
        self.base.as_deref().or(api_base).ok_or_else(|| {
            Error::Configuration("no callback base URL is configured and the platform names no API domain".into())
        })
    }

    /// `<base>/callbacks/<token>` for a task, the token valid until `expires_at`.
    pub fn for_task(&self, base: &str, task: &TaskRef, expires_at: OffsetDateTime) -> String {
        format!(
            "{}/callbacks/{}",
            base.trim_end_matches('/'),
            self.key.sign(task, expires_at)
        )
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
    /// `POST /streams`: `body` is the API's start body; `api_base` is the
    /// API's own base URL, as the platform reports it (used when no callback
    /// base is configured; never taken from a caller's header).
    pub async fn start(&self, body: &str, api_base: Option<&str>) -> Result<Started, Error> {
        let callback_base = self.callbacks.base(api_base)?;
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
        for (field, size) in body.pass_through_sizes() {
            if size <= PASS_THROUGH_LIMIT {
                continue;
            }
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
        let expires_at = self.clock.now() + self.policy.token_lifetime;
        match provider.check(body, &self.callbacks.for_task(callback_base, &placeholder, expires_at)) {
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
        let reports = Reports {
            every_segment: body.reports_every_segment(),
            stream_end: body.reports_stream_end(),
        };
        let mut fresh = Task::starting(body.bt_id(), provider, now, self.lease_end(now));
        fresh.reports_every_segment = reports.every_segment;
        fresh.reports_stream_end = reports.stream_end;
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
            Claim::Stale(stale) => match self.store.take_over(&stale, reports, self.lease_end(now), now).await? {
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
        let expires_at = self.clock.now() + self.policy.token_lifetime;
        let callback = self.callbacks.for_task(callback_base, &reference, expires_at);
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
                Submission::Accepted { provider_task_id } => {
                    self.activate(provider.id(), &task, &provider_task_id, false, now).await
                }
                Submission::Duplicate { running_task_id } => {
                    self.adopt(provider.id(), &task, &running_task_id, now).await
                }
                Submission::Refused(refusal) => {
                    let reason = format!("{} code {}: {}", refusal.provider, refusal.code, refusal.message);
                    self.store
                        .fail(&task, &reason, None, now, now + self.policy.retention)
                        .await?;
                    tracing::warn!(bt_id = %task.bt_id, provider = %refusal.provider, code = refusal.code, "the provider refused the start");
                    Err(Error::Refused(refusal))
                }
            };
        }
        self.store.release(&task, self.clock.now()).await?;
        Err(Error::from_provider(provider.id(), last_error))
    }

    /// The provider already runs the stream: adopt its task (an earlier
    /// acknowledgement was lost, or the btId's earlier task still runs it),
    /// unless it is another btId's: then nothing of this start remains, and
    /// nothing is closed.
    async fn adopt(
        &self,
        provider: ProviderId,
        task: &Task,
        running_task_id: &str,
        now: OffsetDateTime,
    ) -> Result<Started, Error> {
        let owner = self.store.provider_task_owner(provider, running_task_id).await?;
        let holder = match owner {
            Some(owner) => Some(owner.bt_id),
            // Tasks activated before ownership was recorded: the index of provider task ids.
            None => self
                .store
                .find_by_provider_task(running_task_id)
                .await?
                .into_iter()
                .find(|holder| holder.provider == provider)
                .map(|holder| holder.bt_id),
        };
        if let Some(holder) = holder.filter(|holder| *holder != task.bt_id) {
            return self.held_by(task, holder).await;
        }
        tracing::info!(bt_id = %task.bt_id, running_task_id, "the provider already had the stream; adopting its task");
        self.activate(provider, task, running_task_id, true, now).await
    }

    /// Another btId's task runs the stream: the claim is undone.
    async fn held_by(&self, task: &Task, holder: String) -> Result<Started, Error> {
        self.store.abandon(task).await?;
        tracing::warn!(bt_id = %task.bt_id, holder = %holder, "the stream is moderated for another btId; not adopted");
        Err(Error::StreamHeld { holder })
    }

    /// The task takes the provider task as its own (one owner per provider
    /// task, never two btIds), then becomes ACTIVE.
    async fn activate(
        &self,
        provider: ProviderId,
        task: &Task,
        provider_task_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Started, Error> {
        let owner = Owner {
            provider,
            provider_task_id: provider_task_id.to_owned(),
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
        };
        if let Ownership::HeldBy(holder) = self.store.own_provider_task(&owner, now + OWNERSHIP_KEPT).await? {
            return self.held_by(task, holder.bt_id).await;
        }
        if let Some(task) = self.store.activate(task, provider_task_id, adopted, now).await? {
            return Ok(Started { task, created: true });
        }
        // The task changed while it started (the watchdog gave it up, an end
        // arrived): the provider task now runs for no live task. It is
        // remembered as a stray, for the watchdog to stop, and the caller
        // retries (a new task).
        let stray = Stray {
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
            provider,
            provider_task_id: provider_task_id.to_owned(),
            recorded_at: now,
            stopped_at: None,
            stop_attempts: 0,
        };
        self.store.record_stray(&stray).await?;
        tracing::warn!(bt_id = %task.bt_id, provider_task_id, "the task changed while it started; its provider task will be stopped");
        Err(Error::Conflict(format!(
            "the task for {} changed while it started; retry",
            task.bt_id
        )))
    }
}

/// How long a provider task's owner is remembered: longer than any stream
/// a deployment lets run, so that no other btId can adopt it meanwhile.
const OWNERSHIP_KEPT: Duration = Duration::from_secs(31 * 24 * 60 * 60);

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
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let url = urls.for_task(
            "https://api.example.com/",
            &task,
            now + std::time::Duration::from_secs(60),
        );
        let token = url.strip_prefix("https://api.example.com/callbacks/").unwrap();
        assert_eq!(urls.key.verify(token, now).unwrap(), task);
    }
}

//! The small traits the domain needs from the outside world. Adapters:
//! DynamoDB and SQS (`crate::aws`) and the providers' HTTP APIs
//! (`crate::providers`) in production and end-to-end tests; in-memory fakes
//! in unit tests (`crate::memory`), which pass the same conformance suite.

use crate::domain::provider::{Media, ProviderId, ProviderTask, ReadError, Reading, StartProblem, Stop, Submission};
use crate::domain::task::{Evidence, Open, Owner, Page, Published, Reports, Stray, StreamEnd, Task, TaskStatus};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use streamguard_wire::Problem;
use streamguard_wire::api::StartBody;
use streamguard_wire::event::QueueEvent;
use time::OffsetDateTime;

/// A boxed future, for the ports used as trait objects (one per provider).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The table could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer as it should (throttled, down, denied):
    /// worth retrying.
    #[error("task storage failed: {0}")]
    Unavailable(String),
    /// A record that cannot be read (written by a later version, damaged).
    #[error("a stored record cannot be read: {0}")]
    Unreadable(String),
    /// A page cursor the store did not give (the caller's mistake).
    #[error("not a cursor this store gave: {0}")]
    BadCursor(String),
}

/// The queue did not take the event.
#[derive(Debug, Clone, thiserror::Error)]
#[error("queue send failed: {0}")]
pub struct QueueError(pub String);

/// The provider did not answer with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No answer within the timeout: the request may or may not have been acted on.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The connection failed before the request was sent.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not the provider's JSON.
    #[error("the provider's answer was not understood: {0}")]
    BadAnswer(String),
}

/// The result of claiming a btId for a new start.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The new task was written (STARTING) and is the btId's current task.
    Created,
    /// A task holds the btId (STARTING within its lease, or ACTIVE).
    Live(Task),
    /// A task was left STARTING by an attempt that failed or died.
    Stale(Task),
}

/// What claiming a provider task found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// The task owns it now.
    Owned,
    /// A task of another btId owns it.
    HeldBy(Owner),
}

/// Which open records a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFilter {
    /// Open tasks and unstopped strays (the watchdog).
    All,
    /// Open tasks.
    Tasks,
    /// Open tasks of this status.
    Status(TaskStatus),
}

impl OpenFilter {
    /// Whether an open record passes the filter.
    pub fn admits(self, open: &Open) -> bool {
        match (self, open) {
            (OpenFilter::All, _) => true,
            (_, Open::Stray(_)) => false,
            (OpenFilter::Tasks, Open::Task(_)) => true,
            (OpenFilter::Status(status), Open::Task(task)) => task.status == status,
        }
    }
}

/// What recording progress found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Recorded,
    /// Nothing to record: no such task, or not a higher segment.
    Unchanged,
    /// The provider task is not the task's current one.
    Stray,
}

/// Task records, stray records and published-event records. Tasks are kept
/// by their own id: a task that no longer holds its btId (CLOSED, ENDED,
/// FAILED, replaced by a newer start) is still found, and changed, by id.
/// Every transition is conditional on the task's status; `None` (or
/// `false`) means the condition did not hold and nothing was written.
pub trait TaskStore: Send + Sync {
    /// Makes `task` the btId's current task unless a task holds the btId.
    fn claim(&self, task: &Task) -> impl Future<Output = Result<Claim, StoreError>> + Send;
    /// Takes over a stale STARTING task (same taskId, a new lease), with what
    /// the retried start asks the provider to report (`reports`, as in
    /// [`Task::reports_every_segment`] and [`Task::reports_stream_end`]).
    fn take_over(
        &self,
        stale: &Task,
        reports: Reports,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// Undoes a claim: the STARTING task is forgotten and the btId's previous
    /// task, if any, is current again.
    fn abandon(&self, task: &Task) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// STARTING → ACTIVE with the provider's task id (added to its ids).
    fn activate(
        &self,
        task: &Task,
        provider_task_id: &str,
        adopted_duplicate: bool,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// STARTING → FAILED: the provider refused, or (with `lease_ended_by`)
    /// the start was left behind: then only while its lease still ended by
    /// that time, so that a take-over that renewed it meanwhile wins. The
    /// btId is free again.
    fn fail(
        &self,
        task: &Task,
        reason: &str,
        lease_ended_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// Leaves the task STARTING but its lease ended, so the next start takes it over at once.
    fn release(&self, task: &Task, now: OffsetDateTime) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The btId's current task.
    fn current(&self, bt_id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// A task by its id, current or not.
    fn task(&self, bt_id: &str, task_id: &str) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// The tasks whose current provider task id is this.
    fn find_by_provider_task(
        &self,
        provider_task_id: &str,
    ) -> impl Future<Output = Result<Vec<Task>, StoreError>> + Send;
    /// An ACTIVE task is to be closed: records the first request's time and
    /// reason, and counts the attempt.
    fn request_close(
        &self,
        task: &Task,
        reason: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// The stop of an ACTIVE task failed (the watchdog retries it).
    fn close_failed(&self, task: &Task, error: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// ACTIVE → CLOSED: the provider acknowledged the stop.
    fn mark_closed(
        &self,
        task: &Task,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// STARTING, ACTIVE or CLOSED → ENDED with the reason; an end that
    /// arrives after `END_NOT_RECEIVED` replaces that reason.
    fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Task>, StoreError>> + Send;
    /// Raises `segments_seen` to `segment` (never lowers it), when
    /// `provider_task_id` is the task's current provider task (or the task is
    /// STARTING); tells when it is a stray instead.
    fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        provider_task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Progress, StoreError>> + Send;
    /// Notes that the watchdog reported the ACTIVE task's silence (once per silence:
    /// `false` when already noted since its last activity).
    fn note_stale(&self, task: &Task, now: OffsetDateTime) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Remembers a stray, once: `false` when it was known.
    fn record_stray(&self, stray: &Stray) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A stop of a stray was tried: stopped (the record then expires at
    /// `expires_at`), or one more attempt counted.
    fn stray_stop_attempted(
        &self,
        stray: &Stray,
        stopped: bool,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Makes `owner` the one task that may act on its provider task, unless a
    /// task of another btId is: an earlier task of the same btId hands it
    /// over (a restart that adopted it). Kept until `expires_at`.
    fn own_provider_task(
        &self,
        owner: &Owner,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Ownership, StoreError>> + Send;
    /// The task that owns a provider task, read consistently.
    fn provider_task_owner(
        &self,
        provider: ProviderId,
        provider_task_id: &str,
    ) -> impl Future<Output = Result<Option<Owner>, StoreError>> + Send;
    /// Open tasks (STARTING, ACTIVE, CLOSED) and unstopped strays, a page at
    /// a time; a cursor the store did not give is `Unreadable`.
    fn open(
        &self,
        filter: OpenFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Open>, StoreError>> + Send;
    /// Whether an event with this id was already published.
    fn is_published(&self, bt_id: &str, event_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Remembers a published event (conditional: an existing record is left as is).
    fn record_published(&self, record: &Published) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// An event's record, read consistently.
    fn published(
        &self,
        bt_id: &str,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<Published>, StoreError>> + Send;
    /// Records what the evidence archive holds for an event, once: `false`
    /// when it was recorded before (the first record stands).
    fn record_evidence(
        &self,
        bt_id: &str,
        event_id: &str,
        evidence: &Evidence,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The btId's published events, newest first, a page at a time; a
    /// cursor the store did not give is `Unreadable`.
    fn published_events(
        &self,
        bt_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Published>, StoreError>> + Send;
    /// How many segment events of this risk level were published for a task.
    fn count_published(
        &self,
        bt_id: &str,
        event_prefix: &str,
        risk_level: &str,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Where events go.
pub trait EventQueue: Send + Sync {
    /// Sends durably, ordered per stream and deduplicated by event id within
    /// the queue's window (SQS FIFO: 5 minutes).
    fn publish(&self, event: &QueueEvent) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// Something that belongs to one provider.
pub trait Provider: Send + Sync {
    fn id(&self) -> ProviderId;
}

/// A provider's start: what the start function calls. One implementation
/// per provider (`crate::providers`); a trait object, because a deployment
/// holds several and a start picks one.
pub trait ProviderStart: Provider {
    /// Whether the provider recognises a resubmitted start as a duplicate of
    /// the running task, so that a start whose answer was lost may be sent
    /// again (otherwise a resubmission would run the stream twice).
    fn recognises_resubmission(&self) -> bool;
    /// Checks a start, with the callback URL it will carry, before anything
    /// is written: every problem at once.
    fn check(&self, start: &StartBody, callback_url: &str) -> Result<(), StartProblem>;
    /// Submits a start: accepted, a duplicate of a running task, or refused.
    fn submit<'a>(
        &'a self,
        start: &'a StartBody,
        callback_url: &'a str,
    ) -> BoxFuture<'a, Result<Submission, ProviderError>>;
}

/// A provider's stop: what close and the watchdog call.
pub trait ProviderStop: Provider {
    /// Whether it can stop a task of this medium.
    fn stops(&self, media: Media) -> bool;
    /// Stops a task at the provider.
    fn stop<'a>(&'a self, task: &'a ProviderTask) -> BoxFuture<'a, Result<Stop, ProviderError>>;
}

/// A provider's callback format: what the callback function reads. It calls
/// no provider, so it holds no provider credentials.
pub trait CallbackReader: Provider {
    /// Reads a callback body (checking the provider's own signature, where it
    /// signs its callbacks) into a neutral reading.
    fn read(&self, body: &[u8], now: OffsetDateTime) -> Result<Reading, ReadError>;
    /// What the provider sent, kept as evidence with a published event: the
    /// callback's JSON with whatever may carry a secret taken out (the
    /// provider's echo of the start request, signature fields). Only asked
    /// for a callback that `read` accepted.
    fn evidence(&self, body: &[u8]) -> Option<serde_json::Value>;
}

/// The evidence archive could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the evidence archive failed: {0}")]
pub struct ArchiveError(pub String);

/// What writing an object found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written now.
    Written,
    /// Already there (written by an earlier attempt): left as it was.
    AlreadyThere,
}

/// Where evidence is kept: write-once objects, and short-lived links to them.
pub trait EvidenceArchive: Send + Sync {
    /// Writes `bytes` at `key` unless an object is there already.
    fn put_new(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<Stored, ArchiveError>> + Send;
    /// The size of the object at `key`, if there is one.
    fn stored_size(&self, key: &str) -> impl Future<Output = Result<Option<u64>, ArchiveError>> + Send;
    /// A link that reads the object at `key` for `valid_for`, with no other credential.
    fn link(
        &self,
        key: &str,
        valid_for: std::time::Duration,
    ) -> impl Future<Output = Result<String, ArchiveError>> + Send;
}

/// A provider's media, as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Worth another try: no answer, a 5xx, a connection that broke.
    #[error("{0}")]
    Transient(String),
    /// Not worth another: a 4xx, a URL refused, more than the limit.
    #[error("{0}")]
    Permanent(String),
}

/// Fetches a provider's media (a segment's audio) by URL.
pub trait MediaFetcher: Send + Sync {
    /// At most `limit` bytes, within `timeout`.
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        limit: usize,
        timeout: std::time::Duration,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>>;
}

/// Now. A port so that tests control time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The configured providers of one port (starts, stops, callback readers),
/// the names the bundle knows, and the deployment's default.
pub struct Configured<T: ?Sized> {
    default: ProviderId,
    known: &'static [ProviderId],
    members: Vec<Arc<T>>,
}

/// The providers a start may use.
pub type Starts = Configured<dyn ProviderStart>;
/// The providers close and the watchdog may stop tasks at.
pub type Stops = Configured<dyn ProviderStop>;
/// The callback formats the callback function reads.
pub type Readers = Configured<dyn CallbackReader>;

impl<T: ?Sized> Clone for Configured<T> {
    fn clone(&self) -> Self {
        Configured {
            default: self.default,
            known: self.known,
            members: self.members.clone(),
        }
    }
}

impl<T: ?Sized + Provider> std::fmt::Debug for Configured<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Configured")
            .field("default", &self.default)
            .field("configured", &self.configured())
            .finish()
    }
}

impl<T: ?Sized + Provider> Configured<T> {
    /// `members` of the providers `known` to the bundle; `default` need not
    /// be among them (a request that relies on it is then refused, naming it).
    pub fn new(default: ProviderId, known: &'static [ProviderId], members: Vec<Arc<T>>) -> Self {
        Configured {
            default,
            known,
            members,
        }
    }

    pub fn default_id(&self) -> ProviderId {
        self.default
    }

    /// The names the bundle knows (whether configured here or not).
    pub fn known(&self) -> &'static [ProviderId] {
        self.known
    }

    /// A configured provider.
    pub fn get(&self, id: ProviderId) -> Option<&T> {
        self.members
            .iter()
            .find(|member| member.id() == id)
            .map(|member| member.as_ref())
    }

    /// Every configured provider, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.members.iter().map(|member| member.as_ref())
    }

    /// The provider a caller named (`field` for the problem), or the default.
    pub fn choose(&self, named: Option<&str>, field: &str) -> Result<&T, Problem> {
        let id = self.read(named, field)?;
        self.get(id).ok_or_else(|| Problem {
            field: field.into(),
            rule: format!(
                "{id} is not configured in this deployment (configured: {})",
                self.configured()
            ),
        })
    }

    /// The provider a caller named, or the default, as a name the bundle knows.
    pub fn read(&self, named: Option<&str>, field: &str) -> Result<ProviderId, Problem> {
        match named {
            None => Ok(self.default),
            Some(name) => ProviderId::find(name, self.known).map_err(|unknown| Problem {
                field: field.into(),
                rule: unknown.to_string(),
            }),
        }
    }

    fn configured(&self) -> String {
        let ids: Vec<&str> = self.members.iter().map(|member| member.id().as_str()).collect();
        if ids.is_empty() {
            "none".to_owned()
        } else {
            ids.join(", ")
        }
    }
}

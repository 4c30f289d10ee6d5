//! In-memory adapters for unit tests of the domain: the task store (which
//! passes the same conformance suite as the DynamoDB store), the queue, a
//! clock that moves when told, a provider transport that answers from a
//! script, the evidence archive and a media fetcher that answers from a
//! script. End-to-end tests use the real ones against moto server and the
//! simulator.

use crate::domain::ProviderId;
use crate::domain::task::{
    Evidence, Open, Owner, Page, Published, Reports, Stray, StreamEnd, Task, TaskStatus, end_reason,
};
use crate::ports::{
    ArchiveError, BoxFuture, Claim, Clock, EventQueue, EvidenceArchive, FetchError, Fetched, MediaFetcher, OpenFilter,
    Ownership, Progress, ProviderError, QueueError, StoreError, Stored, TaskStore,
};
use crate::providers::transport::{Answer, Transport};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamguard_wire::event::QueueEvent;
use time::OffsetDateTime;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tasks, strays and published records in maps; can be told to fail. Clones
/// share the same maps, so several services can use one store.
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<StoreState>);

impl std::ops::Deref for MemoryStore {
    type Target = StoreState;
    fn deref(&self) -> &StoreState {
        &self.0
    }
}

/// The tasks: every one by id, and each btId's current one.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    pub by_id: HashMap<String, Task>,
    pub current: HashMap<String, String>,
    /// For a claim that replaced a task: the task it replaced (to undo it).
    previous: HashMap<String, Option<String>>,
    /// Order of creation, for listings.
    order: Vec<String>,
}

impl Tasks {
    /// The btId's current task.
    pub fn current(&self, bt_id: &str) -> Option<&Task> {
        self.current.get(bt_id).and_then(|task_id| self.by_id.get(task_id))
    }

    /// The btId's current task, to change in place (tests set up states with it).
    pub fn current_mut(&mut self, bt_id: &str) -> Option<&mut Task> {
        let task_id = self.current.get(bt_id)?;
        self.by_id.get_mut(task_id)
    }

    /// No task at all.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds `task` as its btId's current task (tests set up states with it).
    pub fn put(&mut self, task: Task) {
        let previous = self.current.insert(task.bt_id.clone(), task.task_id.clone());
        self.previous.insert(task.task_id.clone(), previous);
        self.order.push(task.task_id.clone());
        self.by_id.insert(task.task_id.clone(), task);
    }
}

/// What a [`MemoryStore`] holds.
#[derive(Default)]
pub struct StoreState {
    pub tasks: Mutex<Tasks>,
    pub strays: Mutex<Vec<Stray>>,
    /// Each provider task's owner.
    pub owners: Mutex<HashMap<(ProviderId, String), Owner>>,
    pub published: Mutex<HashMap<(String, String), Published>>,
    /// Every call fails while set.
    pub down: std::sync::atomic::AtomicBool,
    /// Set to N, the Nth call from now fails (once), the calls before it
    /// succeed: a failure in the middle of an operation, such as the write
    /// that follows a queue send. 0 fails nothing.
    pub fail_call_in: AtomicU64,
    /// Writes (claims, updates, puts) made, for counting.
    pub writes: AtomicU32,
}

impl StoreState {
    fn check(&self) -> Result<(), StoreError> {
        let countdown = self
            .fail_call_in
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("memory store is down".into()))
        } else if countdown == Ok(1) {
            Err(StoreError::Unavailable("memory store failed this call".into()))
        } else {
            Ok(())
        }
    }

    fn write(&self) -> Result<(), StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// The btId's current task, as stored.
    pub fn current(&self, bt_id: &str) -> Option<Task> {
        lock(&self.tasks).current(bt_id).cloned()
    }

    /// Changes the task `task_id` if it is in one of `allowed`; the task as changed.
    fn update(&self, task_id: &str, allowed: &[TaskStatus], change: impl FnOnce(&mut Task)) -> Option<Task> {
        let mut tasks = lock(&self.tasks);
        let stored = tasks.by_id.get_mut(task_id)?;
        if !allowed.contains(&stored.status) {
            return None;
        }
        change(stored);
        Some(stored.clone())
    }
}

const OPEN: [TaskStatus; 3] = [TaskStatus::Starting, TaskStatus::Active, TaskStatus::Closed];

/// The offset a memory cursor (`memory:<n>`) holds.
fn read_offset(cursor: Option<&str>) -> Result<usize, StoreError> {
    match cursor {
        None => Ok(0),
        Some(text) => text
            .strip_prefix("memory:")
            .and_then(|offset| offset.parse::<usize>().ok())
            .ok_or_else(|| StoreError::BadCursor(format!("{text:?}"))),
    }
}

/// Strays are kept per btId, as the DynamoDB store keeps them (under the
/// btId's partition).
fn same_stray(known: &Stray, stray: &Stray) -> bool {
    known.bt_id == stray.bt_id && known.provider == stray.provider && known.provider_task_id == stray.provider_task_id
}

impl TaskStore for MemoryStore {
    async fn claim(&self, task: &Task) -> Result<Claim, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        match tasks.current(&task.bt_id) {
            Some(existing) if existing.is_stale_start(task.created_at) => Ok(Claim::Stale(existing.clone())),
            Some(existing) if existing.status.holds_bt_id() => Ok(Claim::Live(existing.clone())),
            _ => {
                tasks.put(task.clone());
                Ok(Claim::Created)
            }
        }
    }

    async fn take_over(
        &self,
        stale: &Task,
        reports: Reports,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        let still_stale = lock(&self.tasks)
            .by_id
            .get(&stale.task_id)
            .is_some_and(|task| task.is_stale_start(now));
        if !still_stale {
            return Ok(None);
        }
        Ok(self.update(&stale.task_id, &[TaskStatus::Starting], |task| {
            task.starting_expires_at = Some(expires_at);
            task.start_attempts += 1;
            task.reports_every_segment = reports.every_segment;
            task.reports_stream_end = reports.stream_end;
            task.updated_at = now;
        }))
    }

    async fn abandon(&self, task: &Task) -> Result<(), StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        let starting = tasks
            .by_id
            .get(&task.task_id)
            .is_some_and(|stored| stored.status == TaskStatus::Starting);
        if !starting || tasks.current.get(&task.bt_id) != Some(&task.task_id) {
            return Ok(());
        }
        tasks.by_id.remove(&task.task_id);
        tasks.order.retain(|id| id != &task.task_id);
        match tasks.previous.remove(&task.task_id).flatten() {
            Some(previous) => tasks.current.insert(task.bt_id.clone(), previous),
            None => tasks.current.remove(&task.bt_id),
        };
        Ok(())
    }

    async fn activate(
        &self,
        task: &Task,
        provider_task_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        Ok(self.update(&task.task_id, &[TaskStatus::Starting], |task| {
            task.status = TaskStatus::Active;
            task.request_id = Some(provider_task_id.to_owned());
            if !task.provider_task_ids.iter().any(|id| id == provider_task_id) {
                task.provider_task_ids.push(provider_task_id.to_owned());
            }
            task.adopted_duplicate = adopted;
            task.starting_expires_at = None;
            task.active_at = Some(now);
            task.updated_at = now;
        }))
    }

    async fn fail(
        &self,
        task: &Task,
        reason: &str,
        lease_ended_by: Option<OffsetDateTime>,
        now: OffsetDateTime,
        _expires_at: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        if let Some(cutoff) = lease_ended_by {
            let renewed = lock(&self.tasks)
                .by_id
                .get(&task.task_id)
                .is_some_and(|stored| stored.starting_expires_at.is_some_and(|expiry| expiry > cutoff));
            if renewed {
                return Ok(None);
            }
        }
        Ok(self.update(&task.task_id, &[TaskStatus::Starting], |task| {
            task.status = TaskStatus::Failed;
            task.failure = Some(reason.to_owned());
            task.starting_expires_at = None;
            task.updated_at = now;
        }))
    }

    async fn release(&self, task: &Task, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write()?;
        self.update(&task.task_id, &[TaskStatus::Starting], |task| {
            task.starting_expires_at = Some(now);
            task.updated_at = now;
        });
        Ok(())
    }

    async fn current(&self, bt_id: &str) -> Result<Option<Task>, StoreError> {
        self.check()?;
        Ok(StoreState::current(self, bt_id))
    }

    async fn task(&self, bt_id: &str, task_id: &str) -> Result<Option<Task>, StoreError> {
        self.check()?;
        Ok(lock(&self.tasks)
            .by_id
            .get(task_id)
            .filter(|task| task.bt_id == bt_id)
            .cloned())
    }

    async fn find_by_provider_task(&self, provider_task_id: &str) -> Result<Vec<Task>, StoreError> {
        self.check()?;
        Ok(lock(&self.tasks)
            .by_id
            .values()
            .filter(|task| task.request_id.as_deref() == Some(provider_task_id))
            .cloned()
            .collect())
    }

    async fn request_close(&self, task: &Task, reason: &str, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        self.write()?;
        Ok(self.update(&task.task_id, &[TaskStatus::Active], |task| {
            task.close_requested_at.get_or_insert(now);
            task.close_reason.get_or_insert_with(|| reason.to_owned());
            task.close_attempts += 1;
            task.close_error = None;
            task.updated_at = now;
        }))
    }

    async fn close_failed(&self, task: &Task, error: &str) -> Result<(), StoreError> {
        self.write()?;
        self.update(&task.task_id, &[TaskStatus::Active], |task| {
            task.close_error = Some(error.to_owned());
        });
        Ok(())
    }

    async fn mark_closed(&self, task: &Task, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        self.write()?;
        Ok(self.update(&task.task_id, &[TaskStatus::Active], |task| {
            task.status = TaskStatus::Closed;
            task.closed_at = Some(now);
            task.close_requested_at.get_or_insert(now);
            task.updated_at = now;
        }))
    }

    async fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
        _expires_at: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        let Some(task) = tasks.by_id.get_mut(task_id).filter(|task| task.bt_id == bt_id) else {
            return Ok(None);
        };
        let replaces_a_guess = task.status == TaskStatus::Ended
            && task.end_reason.as_deref() == Some(end_reason::END_NOT_RECEIVED)
            && end.reason != end_reason::END_NOT_RECEIVED;
        if !(OPEN.contains(&task.status) || replaces_a_guess) {
            return Ok(None);
        }
        task.status = TaskStatus::Ended;
        task.end_code = end.code;
        task.end_reason = Some(end.reason.clone());
        task.stream_time = end.stream_time;
        task.ended_at.get_or_insert(now);
        task.starting_expires_at = None;
        task.updated_at = now;
        Ok(Some(task.clone()))
    }

    async fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        provider_task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> Result<Progress, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        let Some(task) = tasks.by_id.get_mut(task_id).filter(|task| task.bt_id == bt_id) else {
            return Ok(Progress::Unchanged);
        };
        if task.is_stray(provider_task_id) {
            return Ok(Progress::Stray);
        }
        if task.segments_seen >= segment {
            return Ok(Progress::Unchanged);
        }
        task.segments_seen = segment;
        task.progress_at = Some(now);
        Ok(Progress::Recorded)
    }

    async fn note_stale(&self, task: &Task, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        let Some(stored) = tasks.by_id.get_mut(&task.task_id) else {
            return Ok(false);
        };
        // Conditional on what the caller read, as the DynamoDB store is.
        if stored.status != TaskStatus::Active || stored.stale_notified_at != task.stale_notified_at {
            return Ok(false);
        }
        stored.stale_notified_at = Some(now);
        Ok(true)
    }

    async fn record_stray(&self, stray: &Stray) -> Result<bool, StoreError> {
        self.write()?;
        let mut strays = lock(&self.strays);
        let known = strays.iter().any(|known| same_stray(known, stray));
        if !known {
            strays.push(stray.clone());
        }
        Ok(!known)
    }

    async fn stray_stop_attempted(
        &self,
        stray: &Stray,
        stopped: bool,
        now: OffsetDateTime,
        _expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write()?;
        let mut strays = lock(&self.strays);
        if let Some(known) = strays.iter_mut().find(|known| same_stray(known, stray)) {
            known.stop_attempts += 1;
            if stopped {
                known.stopped_at.get_or_insert(now);
            }
        }
        Ok(())
    }

    async fn own_provider_task(&self, owner: &Owner, _expires_at: OffsetDateTime) -> Result<Ownership, StoreError> {
        self.write()?;
        let mut owners = lock(&self.owners);
        let key = (owner.provider, owner.provider_task_id.clone());
        match owners.get(&key) {
            Some(held) if held.bt_id != owner.bt_id => Ok(Ownership::HeldBy(held.clone())),
            _ => {
                owners.insert(key, owner.clone());
                Ok(Ownership::Owned)
            }
        }
    }

    async fn provider_task_owner(
        &self,
        provider: ProviderId,
        provider_task_id: &str,
    ) -> Result<Option<Owner>, StoreError> {
        self.check()?;
        Ok(lock(&self.owners)
            .get(&(provider, provider_task_id.to_owned()))
            .cloned())
    }

    async fn open(&self, filter: OpenFilter, cursor: Option<&str>, limit: usize) -> Result<Page<Open>, StoreError> {
        self.check()?;
        let skip = read_offset(cursor)?;
        let tasks = lock(&self.tasks);
        let open_tasks = tasks
            .order
            .iter()
            .filter_map(|task_id| tasks.by_id.get(task_id))
            .filter(|task| task.status.is_open())
            .map(|task| Open::Task(Box::new(task.clone())));
        let strays = lock(&self.strays);
        let open_strays = strays
            .iter()
            .filter(|stray| stray.stopped_at.is_none())
            .map(|stray| Open::Stray(stray.clone()));
        let all: Vec<Open> = open_tasks
            .chain(open_strays)
            .filter(|item| filter.admits(item))
            .collect();
        let items: Vec<Open> = all.iter().skip(skip).take(limit).cloned().collect();
        let next = skip + items.len();
        let cursor = (next < all.len()).then(|| format!("memory:{next}"));
        Ok(Page { items, cursor })
    }

    async fn is_published(&self, bt_id: &str, event_id: &str) -> Result<bool, StoreError> {
        self.check()?;
        Ok(lock(&self.published).contains_key(&(bt_id.to_owned(), event_id.to_owned())))
    }

    async fn record_published(&self, record: &Published) -> Result<(), StoreError> {
        self.write()?;
        lock(&self.published)
            .entry((record.bt_id.clone(), record.event_id.clone()))
            .or_insert_with(|| record.clone());
        Ok(())
    }

    async fn published(&self, bt_id: &str, event_id: &str) -> Result<Option<Published>, StoreError> {
        self.check()?;
        Ok(lock(&self.published)
            .get(&(bt_id.to_owned(), event_id.to_owned()))
            .cloned())
    }

    async fn record_evidence(&self, bt_id: &str, event_id: &str, evidence: &Evidence) -> Result<bool, StoreError> {
        self.write()?;
        let mut published = lock(&self.published);
        let Some(record) = published.get_mut(&(bt_id.to_owned(), event_id.to_owned())) else {
            return Ok(false);
        };
        if record.evidence.is_some() {
            return Ok(false);
        }
        record.evidence = Some(evidence.clone());
        Ok(true)
    }

    async fn published_events(
        &self,
        bt_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Published>, StoreError> {
        self.check()?;
        let skip = read_offset(cursor)?;
        let mut events: Vec<Published> = lock(&self.published)
            .values()
            .filter(|record| record.bt_id == bt_id)
            .cloned()
            .collect();
        // Newest first, as the index orders them (by the time, then the id).
        events.sort_by(|a, b| (b.at, &b.event_id).cmp(&(a.at, &a.event_id)));
        let items: Vec<Published> = events.iter().skip(skip).take(limit).cloned().collect();
        let next = skip + items.len();
        let cursor = (next < events.len()).then(|| format!("memory:{next}"));
        Ok(Page { items, cursor })
    }

    async fn count_published(&self, bt_id: &str, event_prefix: &str, risk_level: &str) -> Result<u64, StoreError> {
        self.check()?;
        let published = lock(&self.published);
        let matching = published.values().filter(|record| {
            record.bt_id == bt_id
                && record.event_id.starts_with(event_prefix)
                && record.risk_level.as_deref() == Some(risk_level)
        });
        Ok(matching.count() as u64)
    }
}

/// Events in a list; can be told to fail. Clones share the list. With a
/// deduplication window ([`MemoryQueue::fifo`]) it drops a resend of an
/// event id within the window, as SQS FIFO does.
#[derive(Clone, Default)]
pub struct MemoryQueue(Arc<QueueState>);

impl std::ops::Deref for MemoryQueue {
    type Target = QueueState;
    fn deref(&self) -> &QueueState {
        &self.0
    }
}

/// What a [`MemoryQueue`] holds.
#[derive(Default)]
pub struct QueueState {
    /// What consumers receive.
    pub events: Mutex<Vec<QueueEvent>>,
    pub down: std::sync::atomic::AtomicBool,
    /// The deduplication window and the clock it is read on.
    window: Option<(Duration, ManualClock)>,
    /// When each event id was last accepted.
    accepted: Mutex<HashMap<String, OffsetDateTime>>,
}

impl MemoryQueue {
    /// A FIFO queue: a resend of an event id within `window` (on `clock`) is
    /// accepted and dropped, as SQS does within its 5 minutes.
    pub fn fifo(window: Duration, clock: ManualClock) -> Self {
        MemoryQueue(Arc::new(QueueState {
            window: Some((window, clock)),
            ..QueueState::default()
        }))
    }
}

impl EventQueue for MemoryQueue {
    async fn publish(&self, event: &QueueEvent) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError("memory queue is down".into()));
        }
        if let Some((window, clock)) = &self.window {
            let now = clock.now();
            let mut accepted = lock(&self.accepted);
            if accepted.get(&event.event_id).is_some_and(|at| now - *at < *window) {
                return Ok(());
            }
            accepted.insert(event.event_id.clone(), now);
        }
        lock(&self.events).push(event.clone());
        Ok(())
    }
}

/// One call a provider module made.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub url: String,
    pub body: serde_json::Value,
    pub timeout: Duration,
}

/// A provider transport answering from a script, in order; records every call.
#[derive(Default)]
pub struct ScriptedTransport {
    answers: Mutex<VecDeque<Result<Answer, ProviderError>>>,
    sent: Mutex<Vec<Sent>>,
}

impl ScriptedTransport {
    /// The next call gets HTTP 200 with this JSON.
    pub fn answer(&self, json: serde_json::Value) {
        lock(&self.answers).push_back(Ok(Answer {
            status: 200,
            body: json.to_string().into(),
        }));
    }

    /// The next call fails so.
    pub fn fail(&self, error: ProviderError) {
        lock(&self.answers).push_back(Err(error));
    }

    /// Every call so far.
    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.sent).clone()
    }
}

impl Transport for ScriptedTransport {
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Answer, ProviderError>> {
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        lock(&self.sent).push(Sent { url, body, timeout });
        let answer = lock(&self.answers)
            .pop_front()
            .unwrap_or_else(|| Err(ProviderError::Unreachable("no scripted answer".into())));
        Box::pin(async move { answer })
    }
}

/// A clock that moves only when told. Clones share the time.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn at(now: OffsetDateTime) -> Self {
        ManualClock(Arc::new(Mutex::new(now)))
    }

    pub fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }

    pub fn set(&self, now: OffsetDateTime) {
        *lock(&self.0) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.0)
    }
}

/// An evidence archive in a map: write-once objects, as the S3 archive
/// keeps them; can be told to fail. Clones share the map.
#[derive(Clone, Default)]
pub struct MemoryArchive(Arc<ArchiveState>);

impl std::ops::Deref for MemoryArchive {
    type Target = ArchiveState;
    fn deref(&self) -> &ArchiveState {
        &self.0
    }
}

/// What a [`MemoryArchive`] holds.
#[derive(Default)]
pub struct ArchiveState {
    /// Each key's object: its bytes and content type.
    pub objects: Mutex<std::collections::BTreeMap<String, (Vec<u8>, String)>>,
    /// Writes that found an object already there.
    pub repeated_writes: AtomicU32,
    /// Every call fails while set.
    pub down: std::sync::atomic::AtomicBool,
}

impl EvidenceArchive for MemoryArchive {
    async fn put_new(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<Stored, ArchiveError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ArchiveError("memory archive is down".into()));
        }
        let mut objects = lock(&self.objects);
        if objects.contains_key(key) {
            self.repeated_writes.fetch_add(1, Ordering::SeqCst);
            return Ok(Stored::AlreadyThere);
        }
        objects.insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(Stored::Written)
    }

    async fn stored_size(&self, key: &str) -> Result<Option<u64>, ArchiveError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ArchiveError("memory archive is down".into()));
        }
        Ok(lock(&self.objects).get(key).map(|(bytes, _)| bytes.len() as u64))
    }

    async fn link(&self, key: &str, valid_for: Duration) -> Result<String, ArchiveError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ArchiveError("memory archive is down".into()));
        }
        Ok(format!("memory:///{key}?valid={}", valid_for.as_secs()))
    }
}

/// Media answered from a script by URL; records every fetch.
#[derive(Default)]
pub struct ScriptedFetcher {
    /// Each URL's answers, in order; the last one repeats.
    answers: Mutex<HashMap<String, VecDeque<Result<Fetched, FetchError>>>>,
    fetched: Mutex<Vec<String>>,
}

impl ScriptedFetcher {
    /// The next fetches of `url` answer so (the last answer repeats).
    pub fn answer(&self, url: &str, answer: Result<Fetched, FetchError>) {
        lock(&self.answers).entry(url.to_owned()).or_default().push_back(answer);
    }

    /// Every URL fetched, in order.
    pub fn fetched(&self) -> Vec<String> {
        lock(&self.fetched).clone()
    }
}

impl MediaFetcher for ScriptedFetcher {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        _limit: usize,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(async move {
            lock(&self.fetched).push(url.to_owned());
            let mut answers = lock(&self.answers);
            let Some(queue) = answers.get_mut(url) else {
                return Err(FetchError::Permanent(format!("HTTP 404 Not Found: {url}")));
            };
            if queue.len() > 1 {
                queue.pop_front().expect("not empty")
            } else {
                queue.front().cloned().expect("not empty")
            }
        })
    }
}

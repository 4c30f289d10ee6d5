//! In-memory adapters for unit tests of the domain: the task store (which
//! passes the same conformance suite as the DynamoDB store), the queue, a
//! clock that moves when told, and a provider transport that answers from a
//! script. End-to-end tests use the real ones against moto server and the
//! simulator.

use crate::domain::task::{Published, StreamEnd, Task, TaskStatus};
use crate::ports::{BoxFuture, Claim, Clock, EventQueue, ProviderError, QueueError, StoreError, TaskStore};
use crate::providers::transport::{Answer, Transport};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamguard_wire::event::QueueEvent;
use time::OffsetDateTime;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tasks and published records in maps; can be told to fail. Clones share
/// the same maps, so several services can use one store.
#[derive(Clone, Default)]
pub struct MemoryStore(Arc<StoreState>);

impl std::ops::Deref for MemoryStore {
    type Target = StoreState;
    fn deref(&self) -> &StoreState {
        &self.0
    }
}

/// What a [`MemoryStore`] holds.
#[derive(Default)]
pub struct StoreState {
    pub tasks: Mutex<HashMap<String, Task>>,
    pub published: Mutex<HashMap<(String, String), Published>>,
    /// Every call fails while set.
    pub down: std::sync::atomic::AtomicBool,
    /// Writes (claims, updates, puts) made, for counting.
    pub writes: AtomicU32,
}

impl StoreState {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError("memory store is down".into()))
        } else {
            Ok(())
        }
    }

    fn write(&self) -> Result<(), StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn update(&self, task: &Task, allowed: &[TaskStatus], change: impl FnOnce(&mut Task)) -> Option<Task> {
        let mut tasks = lock(&self.tasks);
        let current = tasks.get_mut(&task.bt_id)?;
        if current.task_id != task.task_id || !allowed.contains(&current.status) {
            return None;
        }
        change(current);
        Some(current.clone())
    }
}

impl TaskStore for MemoryStore {
    async fn claim(&self, task: &Task) -> Result<Claim, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        match tasks.get(&task.bt_id) {
            Some(existing) if !existing.status.is_over() => {
                if existing.is_stale_start(task.created_at) {
                    Ok(Claim::Stale(existing.clone()))
                } else {
                    Ok(Claim::Live(existing.clone()))
                }
            }
            _ => {
                tasks.insert(task.bt_id.clone(), task.clone());
                Ok(Claim::Created)
            }
        }
    }

    async fn take_over(
        &self,
        stale: &Task,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        let still_stale = lock(&self.tasks)
            .get(&stale.bt_id)
            .is_some_and(|task| task.is_stale_start(now));
        if !still_stale {
            return Ok(None);
        }
        Ok(self.update(stale, &[TaskStatus::Starting], |task| {
            task.starting_expires_at = Some(expires_at);
            task.start_attempts += 1;
            task.updated_at = now;
        }))
    }

    async fn activate(
        &self,
        task: &Task,
        request_id: &str,
        adopted: bool,
        now: OffsetDateTime,
    ) -> Result<Option<Task>, StoreError> {
        self.write()?;
        Ok(self.update(task, &[TaskStatus::Starting], |task| {
            task.status = TaskStatus::Active;
            task.request_id = Some(request_id.to_owned());
            task.adopted_duplicate = adopted;
            task.starting_expires_at = None;
            task.active_at = Some(now);
            task.updated_at = now;
        }))
    }

    async fn fail(&self, task: &Task, reason: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write()?;
        self.update(task, &[TaskStatus::Starting], |task| {
            task.status = TaskStatus::Failed;
            task.failure = Some(reason.to_owned());
            task.starting_expires_at = None;
            task.updated_at = now;
        });
        Ok(())
    }

    async fn release(&self, task: &Task, now: OffsetDateTime) -> Result<(), StoreError> {
        self.write()?;
        self.update(task, &[TaskStatus::Starting], |task| {
            task.starting_expires_at = Some(now);
            task.updated_at = now;
        });
        Ok(())
    }

    async fn get(&self, bt_id: &str) -> Result<Option<Task>, StoreError> {
        self.check()?;
        Ok(lock(&self.tasks).get(bt_id).cloned())
    }

    async fn find_by_request_id(&self, request_id: &str) -> Result<Option<Task>, StoreError> {
        self.check()?;
        Ok(lock(&self.tasks)
            .values()
            .find(|task| task.request_id.as_deref() == Some(request_id))
            .cloned())
    }

    async fn mark_closing(&self, task: &Task, now: OffsetDateTime) -> Result<Option<Task>, StoreError> {
        self.write()?;
        Ok(self.update(task, &[TaskStatus::Active, TaskStatus::Closing], |task| {
            task.status = TaskStatus::Closing;
            task.closing_at.get_or_insert(now);
            task.updated_at = now;
        }))
    }

    async fn mark_ended(
        &self,
        bt_id: &str,
        task_id: &str,
        end: &StreamEnd,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.write()?;
        let mut tasks = lock(&self.tasks);
        let Some(task) = tasks.get_mut(bt_id).filter(|task| task.task_id == task_id) else {
            return Ok(false);
        };
        task.status = TaskStatus::Ended;
        task.end_code = end.code;
        task.end_reason = Some(end.reason.clone());
        task.stream_time = end.stream_time;
        task.ended_at.get_or_insert(now);
        task.updated_at = now;
        Ok(true)
    }

    async fn record_progress(
        &self,
        bt_id: &str,
        task_id: &str,
        segment: u64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write()?;
        if let Some(task) = lock(&self.tasks)
            .get_mut(bt_id)
            .filter(|task| task.task_id == task_id && task.segments_seen < segment)
        {
            task.segments_seen = segment;
            task.progress_at = Some(now);
        }
        Ok(())
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

/// Events in a list; can be told to fail. Clones share the list.
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
    pub events: Mutex<Vec<QueueEvent>>,
    pub down: std::sync::atomic::AtomicBool,
}

impl EventQueue for MemoryQueue {
    async fn publish(&self, event: &QueueEvent) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError("memory queue is down".into()));
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
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *lock(&self.0)
    }
}

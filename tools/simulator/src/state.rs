//! Everything the simulator remembers, behind one lock, with a change signal
//! so that waiters (tests, the control endpoint) wake on the change itself
//! instead of polling.

use crate::clock::{Clock, wall_clock_ms};
use crate::config::Config;
use crate::faults::Faults;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Which API a task was started through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Deepcleer,
    Zego,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Pulling or retrying the pull.
    Running,
    Ended,
}

/// Why a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EndCause {
    /// The close (stop) API was called.
    Closed,
    /// The source ended or the scenario's duration passed.
    Natural,
    /// The pull failed (the end code says how).
    PullFailed,
}

/// One moderation task.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// DeepCleer requestId or Zego TaskId.
    pub request_id: String,
    pub provider: Provider,
    /// DeepCleer btId, or Zego RoomId.
    pub bt_id: String,
    /// What identifies the stream for duplicate detection (url or RTC room/stream).
    pub source: String,
    pub status: TaskStatus,
    pub end_cause: Option<EndCause>,
    pub end_code: Option<i64>,
    /// Segments produced (10 s each, simulated).
    pub segments: u64,
    /// Pull attempts made (NORMAL http streams).
    pub pull_attempts: u32,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// The scenario withheld its stream end.
    pub end_withheld: bool,
    /// Started through `POST /_sim/tasks/{requestId}/stray`: a copy of that task.
    pub stray_of: Option<String>,
    #[serde(skip)]
    pub cancel: CancellationToken,
}

/// One callback delivery and every attempt at it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub provider: Provider,
    pub request_id: String,
    pub bt_id: String,
    /// `segment` or `streamEnd`.
    pub kind: &'static str,
    /// The segment id (`<requestId>_<n>`, Zego `ResultTaskId`) or `<requestId>:end`.
    pub callback_id: String,
    /// Scheme, host and path the callback went to (the query, which carries tokens, is left out).
    pub target: String,
    pub body: serde_json::Value,
    pub attempts: Vec<Attempt>,
    /// 1-based attempt that was acknowledged.
    pub acknowledged_on: Option<u32>,
    /// All retries used up without an acknowledgement.
    pub gave_up: bool,
}

/// One POST of a callback.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub at_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// How long the receiver took to answer (real milliseconds).
    pub latency_ms: f64,
}

/// One API request the simulator answered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub at_ms: i64,
    /// `start`, `close`, `closeVideo`, `zegoStart`, `zegoStop`.
    pub api: &'static str,
    /// The provider code answered (DeepCleer `code` or Zego `Code`); `None` when no answer was sent.
    pub code: Option<i64>,
    /// The task concerned, when there is one.
    pub request_id: Option<String>,
    pub bt_id: Option<String>,
    /// Set by faults: `stalled`, `dropped`, `fault`.
    pub fault: Option<&'static str>,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub tasks: HashMap<String, Task>,
    /// Order of task creation, for listings.
    pub task_order: Vec<String>,
    pub deliveries: Vec<Delivery>,
    pub requests: Vec<RequestRecord>,
    pub scenario: Scenario,
    pub faults: Faults,
    /// Video tasks that the video close API knows (registered through the control endpoint).
    pub video_tasks: HashMap<String, bool>,
    /// (second, count) of the QPS window.
    pub qps_window: (i64, u32),
    /// `http://host:port` the simulator is reachable at.
    pub base_url: String,
    /// What each task runs, to start a stray copy of it.
    pub specs: HashMap<String, crate::stream::StreamSpec>,
}

impl Inner {
    pub fn running_streams(&self) -> usize {
        self.tasks
            .values()
            .filter(|task| task.status == TaskStatus::Running)
            .count()
    }

    /// The running task pulling `source`, if any (duplicate detection).
    pub fn running_with_source(&self, source: &str) -> Option<&Task> {
        self.tasks
            .values()
            .find(|task| task.status == TaskStatus::Running && task.source == source)
    }
}

/// Shared by handlers and stream runners.
pub struct State {
    pub config: Config,
    pub clock: Clock,
    pub http: reqwest::Client,
    inner: Mutex<Inner>,
    changed: Notify,
    /// Signalled when connections must start being refused.
    pub refuse_signal: Notify,
}

pub type SharedState = Arc<State>;

impl State {
    pub fn new(config: Config) -> SharedState {
        let http = reqwest::Client::builder()
            .timeout(config.callback_timeout)
            .build()
            .expect("an HTTP client");
        let inner = Inner {
            scenario: config.scenario.clone(),
            ..Inner::default()
        };
        Arc::new(State {
            clock: Clock::new(config.time_scale),
            config,
            http,
            inner: Mutex::new(inner),
            changed: Notify::new(),
            refuse_signal: Notify::new(),
        })
    }

    /// Reads without signalling a change.
    pub fn read(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes state and wakes every waiter.
    pub fn update<R>(&self, change: impl FnOnce(&mut Inner) -> R) -> R {
        let result = change(&mut self.read());
        self.changed.notify_waiters();
        result
    }

    /// Waits until `condition` holds or `timeout` passes; returns whether it holds.
    pub async fn wait_until(&self, timeout: Duration, condition: impl Fn(&Inner) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if condition(&self.read()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return condition(&self.read());
            }
        }
    }

    /// Records an answered API request.
    pub fn record_request(&self, record: RequestRecord) {
        self.update(|inner| inner.requests.push(record));
    }

    /// A request record stamped now.
    pub fn request(&self, api: &'static str) -> RequestRecord {
        RequestRecord {
            at_ms: wall_clock_ms(),
            api,
            code: None,
            request_id: None,
            bt_id: None,
            fault: None,
        }
    }
}

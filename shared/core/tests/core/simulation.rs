//! A deterministic simulation of the domain: thousands of seeded random
//! schedules of starts, closes, provider callbacks, watchdog runs, clock
//! jumps and faults, run over the in-memory ports and a simulated DeepCleer
//! that the real DeepCleer provider module talks to through [`Transport`].
//! A schedule is a pure function of its seed: `SIM_SEED=<seed>` replays one
//! and prints its step log, `SIM_SCHEDULES=<n>` sets how many run (seeds
//! `0..n`). A violation panics with the seed and the step log.
//!
//! The simulated provider keeps a table of its tasks (id, stream URL,
//! callback URL, running or stopped), answers a start on a stream it already
//! pulls with DeepCleer's duplicate answer (naming the running task in
//! `dupRequestId`), and queues the callbacks its tasks send: segments, the stream end after a
//! stop or when the stream dies, and those of stray copies of its tasks. The
//! schedule delivers them out of order, again after they were acknowledged,
//! and late; a callback answered with a 5xx stays pending and is delivered
//! again later. Faults: the store down, the store failing one call in the
//! middle of an operation (`MemoryStore::fail_call_in`), the queue down, the
//! provider's answers lost after it acted (`ProviderError::Timeout`), the
//! provider unreachable, or each call at random one of those.
//!
//! How each invariant is checked, after every step unless said otherwise:
//!
//! - An acknowledged REJECT reaches consumers: every callback the handler
//!   answers `Ok` is acknowledged, and the event id of each acknowledged
//!   REJECT must be among the events the queue delivered (`queue.events`).
//! - ... at most once: the queue's delivered events are tallied by id as they
//!   arrive. A second copy is the documented residual only when the id was
//!   found sent but unrecorded (delivered by the queue, with no published
//!   record in the store) at the end of an earlier step, which only a store
//!   failure after the send leaves, and the copy came at least the queue's
//!   deduplication window after the one before it (by the events'
//!   `receivedAt`, the handler's clock at the send). Such copies are counted
//!   as residual duplicates; any other copy is a violation.
//! - No status moves backwards: every stored task's `TaskStatus::rank()` is
//!   compared with the rank last seen for its id; a task may vanish only while
//!   STARTING (a claim undone) and never come back. At most one task of a
//!   btId holds the btId, and that one is the btId's current task.
//! - No btId acts on another's live task: on every stop it receives, the
//!   simulated provider looks at the store; a stop of a provider task that is
//!   the current `request_id` of an ACTIVE task with no close requested (the
//!   closer and the watchdog record the request before they stop) is a
//!   violation, whichever btId or finding sent it; so is a stop of a provider
//!   task it never started.
//! - No callback is refused for good: an authenticated, well-formed callback
//!   answered with a 4xx is a violation (the provider would drop it), and a
//!   REJECT is never merely counted.
//! - Reconciliation, at the end of each schedule: every fault is turned off;
//!   every pending callback must then be acknowledged; in rounds, every
//!   running provider task calls back once (so strays make themselves known),
//!   the clock moves past every threshold of the watchdog and the start
//!   lease, and the watchdog runs, with no failed finding. Then every btId
//!   has at most one running provider task (counted by the btId the token in
//!   its callback URL names), strays the watchdog gave up stopping aside
//!   (their stop kept failing for the retry period: the documented residual,
//!   counted); for every btId a close (when its task holds the
//!   btId) succeeds and a start then gives an ACTIVE task whose provider task
//!   runs, or the provider's own refusal, or STREAM_HELD naming a btId one of
//!   whose tasks holds the provider task running on that stream, that task
//!   being ACTIVE, or closed by the watchdog with its stop unconfirmed (the
//!   documented residual: counted). The rounds run again after those starts
//!   and the per-btId count is checked again.

use crate::world::{ACCESS_KEY, BASE, key, keys};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use streamguard_core::config::Env;
use streamguard_core::domain::callback::Outcome;
use streamguard_core::domain::policy::{CallbackPolicy, ClosePolicy, StartPolicy, WatchdogPolicy};
use streamguard_core::domain::start::{CallbackUrls, Started};
use streamguard_core::domain::{CallbackHandler, CallbackKey, Closer, Error, Starter, TaskRef, TaskStatus, Watchdog};
use streamguard_core::functions::Function;
use streamguard_core::http::errors;
use streamguard_core::init::Secrets;
use streamguard_core::memory::{ManualClock, MemoryQueue, MemoryStore};
use streamguard_core::ports::{BoxFuture, Clock, ProviderError};
use streamguard_core::providers;
use streamguard_core::providers::transport::{Answer, Transport};
use streamguard_wire::deepcleer::{
    CLOSE_AUDIO_PATH, DetailCode, ResponseCode, SEGMENT_LENGTH, START_PATH, StreamEndCode,
};
use time::OffsetDateTime;

/// Schedules run when `SIM_SCHEDULES` does not say.
const DEFAULT_SCHEDULES: u64 = 1500;
/// btIds per schedule.
const BT_IDS: (u64, u64) = (2, 4);
/// Random steps per schedule, before reconciliation.
const STEPS: (u64, u64) = (50, 200);
/// SQS FIFO's deduplication window.
const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Watchdog rounds in each half of a reconciliation.
const SETTLE_ROUNDS: usize = 3;
/// The simulated DeepCleer's base URL.
const DEEPCLEER: &str = "https://deepcleer.test";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SplitMix64: a few lines, well distributed, and the same sequence on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    const MIX_1: u64 = 0xBF58_476D_1CE4_E5B9;
    const MIX_2: u64 = 0x94D0_49BB_1331_11EB;

    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(Self::GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(Self::MIX_1);
        z = (z ^ (z >> 27)).wrapping_mul(Self::MIX_2);
        z ^ (z >> 31)
    }

    /// In `0..n`; the modulo bias is negligible for the small `n` used here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// In `low..=high`.
    fn between(&mut self, (low, high): (u64, u64)) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn percent(&mut self, chance: u64) -> bool {
        self.next() % 100 < chance
    }

    /// A choice weighted by the second member of each pair.
    fn weighted<T: Copy>(&mut self, table: &[(T, u64)]) -> T {
        let total: u64 = table.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.next() % total;
        for (item, weight) in table {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total")
    }
}

/// Short stable names for streamguard's task ids (random UUIDs), so a step
/// log reads the same on every replay. Shared by the provider and the schedule.
#[derive(Default)]
struct Labels {
    by_task: HashMap<String, String>,
}

impl Labels {
    fn of(&mut self, task_id: &str) -> String {
        let next = self.by_task.len() + 1;
        self.by_task
            .entry(task_id.to_owned())
            .or_insert_with(|| format!("T{next}"))
            .clone()
    }
}

/// How the simulated provider treats calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProviderMode {
    Healthy,
    /// Acts on every call, but the answer never reaches the caller.
    LosesAnswers,
    /// No call reaches it.
    Unreachable,
    /// Each call at random: answered, acted on with the answer lost, or not reached.
    Flaky,
}

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Answered,
    Lost,
    NotReached,
}

/// A task at the simulated provider.
#[derive(Debug, Clone)]
struct ProviderTask {
    id: String,
    stream: String,
    callback_url: String,
    /// What the token in the callback URL names.
    owner: TaskRef,
    running: bool,
    all_text: bool,
    finish_info: bool,
    segments: u64,
}

/// Where a callback is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Never delivered.
    Waiting,
    /// Answered with a 5xx: the provider retries it.
    Retrying,
    Acknowledged,
}

/// A callback the provider sends, until it is acknowledged (and again after).
#[derive(Debug, Clone)]
struct Callback {
    /// For the log: `p3_7 REJECT`, `p3 end`.
    what: String,
    callback_url: String,
    body: String,
    /// The event id of a REJECT segment.
    reject: Option<String>,
    state: Delivery,
}

struct ProviderState {
    mode: ProviderMode,
    /// Decides the fate of each call while [`ProviderMode::Flaky`].
    flaky: Rng,
    tasks: Vec<ProviderTask>,
    outbox: Vec<Callback>,
    ids_given: u64,
    /// What it did, for the step log.
    log: Vec<String>,
    violations: Vec<String>,
}

/// DeepCleer's audio-stream API, simulated behind the transport the real
/// provider module posts through.
struct SimDeepCleer {
    state: Mutex<ProviderState>,
    /// Read (never through the port, so never failing) to judge each stop.
    store: MemoryStore,
    key: CallbackKey,
    labels: Arc<Mutex<Labels>>,
}

impl SimDeepCleer {
    fn new(store: MemoryStore, key: CallbackKey, labels: Arc<Mutex<Labels>>, flaky: Rng) -> Self {
        SimDeepCleer {
            state: Mutex::new(ProviderState {
                mode: ProviderMode::Healthy,
                flaky,
                tasks: Vec::new(),
                outbox: Vec::new(),
                ids_given: 0,
                log: Vec::new(),
                violations: Vec::new(),
            }),
            store,
            key,
            labels,
        }
    }

    fn state(&self) -> MutexGuard<'_, ProviderState> {
        lock(&self.state)
    }

    fn call(&self, url: &str, body: &[u8]) -> Result<Answer, ProviderError> {
        let mut state = self.state();
        let fate = match state.mode {
            ProviderMode::Healthy => Fate::Answered,
            ProviderMode::LosesAnswers => Fate::Lost,
            ProviderMode::Unreachable => Fate::NotReached,
            ProviderMode::Flaky => match state.flaky.below(4) {
                0 | 1 => Fate::Answered,
                2 => Fate::Lost,
                _ => Fate::NotReached,
            },
        };
        let path = url.strip_prefix(DEEPCLEER).unwrap_or(url);
        if fate == Fate::NotReached {
            state.log.push(format!("provider: {path} not reached"));
            return Err(ProviderError::Unreachable("simulated: connection refused".into()));
        }
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let reply = if request["accessKey"] != ACCESS_KEY {
            state
                .violations
                .push(format!("{path} called without the configured accessKey: {request}"));
            reply(ResponseCode::Unauthorized, "Invalid accessKey", state.fresh_id())
        } else if path == START_PATH {
            self.start(&mut state, &request)
        } else if path == CLOSE_AUDIO_PATH {
            self.stop(&mut state, &request)
        } else {
            state.violations.push(format!("a call to an unknown URL: {url}"));
            reply(ResponseCode::InvalidParameters, "Invalid parameters", state.fresh_id())
        };
        if fate == Fate::Lost {
            state.log.push(format!("provider: the answer to {path} is lost"));
            return Err(ProviderError::Timeout);
        }
        Ok(Answer {
            status: 200,
            body: reply.to_string().into(),
        })
    }

    /// `/audiostream/v4`: a new task, or the duplicate answer when a running
    /// task already pulls the stream.
    fn start(&self, state: &mut ProviderState, request: &Value) -> Value {
        let stream = request["data"]["url"].as_str().unwrap_or_default().to_owned();
        let callback_url = request["callback"].as_str().unwrap_or_default().to_owned();
        let token = callback_url.rsplit_once("/callbacks/").map_or("", |(_, token)| token);
        // Who the token names; whether it is still valid is the callback's concern.
        let Ok(owner) = self.key.verify(token, time::OffsetDateTime::UNIX_EPOCH) else {
            state.violations.push(format!(
                "a start carries a callback URL without a valid token: {callback_url:?}"
            ));
            return reply(
                ResponseCode::InvalidParameters,
                "Invalid parameters: callback",
                state.fresh_id(),
            );
        };
        let label = lock(&self.labels).of(&owner.task_id);
        let fresh = state.fresh_id();
        if let Some(running) = state.tasks.iter().find(|task| task.running && task.stream == stream) {
            let running = running.id.clone();
            state.log.push(format!(
                "provider: start for {} {label} on {stream}: duplicate of {running}",
                owner.bt_id
            ));
            let mut duplicate = reply(ResponseCode::Success, "Success", fresh);
            duplicate["detail"] = json!({"errorCode": DetailCode::DuplicateStream.code(), "dupRequestId": running});
            return duplicate;
        }
        state.log.push(format!(
            "provider: start for {} {label} on {stream}: {fresh} runs",
            owner.bt_id
        ));
        state.tasks.push(ProviderTask {
            id: fresh.clone(),
            stream,
            callback_url,
            owner,
            running: true,
            all_text: request["data"]["returnAllText"] == 1,
            finish_info: request["data"]["returnFinishInfo"] == 1,
            segments: 0,
        });
        reply(ResponseCode::Success, "Success", fresh)
    }

    /// `/finish_audiostream/v4`: stops a task it knows (again, harmlessly);
    /// refuses an id it never gave.
    fn stop(&self, state: &mut ProviderState, request: &Value) -> Value {
        let id = request["requestId"].as_str().unwrap_or_default().to_owned();
        let live: Vec<String> = {
            let tasks = lock(&self.store.tasks);
            let mut labels = lock(&self.labels);
            tasks
                .by_id
                .values()
                .filter(|task| {
                    task.status == TaskStatus::Active
                        && task.request_id.as_deref() == Some(id.as_str())
                        && task.close_requested_at.is_none()
                })
                .map(|task| format!("{} {}", task.bt_id, labels.of(&task.task_id)))
                .collect()
        };
        if !live.is_empty() {
            state.violations.push(format!(
                "{id} was stopped while it is the live provider task of ACTIVE {} with no close requested",
                live.join(", ")
            ));
        }
        let fresh = state.fresh_id();
        let Some(index) = state.tasks.iter().position(|task| task.id == id) else {
            state
                .violations
                .push(format!("a stop of {id:?}, which the provider never started"));
            return reply(ResponseCode::InvalidParameters, "Invalid parameters: requestId", fresh);
        };
        if state.tasks[index].running {
            state.log.push(format!("provider: {id} stopped"));
            state.end(index, None);
        } else {
            state.log.push(format!("provider: {id} stopped (it was not running)"));
        }
        reply(ResponseCode::Success, "Success", fresh)
    }
}

/// DeepCleer's synchronous answer: its code, a message, the call's own requestId.
fn reply(code: ResponseCode, message: &str, request_id: String) -> Value {
    json!({"code": code.code(), "message": message, "requestId": request_id})
}

impl Transport for SimDeepCleer {
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Vec<u8>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<Answer, ProviderError>> {
        let answer = self.call(&url, &body);
        Box::pin(async move { answer })
    }
}

impl ProviderState {
    fn fresh_id(&mut self) -> String {
        self.ids_given += 1;
        format!("p{}", self.ids_given)
    }

    fn running(&self) -> Vec<usize> {
        (0..self.tasks.len())
            .filter(|index| self.tasks[*index].running)
            .collect()
    }

    fn pending(&self) -> Vec<usize> {
        (0..self.outbox.len())
            .filter(|index| self.outbox[*index].state != Delivery::Acknowledged)
            .collect()
    }

    fn acknowledged(&self) -> Vec<usize> {
        (0..self.outbox.len())
            .filter(|index| self.outbox[*index].state == Delivery::Acknowledged)
            .collect()
    }

    /// The running task pulling `stream`, as its duplicate answer names it.
    fn running_on(&self, stream: &str) -> Option<&ProviderTask> {
        self.tasks.iter().find(|task| task.running && task.stream == stream)
    }

    fn is_running(&self, id: &str) -> bool {
        self.tasks.iter().any(|task| task.running && task.id == id)
    }

    /// The task sends its next segment's result, as DeepCleer's callback.
    fn segment(&mut self, index: usize, level: &str) -> String {
        let task = &mut self.tasks[index];
        task.segments += 1;
        let segment_id = format!("{}_{}", task.id, task.segments);
        let body = json!({"requestId": segment_id, "btId": task.owner.bt_id,
                          "code": ResponseCode::Success.code(), "statCode": 0,
                          "requestParams": {"accessKey": ACCESS_KEY},
                          "audioDetail": {"riskLevel": level, "audioText": "words", "riskLabel1": "abuse"}});
        let reject = (level == "REJECT").then(|| format!("deepcleer:{segment_id}"));
        let what = format!("{segment_id} {level}");
        self.outbox.push(Callback {
            what: what.clone(),
            callback_url: task.callback_url.clone(),
            body: body.to_string(),
            reject,
            state: Delivery::Waiting,
        });
        what
    }

    /// The task stops (stopped, or its stream ended with `code`), and sends
    /// its end when it was asked to.
    fn end(&mut self, index: usize, code: Option<i64>) {
        let task = &mut self.tasks[index];
        task.running = false;
        if !task.finish_info {
            return;
        }
        let mut aux = json!({"streamTime": task.segments * SEGMENT_LENGTH.as_secs()});
        if let Some(code) = code {
            aux["errorCode"] = json!(code);
        }
        let body = json!({"requestId": task.id, "btId": task.owner.bt_id, "code": ResponseCode::Success.code(),
                          "statCode": 1, "auxInfo": aux});
        self.outbox.push(Callback {
            what: format!("{} end", task.id),
            callback_url: task.callback_url.clone(),
            body: body.to_string(),
            reject: None,
            state: Delivery::Waiting,
        });
    }

    /// A second run of a task under a new id: the same stream and callback
    /// URL, no duplicate check (a provider's double run, or an old task
    /// brought back): a stray.
    fn copy(&mut self, index: usize) -> String {
        let id = self.fresh_id();
        let mut copy = self.tasks[index].clone();
        copy.id = id.clone();
        copy.running = true;
        copy.segments = 0;
        self.tasks.push(copy);
        id
    }
}

/// What the schedule does next.
#[derive(Debug, Clone, Copy)]
enum Action {
    Start,
    Close,
    /// A running provider task sends a segment.
    Speak,
    /// A running provider task's stream ends by itself.
    StreamDies,
    /// The provider runs a task a second time.
    StrayCopy,
    /// A pending callback, chosen at random (out of order, late).
    Deliver,
    /// An acknowledged callback, again.
    Redeliver,
    Watchdog,
    ClockJump,
    Fault,
}

const ACTIONS: [(Action, u64); 10] = [
    (Action::Start, 14),
    (Action::Close, 8),
    (Action::Speak, 16),
    (Action::StreamDies, 3),
    (Action::StrayCopy, 2),
    (Action::Deliver, 25),
    (Action::Redeliver, 6),
    (Action::Watchdog, 8),
    (Action::ClockJump, 10),
    (Action::Fault, 8),
];

/// Figures for the summary line.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    schedules: u64,
    steps: u64,
    checks: u64,
    rejects_acknowledged: u64,
    residual_duplicates: u64,
    faults: u64,
    callbacks_delivered: u64,
    tasks_created: u64,
    strays_stopped: u64,
    closes_given_up: u64,
    held_by_unconfirmed_close: u64,
    /// Strays still running after reconciliation, the watchdog having given up stopping them.
    strays_given_up: u64,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.schedules += other.schedules;
        self.steps += other.steps;
        self.checks += other.checks;
        self.rejects_acknowledged += other.rejects_acknowledged;
        self.residual_duplicates += other.residual_duplicates;
        self.faults += other.faults;
        self.callbacks_delivered += other.callbacks_delivered;
        self.tasks_created += other.tasks_created;
        self.strays_stopped += other.strays_stopped;
        self.closes_given_up += other.closes_given_up;
        self.held_by_unconfirmed_close += other.held_by_unconfirmed_close;
        self.strays_given_up += other.strays_given_up;
    }
}

/// One schedule: the services over memory ports, the simulated provider,
/// and what the checks remember between steps.
struct Sim {
    seed: u64,
    rng: Rng,
    bt_ids: Vec<String>,
    /// Each btId's stream URL; some btIds share one.
    streams: Vec<String>,
    began: OffsetDateTime,
    clock: ManualClock,
    store: MemoryStore,
    queue: MemoryQueue,
    provider: Arc<SimDeepCleer>,
    labels: Arc<Mutex<Labels>>,
    starter: Starter<MemoryStore, ManualClock>,
    closer: Closer<MemoryStore, ManualClock>,
    callbacks: CallbackHandler<MemoryStore, MemoryQueue, ManualClock>,
    watchdog: Watchdog<MemoryStore, MemoryQueue, ManualClock>,
    /// Past every threshold of the watchdog and the start lease.
    settle_jump: Duration,
    log: Vec<String>,
    step: u64,
    /// The status last seen of each stored task.
    statuses: HashMap<String, TaskStatus>,
    /// Tasks that vanished (undone claims).
    vanished: HashSet<String>,
    acknowledged_rejects: BTreeSet<String>,
    /// How many of the queue's events have been tallied.
    queue_read: usize,
    /// Copies delivered of each event id, and when the last one was sent.
    copies: HashMap<String, (u64, OffsetDateTime)>,
    /// Delivered events whose published record was not seen yet: id → btId key.
    unrecorded: BTreeMap<String, String>,
    /// Events found delivered but unrecorded after a step: a store failure followed their send.
    sent_unrecorded: HashSet<String>,
    /// Tasks the watchdog closed with their stop unconfirmed, their provider task still running.
    let_go: HashSet<String>,
    stats: Stats,
}

/// A deployment with DeepCleer only, at its local-run values.
fn environment() -> Env {
    Env::from_pairs([
        ("PROVIDER", "deepcleer"),
        ("DEEPCLEER_BASE_URL", DEEPCLEER),
        ("DEEPCLEER_VIDEO_BASE_URL", "https://video.deepcleer.test"),
        ("DEEPCLEER_ACCESS_KEY", ACCESS_KEY),
        ("ZEGO_BASE_URL", "https://zego.test"),
        ("DEFAULT_APP_ID", "default"),
        ("DEFAULT_EVENT_ID", "liveAudio"),
    ])
}

fn since(began: OffsetDateTime, now: OffsetDateTime) -> String {
    let seconds = (now - began).whole_seconds();
    format!("t+{}h{:02}m{:02}s", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

impl Sim {
    async fn new(seed: u64) -> Sim {
        let mut rng = Rng::new(seed);
        let began = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let clock = ManualClock::at(began);
        let store = MemoryStore::default();
        let queue = MemoryQueue::fifo(DEDUP_WINDOW, clock.clone());
        let labels = Arc::new(Mutex::new(Labels::default()));
        let provider = Arc::new(SimDeepCleer::new(
            store.clone(),
            key(),
            labels.clone(),
            Rng::new(rng.next()),
        ));
        let env = environment();
        // Local-run values only: nothing is read from SSM.
        let sdk = aws_config::SdkConfig::builder().build();
        let secrets = Secrets::new(&sdk);
        let transport: Arc<dyn Transport> = provider.clone();
        let starts = providers::starts(&env, &secrets, transport.clone()).await.unwrap();
        let close_stops = providers::stops(&env, &secrets, transport.clone(), Function::Close)
            .await
            .unwrap();
        let watchdog_stops = providers::stops(&env, &secrets, transport, Function::Watchdog)
            .await
            .unwrap();
        let readers = providers::readers(&env, &secrets).await.unwrap();
        // Clock jumps add up to days within a schedule: tokens outlive them
        // here, so that what is checked is the lifecycle, not token expiry
        // (its own tests are in `domain::token`).
        let start_policy = StartPolicy {
            token_lifetime: Duration::from_secs(10 * 365 * 24 * 3600),
            ..StartPolicy::default()
        };
        let watchdog_policy = WatchdogPolicy::default();
        let settle_jump = [
            start_policy.starting_lease,
            watchdog_policy.grace,
            watchdog_policy.close_retry_for,
            watchdog_policy.stale_after,
        ]
        .into_iter()
        .max()
        .unwrap()
            + Duration::from_secs(1);

        let count = rng.between(BT_IDS) as usize;
        let stream_count = rng.between((1, count as u64)) as usize;
        let bt_ids: Vec<String> = (1..=count).map(|n| format!("bt-{n}")).collect();
        let streams: Vec<String> = (0..count)
            .map(|_| format!("rtmp://live.example/s{}", rng.below(stream_count)))
            .collect();
        let mut sim = Sim {
            seed,
            rng,
            began,
            starter: Starter {
                store: store.clone(),
                clock: clock.clone(),
                providers: starts,
                callbacks: CallbackUrls { key: key(), base: None },
                policy: start_policy,
            },
            closer: Closer {
                store: store.clone(),
                clock: clock.clone(),
                providers: close_stops,
                policy: ClosePolicy::default(),
            },
            callbacks: CallbackHandler::new(
                store.clone(),
                queue.clone(),
                clock.clone(),
                readers,
                keys(),
                CallbackPolicy::default(),
            ),
            watchdog: Watchdog {
                store: store.clone(),
                queue: queue.clone(),
                clock: clock.clone(),
                providers: watchdog_stops,
                policy: watchdog_policy,
            },
            settle_jump,
            bt_ids,
            streams,
            clock,
            store,
            queue,
            provider,
            labels,
            log: Vec::new(),
            step: 0,
            statuses: HashMap::new(),
            vanished: HashSet::new(),
            acknowledged_rejects: BTreeSet::new(),
            queue_read: 0,
            copies: HashMap::new(),
            unrecorded: BTreeMap::new(),
            sent_unrecorded: HashSet::new(),
            let_go: HashSet::new(),
            stats: Stats {
                schedules: 1,
                ..Stats::default()
            },
        };
        let streams: Vec<String> = sim
            .bt_ids
            .iter()
            .zip(&sim.streams)
            .map(|(bt_id, stream)| format!("{bt_id} on {stream}"))
            .collect();
        sim.note(format!("seed {seed}: {}", streams.join(", ")));
        sim
    }

    /// Runs the schedule and its reconciliation; panics on the first
    /// violation. With `print_log`, prints the step log at the end.
    async fn run(mut self, print_log: bool) -> Stats {
        let steps = self.rng.between(STEPS);
        for _ in 0..steps {
            self.random_step().await;
            self.check();
        }
        self.reconcile().await;
        if print_log {
            println!("{}", self.log.join("\n"));
        }
        self.stats
    }

    // --- the log ---------------------------------------------------------

    fn note(&mut self, line: String) {
        self.log.push(line);
    }

    /// Starts a step's entry in the log.
    fn begin(&mut self, what: String) {
        self.step += 1;
        self.stats.steps += 1;
        let at = since(self.began, self.clock.now());
        self.note(format!("#{} {at} {what}", self.step));
    }

    /// Moves what the provider did into the log.
    fn provider_log(&mut self) {
        let lines = std::mem::take(&mut self.provider.state().log);
        for line in lines {
            self.note(format!("    {line}"));
        }
    }

    fn outcome(&mut self, line: String) {
        self.provider_log();
        self.note(format!("    -> {line}"));
    }

    fn label(&self, task_id: &str) -> String {
        lock(&self.labels).of(task_id)
    }

    fn fail(&mut self, what: &str) -> ! {
        self.provider_log();
        let log = self.log.join("\n");
        panic!(
            "simulation invariant broken (seed {seed}, step {step}): {what}\n\
             replay: SIM_SEED={seed} cargo test -p streamguard-core --test core simulation -- --nocapture\n\
             step log:\n{log}\n\
             simulation invariant broken (seed {seed}, step {step}): {what}",
            seed = self.seed,
            step = self.step,
        );
    }

    // --- steps -----------------------------------------------------------

    async fn random_step(&mut self) {
        match self.rng.weighted(&ACTIONS) {
            Action::Start => {
                let index = self.rng.below(self.bt_ids.len());
                let _ = self.start(index).await;
            }
            Action::Close => {
                let index = self.rng.below(self.bt_ids.len());
                let _ = self.close(index).await;
            }
            Action::Speak => self.speak(),
            Action::StreamDies => self.stream_dies(),
            Action::StrayCopy => self.stray_copy(),
            Action::Deliver => {
                let pending = self.provider.state().pending();
                match pending.get(self.rng.below(pending.len().max(1))) {
                    Some(&index) => self.deliver(index).await,
                    None => self.jump(),
                }
            }
            Action::Redeliver => {
                let acknowledged = self.provider.state().acknowledged();
                match acknowledged.get(self.rng.below(acknowledged.len().max(1))) {
                    Some(&index) => self.deliver(index).await,
                    None => self.jump(),
                }
            }
            Action::Watchdog => self.run_watchdog(false).await,
            Action::ClockJump => self.jump(),
            Action::Fault => self.toggle_fault(),
        }
    }

    fn start_body(&mut self, index: usize) -> (Value, String) {
        let all_text = i64::from(self.rng.percent(50));
        let mut data = json!({"tokenId": "u1", "btId": self.bt_ids[index], "streamType": "NORMAL",
                              "url": self.streams[index], "returnAllText": all_text});
        let finish = match self.rng.below(3) {
            0 => Some(0),
            1 => Some(1),
            _ => None,
        };
        if let Some(finish) = finish {
            data["returnFinishInfo"] = json!(finish);
        }
        let flags = format!(
            "returnAllText {all_text}, returnFinishInfo {}",
            finish.map_or("unset".to_owned(), |finish| finish.to_string())
        );
        (json!({"type": "POLITY_DIRTY", "data": data}), flags)
    }

    async fn start(&mut self, index: usize) -> Result<Started, Error> {
        let (body, flags) = self.start_body(index);
        let bt_id = self.bt_ids[index].clone();
        self.begin(format!("start {bt_id} ({flags})"));
        let result = self.starter.start(&body.to_string(), Some(BASE)).await;
        match &result {
            Ok(started) => {
                if started.created {
                    self.stats.tasks_created += 1;
                }
                let line = format!(
                    "{} {} {} {}",
                    if started.created { "created" } else { "existing" },
                    self.label(&started.task.task_id),
                    started.task.status,
                    started.task.request_id.as_deref().unwrap_or("-")
                );
                self.outcome(line);
            }
            Err(error) => {
                self.outcome(format!("{} {error}", errors::status(error)));
                if matches!(
                    error,
                    Error::Invalid(_) | Error::Configuration(_) | Error::ProviderMismatch { .. }
                ) {
                    self.fail(&format!("a start the simulation builds was refused: {error}"));
                }
            }
        }
        result
    }

    async fn close(&mut self, index: usize) -> Result<(), Error> {
        let bt_id = self.bt_ids[index].clone();
        self.begin(format!("close {bt_id}"));
        let result = self.closer.close_stream(&bt_id).await;
        match &result {
            Ok(closed) => {
                let task = closed
                    .task
                    .as_ref()
                    .map_or("-".to_owned(), |view| format!("{:?}", view.task.status));
                let line = format!(
                    "closed {} ({task}, provider called: {})",
                    closed.request_id.as_deref().unwrap_or("-"),
                    closed.provider_called
                );
                self.outcome(line);
            }
            Err(error) => {
                self.outcome(format!("{} {error}", errors::status(error)));
                if matches!(error, Error::Invalid(_) | Error::Configuration(_)) {
                    self.fail(&format!("a close was refused as invalid: {error}"));
                }
            }
        }
        result.map(|_| ())
    }

    fn speak(&mut self) {
        let mut state = self.provider.state();
        let running = state.running();
        let Some(&index) = running.get(self.rng.below(running.len().max(1))) else {
            drop(state);
            return self.jump();
        };
        let roll = self.rng.below(10);
        let level = if state.tasks[index].all_text {
            match roll {
                0..=4 => "PASS",
                5 => "REVIEW",
                _ => "REJECT",
            }
        } else if roll < 2 {
            "REVIEW"
        } else {
            "REJECT"
        };
        let what = state.segment(index, level);
        drop(state);
        self.begin(format!("provider sends {what}"));
    }

    fn stream_dies(&mut self) {
        let mut state = self.provider.state();
        let running = state.running();
        let Some(&index) = running.get(self.rng.below(running.len().max(1))) else {
            drop(state);
            return self.jump();
        };
        let codes = [
            StreamEndCode::StreamNotFound,
            StreamEndCode::NoAudioData,
            StreamEndCode::TokenInvalidOrExpired,
        ];
        let code = codes[self.rng.below(codes.len())].code();
        state.end(index, Some(code));
        let id = state.tasks[index].id.clone();
        drop(state);
        self.begin(format!("the stream of {id} dies (code {code})"));
    }

    fn stray_copy(&mut self) {
        let mut state = self.provider.state();
        if state.tasks.is_empty() {
            drop(state);
            return self.jump();
        }
        let index = self.rng.below(state.tasks.len());
        let original = state.tasks[index].id.clone();
        let copy = state.copy(index);
        drop(state);
        self.begin(format!("the provider runs {original} again as {copy} (a stray)"));
    }

    async fn deliver(&mut self, index: usize) {
        let callback = self.provider.state().outbox[index].clone();
        let token = callback
            .callback_url
            .rsplit_once("/callbacks/")
            .map_or("", |(_, token)| token);
        let task_ref = match self.callbacks.authenticate(token) {
            Ok(verified) => verified.task,
            Err(error) => self.fail(&format!(
                "the token of a callback URL the start gave is refused: {error}"
            )),
        };
        let again = if callback.state == Delivery::Acknowledged {
            " again"
        } else {
            ""
        };
        let to = format!("{} {}", task_ref.bt_id, self.label(&task_ref.task_id));
        self.begin(format!("deliver {}{again} to {to}", callback.what));
        self.stats.callbacks_delivered += 1;
        let result = self.callbacks.handle(&task_ref, callback.body.as_bytes()).await;
        match result {
            Ok(outcome) => {
                self.outcome(format!("{outcome:?}"));
                if let Some(event_id) = &callback.reject {
                    if matches!(outcome, Outcome::Counted | Outcome::Ignored) {
                        self.fail(&format!("the REJECT {event_id} was answered {outcome:?}"));
                    }
                    if self.acknowledged_rejects.insert(event_id.clone()) {
                        self.stats.rejects_acknowledged += 1;
                    }
                }
                self.provider.state().outbox[index].state = Delivery::Acknowledged;
            }
            Err(error) => {
                let status = errors::status(&error);
                self.outcome(format!("{status} {error}"));
                if status < 500 {
                    self.fail(&format!(
                        "the authenticated callback {} was refused with {status}: {error}",
                        callback.what
                    ));
                }
                let mut state = self.provider.state();
                if state.outbox[index].state != Delivery::Acknowledged {
                    state.outbox[index].state = Delivery::Retrying;
                }
            }
        }
    }

    /// One watchdog run. With `settling`, every fault is off and the run must
    /// be clean.
    async fn run_watchdog(&mut self, settling: bool) {
        self.begin("watchdog".to_owned());
        let closing: Vec<(String, String)> = lock(&self.store.tasks)
            .by_id
            .values()
            .filter(|task| task.status == TaskStatus::Active && task.close_requested_at.is_some())
            .filter_map(|task| Some((task.task_id.clone(), task.request_id.clone()?)))
            .collect();
        let result = self.watchdog.run().await;
        match &result {
            Ok(report) => {
                self.stats.strays_stopped += report.strays_stopped as u64;
                self.stats.closes_given_up += report.closes_given_up as u64;
                let line = format!("{report:?}");
                self.outcome(line);
            }
            Err(error) => self.outcome(format!("{} {error}", errors::status(error))),
        }
        // A close the watchdog let go while the provider task still runs:
        // the documented residual of a stop that kept failing.
        for (task_id, request_id) in closing {
            let closed =
                stored_status(&self.store, &task_id).is_some_and(|status| status.rank() >= TaskStatus::Closed.rank());
            if closed && self.provider.state().is_running(&request_id) {
                let label = self.label(&task_id);
                self.note(format!("    {label} was let go with {request_id} still running"));
                self.let_go.insert(task_id);
            }
        }
        if settling {
            match result {
                Ok(report) if report.failures == 0 => {}
                Ok(report) => self.fail(&format!(
                    "with every fault off the watchdog failed {} findings",
                    report.failures
                )),
                Err(error) => self.fail(&format!("with every fault off the watchdog failed: {error}")),
            }
        }
    }

    fn jump(&mut self) {
        let seconds = match self.rng.below(10) {
            0..=4 => self.rng.between((1, 59)),
            5..=7 => self.rng.between((60, 30 * 60)),
            _ => self.rng.between((3600, 6 * 3600)),
        };
        self.clock.advance(Duration::from_secs(seconds));
        self.begin(format!("the clock moves {seconds} s"));
    }

    fn toggle_fault(&mut self) {
        let what = match self.rng.below(4) {
            0 => {
                let down = !self.store.down.load(Ordering::SeqCst);
                self.store.down.store(down, Ordering::SeqCst);
                self.stats.faults += u64::from(down);
                format!("the store {}", if down { "goes down" } else { "comes back" })
            }
            1 => {
                let down = !self.queue.down.load(Ordering::SeqCst);
                self.queue.down.store(down, Ordering::SeqCst);
                self.stats.faults += u64::from(down);
                format!("the queue {}", if down { "goes down" } else { "comes back" })
            }
            2 => {
                let calls = self.rng.between((1, 8));
                self.store.fail_call_in.store(calls, Ordering::SeqCst);
                self.stats.faults += 1;
                format!("the store will fail its call number {calls} from now")
            }
            _ => {
                let modes = [
                    ProviderMode::Healthy,
                    ProviderMode::LosesAnswers,
                    ProviderMode::Unreachable,
                    ProviderMode::Flaky,
                ];
                let mode = modes[self.rng.below(modes.len())];
                self.provider.state().mode = mode;
                self.stats.faults += u64::from(mode != ProviderMode::Healthy);
                format!("the provider is now {mode:?}")
            }
        };
        self.begin(what);
    }

    // --- checks ----------------------------------------------------------

    /// Every invariant that holds after any step.
    fn check(&mut self) {
        self.provider_log();
        let violations = std::mem::take(&mut self.provider.state().violations);
        if let Some(violation) = violations.first() {
            self.fail(violation);
        }
        self.check_tasks();
        self.check_queue();
    }

    fn check_tasks(&mut self) {
        let mut problems = Vec::new();
        let mut fresh = Vec::new();
        {
            let tasks = lock(&self.store.tasks);
            for (task_id, task) in &tasks.by_id {
                self.stats.checks += 1;
                if self.vanished.contains(task_id) {
                    problems.push(format!("task {task_id} of {} came back after it vanished", task.bt_id));
                }
                match self.statuses.insert(task_id.clone(), task.status) {
                    Some(before) if task.status.rank() < before.rank() => problems.push(format!(
                        "task {task_id} of {} went back from {before} to {}",
                        task.bt_id, task.status
                    )),
                    Some(_) => {}
                    None => fresh.push((task.created_at, task.bt_id.clone(), task_id.clone())),
                }
            }
            let gone: Vec<(String, TaskStatus)> = self
                .statuses
                .iter()
                .filter(|(task_id, _)| !tasks.by_id.contains_key(*task_id))
                .map(|(task_id, status)| (task_id.clone(), *status))
                .collect();
            for (task_id, status) in gone {
                self.stats.checks += 1;
                if status != TaskStatus::Starting {
                    problems.push(format!("task {task_id} vanished while {status}"));
                }
                self.statuses.remove(&task_id);
                self.vanished.insert(task_id);
            }
            for bt_id in &self.bt_ids {
                self.stats.checks += 1;
                let holders: Vec<&String> = tasks
                    .by_id
                    .values()
                    .filter(|task| &task.bt_id == bt_id && task.status.holds_bt_id())
                    .map(|task| &task.task_id)
                    .collect();
                let current = tasks.current.get(bt_id);
                if holders.len() > 1 || holders.first().is_some_and(|holder| Some(*holder) != current) {
                    problems.push(format!(
                        "{bt_id} is held by {holders:?}, its current task being {current:?}"
                    ));
                }
            }
        }
        // Names in the order tasks were created, so a log replays the same.
        fresh.sort();
        for (_, _, task_id) in &fresh {
            self.label(task_id);
        }
        if let Some(problem) = problems.first() {
            let problem = self.relabel(problem);
            self.fail(&problem);
        }
    }

    /// Replaces task ids in a message by their labels.
    fn relabel(&self, message: &str) -> String {
        let labels = lock(&self.labels);
        labels
            .by_task
            .iter()
            .fold(message.to_owned(), |text, (task_id, label)| {
                text.replace(task_id, label)
            })
    }

    fn check_queue(&mut self) {
        let mut problems = Vec::new();
        {
            let events = lock(&self.queue.events);
            if events.len() < self.queue_read {
                problems.push("the queue lost events".to_owned());
            }
            for event in events.iter().skip(self.queue_read) {
                self.stats.checks += 1;
                match self.copies.get_mut(&event.event_id) {
                    None => {
                        self.copies.insert(event.event_id.clone(), (1, event.received_at));
                        self.unrecorded
                            .insert(event.event_id.clone(), event.group_key().to_owned());
                    }
                    Some((count, last)) => {
                        let gap = event.received_at - *last;
                        if self.sent_unrecorded.contains(&event.event_id) && gap >= DEDUP_WINDOW {
                            *count += 1;
                            *last = event.received_at;
                            self.stats.residual_duplicates += 1;
                            self.log.push(format!(
                                "    residual duplicate: {} again {gap} after the send whose record the store lost",
                                event.event_id
                            ));
                        } else {
                            problems.push(format!(
                                "{} was delivered again, {gap} after the copy before (sent but unrecorded before: {})",
                                event.event_id,
                                self.sent_unrecorded.contains(&event.event_id)
                            ));
                        }
                    }
                }
            }
            self.queue_read = events.len();
        }
        {
            let published = lock(&self.store.published);
            self.unrecorded.retain(|event_id, group| {
                let recorded = published.contains_key(&(group.clone(), event_id.clone()));
                if !recorded {
                    self.sent_unrecorded.insert(event_id.clone());
                }
                !recorded
            });
        }
        for event_id in &self.acknowledged_rejects {
            self.stats.checks += 1;
            if !self.copies.contains_key(event_id) {
                problems.push(format!(
                    "the REJECT {event_id} was acknowledged but never reached the queue"
                ));
            }
        }
        if let Some(problem) = problems.first() {
            let problem = problem.clone();
            self.fail(&problem);
        }
    }

    // --- reconciliation --------------------------------------------------

    async fn reconcile(&mut self) {
        self.note("reconciliation: every fault off".to_owned());
        self.store.down.store(false, Ordering::SeqCst);
        self.store.fail_call_in.store(0, Ordering::SeqCst);
        self.queue.down.store(false, Ordering::SeqCst);
        self.provider.state().mode = ProviderMode::Healthy;
        self.deliver_everything().await;
        for _ in 0..SETTLE_ROUNDS {
            self.settle_round().await;
        }
        self.check_one_running_task_per_bt_id();
        for index in 0..self.bt_ids.len() {
            self.restart(index).await;
        }
        self.deliver_everything().await;
        for _ in 0..SETTLE_ROUNDS {
            self.settle_round().await;
        }
        self.check_one_running_task_per_bt_id();
    }

    /// Delivers every pending callback, in the order sent; each must be acknowledged.
    async fn deliver_everything(&mut self) {
        loop {
            let Some(index) = self.provider.state().pending().first().copied() else {
                return;
            };
            self.deliver(index).await;
            self.check();
            if self.provider.state().outbox[index].state != Delivery::Acknowledged {
                self.fail("with every fault off a callback was not acknowledged");
            }
        }
    }

    /// Every running provider task calls back; the clock moves past every
    /// threshold; the watchdog runs.
    async fn settle_round(&mut self) {
        {
            let mut state = self.provider.state();
            for index in state.running() {
                state.segment(index, "REJECT");
            }
        }
        self.deliver_everything().await;
        self.clock.advance(self.settle_jump);
        self.run_watchdog(true).await;
        self.check();
        self.deliver_everything().await;
    }

    /// At most one running provider task per btId, besides strays the
    /// watchdog gave up stopping (their stop kept failing for the retry
    /// period: the documented residual, counted).
    fn check_one_running_task_per_bt_id(&mut self) {
        let given_up: HashSet<String> = lock(&self.store.strays)
            .iter()
            .filter(|stray| stray.stopped_at.is_some())
            .map(|stray| stray.provider_task_id.clone())
            .collect();
        let mut problems = Vec::new();
        {
            let state = self.provider.state();
            for bt_id in &self.bt_ids {
                self.stats.checks += 1;
                let mine = |task: &&ProviderTask| task.running && &task.owner.bt_id == bt_id;
                self.stats.strays_given_up += state
                    .tasks
                    .iter()
                    .filter(mine)
                    .filter(|task| given_up.contains(&task.id))
                    .count() as u64;
                let running: Vec<&str> = state
                    .tasks
                    .iter()
                    .filter(mine)
                    .filter(|task| !given_up.contains(&task.id))
                    .map(|task| task.id.as_str())
                    .collect();
                if running.len() > 1 {
                    problems.push(format!(
                        "after reconciliation {bt_id} has {} running provider tasks: {running:?}",
                        running.len()
                    ));
                }
            }
        }
        if let Some(problem) = problems.first() {
            let problem = problem.clone();
            self.fail(&problem);
        }
    }

    /// No btId is stuck: a close (when its task holds it), then a start.
    async fn restart(&mut self, index: usize) {
        let bt_id = self.bt_ids[index].clone();
        let holds = self.store.current(&bt_id).is_some_and(|task| task.status.holds_bt_id());
        if holds && let Err(error) = self.close(index).await {
            self.check();
            self.fail(&format!("{bt_id} cannot be closed with every fault off: {error}"));
        }
        self.check();
        let result = self.start(index).await;
        self.check();
        self.stats.checks += 1;
        match result {
            Ok(started) => {
                let task = &started.task;
                let runs = task
                    .request_id
                    .as_deref()
                    .is_some_and(|id| self.provider.state().is_running(id));
                if task.status != TaskStatus::Active || !runs {
                    self.fail(&format!(
                        "{bt_id}'s start with every fault off gave a task {} on {:?}, which the provider does not run",
                        task.status, task.request_id
                    ));
                }
            }
            Err(Error::Refused(_)) => {}
            Err(Error::StreamHeld { holder }) => self.check_stream_held(index, &holder),
            Err(error) => self.fail(&format!(
                "{bt_id} is stuck: its start with every fault off failed: {error}"
            )),
        }
    }

    /// STREAM_HELD is right when the provider task running on the stream is
    /// held by a task of `holder` that is ACTIVE, or that the watchdog let go
    /// with its stop unconfirmed (counted).
    fn check_stream_held(&mut self, index: usize, holder: &str) {
        let bt_id = self.bt_ids[index].clone();
        let running = self
            .provider
            .state()
            .running_on(&self.streams[index])
            .map(|task| task.id.clone());
        let Some(running) = running else {
            self.fail(&format!(
                "{bt_id} got STREAM_HELD by {holder}, but nothing runs on {}",
                self.streams[index]
            ));
        };
        let holding: Vec<(String, TaskStatus)> = lock(&self.store.tasks)
            .by_id
            .values()
            .filter(|task| task.bt_id == holder && task.request_id.as_deref() == Some(running.as_str()))
            .map(|task| (task.task_id.clone(), task.status))
            .collect();
        if holding.iter().any(|(_, status)| *status == TaskStatus::Active) {
            return;
        }
        if holding.iter().any(|(task_id, _)| self.let_go.contains(task_id)) {
            self.stats.held_by_unconfirmed_close += 1;
            self.note(format!(
                "    residual: {running} still runs after a close the watchdog let go, so {holder} holds the stream"
            ));
            return;
        }
        let holding: Vec<String> = holding
            .iter()
            .map(|(task_id, status)| format!("{} {status}", self.label(task_id)))
            .collect();
        self.fail(&format!(
            "{bt_id} is stuck: STREAM_HELD by {holder}, whose tasks on {running} are {holding:?}"
        ));
    }
}

/// A stored task's status, read past the port (so never failing).
fn stored_status(store: &MemoryStore, task_id: &str) -> Option<TaskStatus> {
    lock(&store.tasks).by_id.get(task_id).map(|task| task.status)
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
    )
}

#[tokio::test]
async fn random_schedules_keep_every_invariant() {
    let replay = env_number("SIM_SEED");
    let seeds: Vec<u64> = match replay {
        Some(seed) => vec![seed],
        None => (0..env_number("SIM_SCHEDULES").unwrap_or(DEFAULT_SCHEDULES)).collect(),
    };
    let mut totals = Stats::default();
    for seed in seeds {
        let stats = Sim::new(seed).await.run(replay.is_some()).await;
        totals.add(&stats);
    }
    println!(
        "simulation: {} schedules, {} steps, {} invariant checks, {} REJECTs acknowledged, {} residual duplicates, \
         {} faults injected ({} callbacks delivered, {} tasks created, {} strays stopped, {} closes given up, \
         {} streams held after a close given up, {} strays given up still running)",
        totals.schedules,
        totals.steps,
        totals.checks,
        totals.rejects_acknowledged,
        totals.residual_duplicates,
        totals.faults,
        totals.callbacks_delivered,
        totals.tasks_created,
        totals.strays_stopped,
        totals.closes_given_up,
        totals.held_by_unconfirmed_close,
        totals.strays_given_up,
    );
}

/// The shortest schedules the simulation found that broke an invariant,
/// kept as plain scenarios over the scripted transport: a seed replays the
/// same schedule only while the simulation stays as it is.
mod found {
    use crate::lifecycle::no_answer_to_the_start;
    use crate::world::{Kind, World};
    use streamguard_core::domain::TaskStatus;
    use streamguard_core::domain::callback::Outcome;

    /// A start's answer is lost, its task is abandoned, and
    /// another btId's start on the same stream adopts the provider task it
    /// had started. That provider task calls back on the abandoned task's
    /// URL, as a stray: the watchdog must not stop it while a live task holds it.
    #[tokio::test]
    async fn a_stray_that_a_live_task_adopted_is_not_stopped_until_that_task_lets_it_go() {
        let kind = Kind::DeepCleer;
        let world = World::new(kind).await;
        no_answer_to_the_start(&world);
        world.start(&kind.body("room-1")).await.unwrap_err();
        let abandoned = world.task_ref(&world.stored("room-1"));
        world
            .clock
            .advance(world.starter.policy.starting_lease + world.watchdog.policy.grace);
        assert_eq!(world.watchdog.run().await.unwrap().abandoned, 1);

        // The stream is the same: the provider names the task room-1's start left running.
        world.transport.answer(Kind::duplicate_of("rid-1"));
        let adopted = world.start(&kind.body("room-2")).await.unwrap().task;
        assert_eq!(adopted.request_id.as_deref(), Some("rid-1"));
        let outcome = world
            .deliver(&abandoned, &kind.segment("rid-1", 1, "REJECT", world.now()))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Published);
        assert!(world.queue.events.lock().unwrap()[0].stray_provider_task);

        let report = world.watchdog.run().await.unwrap();
        assert_eq!(report.strays_stopped, 0);
        assert!(world.sent_stops().is_empty(), "room-2's live moderation is left alone");
        assert_eq!(world.stored("room-2").status, TaskStatus::Active);

        // room-2 closes it; the stray is then closed out on the next run.
        world.transport.answer(kind.stopped());
        world.closer.close_stream("room-2").await.unwrap();
        world.transport.answer(kind.stopped());
        assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 1);
        assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 0, "once");
    }

    /// A claim undone (the stream held by another btId) leaves no
    /// task, yet a provider task (the provider running one twice) calls back
    /// on its URL. Nothing would ever close it: it is a stray, and stopped,
    /// unless a live task holds it.
    #[tokio::test]
    async fn a_reject_for_a_task_no_longer_in_the_table_gets_its_provider_task_stopped() {
        let kind = Kind::DeepCleer;
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.transport.answer(Kind::duplicate_of("rid-1"));
        world.start(&kind.body("room-2")).await.unwrap_err();
        assert!(world.store.tasks.lock().unwrap().current("room-2").is_none(), "undone");
        let url = kind.callback_url(world.sent_starts().last().unwrap());
        let token = url.rsplit_once("/callbacks/").unwrap().1;
        let undone = world.callbacks.authenticate(token).unwrap().task;

        for provider_task_id in ["rid-1", "rid-9"] {
            let body = kind.segment(provider_task_id, 1, "REJECT", world.now());
            assert_eq!(world.deliver(&undone, &body).await.unwrap(), Outcome::Published);
        }
        let events = world.queue.events.lock().unwrap().clone();
        assert!(events.iter().all(|event| !event.task_known));

        world.transport.answer(kind.stopped());
        assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 1);
        let stops = world.sent_stops();
        assert_eq!(stops.len(), 1);
        assert_eq!(stops[0].body["requestId"], "rid-9", "room-1's live task is left alone");
    }
}

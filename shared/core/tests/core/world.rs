//! The four services over in-memory ports, with each real provider module
//! talking to a scripted transport: the domain's flows run once per
//! provider, through that provider's real mapping of requests, answers and
//! callbacks.

use serde_json::{Value, json};
use std::sync::Arc;
use streamguard_core::config::Env;
use streamguard_core::domain::callback::Outcome;
use streamguard_core::domain::policy::{CallbackPolicy, ClosePolicy, StartPolicy, WatchdogPolicy};
use streamguard_core::domain::start::{CallbackUrls, Started};
use streamguard_core::domain::{
    CallbackHandler, CallbackKey, CallbackKeys, Closer, Error, ProviderId, Starter, Task, TaskRef, Watchdog,
};
use streamguard_core::functions::Function;
use streamguard_core::init::Secrets;
use streamguard_core::memory::{ManualClock, MemoryQueue, MemoryStore, ScriptedTransport, Sent};
use streamguard_core::ports::ProviderError;
use streamguard_core::providers::{self, deepcleer, zego};
use streamguard_wire::zego::CallbackAuth;
use time::OffsetDateTime;

pub const BASE: &str = "https://api.example.com";
pub const ACCESS_KEY: &str = "AK-123";
pub const ZEGO_APP_ID: u32 = 12345;
pub const ZEGO_SERVER_SECRET: &str = "zego-server-secret";
pub const ZEGO_CALLBACK_SECRET: &str = "zego-callback-secret";

/// Which provider a world runs its flows against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DeepCleer,
    Zego,
}

pub const BOTH: [Kind; 2] = [Kind::DeepCleer, Kind::Zego];

pub struct World {
    pub kind: Kind,
    pub store: MemoryStore,
    pub queue: MemoryQueue,
    pub clock: ManualClock,
    pub transport: Arc<ScriptedTransport>,
    pub starter: Starter<MemoryStore, ManualClock>,
    pub closer: Closer<MemoryStore, ManualClock>,
    pub callbacks: CallbackHandler<MemoryStore, MemoryQueue, ManualClock>,
    pub watchdog: Watchdog<MemoryStore, MemoryQueue, ManualClock>,
}

/// The environment of a deployment with `configured` providers' credentials
/// (their local-run values), `default` the deployment's provider.
pub fn environment(default: Kind, configured: &[Kind]) -> Env {
    let mut pairs = vec![
        ("PROVIDER", default.id().as_str().to_owned()),
        ("DEEPCLEER_BASE_URL", "https://deepcleer.test".to_owned()),
        ("DEEPCLEER_VIDEO_BASE_URL", "https://video.deepcleer.test".to_owned()),
        ("ZEGO_BASE_URL", "https://zego.test".to_owned()),
        ("DEFAULT_APP_ID", "default".to_owned()),
        ("DEFAULT_EVENT_ID", "liveAudio".to_owned()),
        ("ZEGO_CALLBACK_SECRET", ZEGO_CALLBACK_SECRET.to_owned()),
    ];
    if configured.contains(&Kind::DeepCleer) {
        pairs.push(("DEEPCLEER_ACCESS_KEY", ACCESS_KEY.to_owned()));
    }
    if configured.contains(&Kind::Zego) {
        pairs.push(("ZEGO_APP_ID", ZEGO_APP_ID.to_string()));
        pairs.push(("ZEGO_SERVER_SECRET", ZEGO_SERVER_SECRET.to_owned()));
    }
    Env::from_pairs(pairs)
}

pub fn key() -> CallbackKey {
    CallbackKey::new(b"a-test-key-of-enough-length", providers::REGISTERED).unwrap()
}

/// The keys the callback service verifies with: [`key`] alone.
pub fn keys() -> CallbackKeys {
    CallbackKeys::new(key(), None)
}

impl World {
    /// Every provider configured, `kind` the default.
    pub async fn new(kind: Kind) -> World {
        World::with(kind, CallbackPolicy::default(), &BOTH).await
    }

    /// `configured` providers only (for starts and closes), `kind` the
    /// default; built through the provider registry, as the functions build them.
    pub async fn with(kind: Kind, callback_policy: CallbackPolicy, configured: &[Kind]) -> World {
        let store = MemoryStore::default();
        let queue = MemoryQueue::default();
        let clock = ManualClock::at(OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap());
        let transport = Arc::new(ScriptedTransport::default());
        let env = environment(kind, configured);
        // Local-run values only: nothing is read from SSM.
        let sdk = aws_config::SdkConfig::builder().build();
        let secrets = Secrets::new(&sdk);
        let start_providers = providers::starts(&env, &secrets, transport.clone()).await.unwrap();
        let close_providers = providers::stops(&env, &secrets, transport.clone(), Function::Close)
            .await
            .unwrap();
        let readers = providers::readers(&env, &secrets).await.unwrap();
        let watchdog_providers = providers::stops(&env, &secrets, transport.clone(), Function::Watchdog)
            .await
            .unwrap();
        World {
            kind,
            starter: Starter {
                store: store.clone(),
                clock: clock.clone(),
                providers: start_providers,
                callbacks: CallbackUrls { key: key(), base: None },
                policy: StartPolicy::default(),
            },
            closer: Closer {
                store: store.clone(),
                clock: clock.clone(),
                providers: close_providers,
                policy: ClosePolicy::default(),
            },
            callbacks: CallbackHandler::new(
                store.clone(),
                queue.clone(),
                clock.clone(),
                readers,
                keys(),
                callback_policy,
            ),
            watchdog: Watchdog {
                store: store.clone(),
                queue: queue.clone(),
                clock: clock.clone(),
                providers: watchdog_providers,
                policy: WatchdogPolicy::default(),
            },
            store,
            queue,
            clock,
            transport,
        }
    }

    pub async fn start(&self, body: &Value) -> Result<Started, Error> {
        self.starter.start(&body.to_string(), Some(BASE)).await
    }

    /// Starts `bt_id`, the provider accepting it as `provider_task_id`.
    pub async fn active(&self, bt_id: &str, provider_task_id: &str) -> TaskRef {
        self.transport.answer(self.kind.accepted(provider_task_id));
        let task = self.start(&self.kind.body(bt_id)).await.unwrap().task;
        self.task_ref(&task)
    }

    pub fn task_ref(&self, task: &Task) -> TaskRef {
        TaskRef {
            provider: task.provider,
            bt_id: task.bt_id.clone(),
            task_id: task.task_id.clone(),
        }
    }

    pub fn stored(&self, bt_id: &str) -> Task {
        self.store.current(bt_id).expect("a task for the btId")
    }

    pub fn now(&self) -> OffsetDateTime {
        use streamguard_core::ports::Clock;
        self.clock.now()
    }

    /// Delivers a callback body for `task`.
    pub async fn deliver(&self, task: &TaskRef, body: &Value) -> Result<Outcome, Error> {
        self.callbacks.handle(task, body.to_string().as_bytes()).await
    }

    /// The calls made to the provider, and the starts among them.
    pub fn sent(&self) -> Vec<Sent> {
        self.transport.sent()
    }

    pub fn sent_starts(&self) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|sent| self.kind.is_start(sent))
            .collect()
    }

    pub fn sent_stops(&self) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|sent| !self.kind.is_start(sent))
            .collect()
    }
}

impl Kind {
    pub fn id(self) -> ProviderId {
        match self {
            Kind::DeepCleer => deepcleer::ID,
            Kind::Zego => zego::ID,
        }
    }

    /// A start body for `bt_id` this provider accepts.
    pub fn body(self, bt_id: &str) -> Value {
        match self {
            Kind::DeepCleer => json!({"type": "POLITY_DIRTY", "data": {"tokenId": "u1", "btId": bt_id,
                "streamType": "NORMAL", "url": "rtmp://live.example/a"}}),
            Kind::Zego => json!({"provider": "zego", "type": "POLITY_DIRTY", "data": {"btId": bt_id, "lang": "en"}}),
        }
    }

    pub fn accepted(self, provider_task_id: &str) -> Value {
        match self {
            Kind::DeepCleer => json!({"code": 1100, "message": "Success", "requestId": provider_task_id}),
            Kind::Zego => {
                json!({"Code": 0, "Message": "success", "RequestId": "r", "Data": {"TaskId": provider_task_id}})
            }
        }
    }

    /// DeepCleer's answer to a stream it already moderates.
    pub fn duplicate_of(running: &str) -> Value {
        json!({"code": 1100, "message": "Success", "requestId": "fresh-id",
               "detail": {"errorCode": 1001, "dupRequestId": running}})
    }

    /// A refusal with the provider's own code.
    pub fn refused(self, code: i64) -> Value {
        match self {
            Kind::DeepCleer => json!({"code": code, "message": "Invalid parameters: data.url", "requestId": "x"}),
            Kind::Zego => json!({"Code": code, "Message": "refused", "RequestId": "r"}),
        }
    }

    /// The provider's codes for: invalid request, rate limited, failing, configuration.
    pub fn codes(self) -> [(i64, u16); 4] {
        match self {
            Kind::DeepCleer => [(1902, 400), (1901, 429), (1903, 502), (9101, 500)],
            Kind::Zego => [(1, 502), (50009, 502), (50006, 502), (50117, 500)],
        }
    }

    /// A code the provider advises retrying a stop on.
    pub fn transient_code(self) -> i64 {
        match self {
            Kind::DeepCleer => 1903,
            Kind::Zego => 50009,
        }
    }

    pub fn stopped(self) -> Value {
        match self {
            Kind::DeepCleer => json!({"code": 1100, "message": "Success", "requestId": "close-1"}),
            Kind::Zego => json!({"Code": 0, "Message": "success", "RequestId": "r"}),
        }
    }

    fn is_start(self, sent: &Sent) -> bool {
        match self {
            Kind::DeepCleer => sent.url.ends_with("/audiostream/v4"),
            Kind::Zego => sent.url.contains("Action=StartCensorAudioV2"),
        }
    }

    /// The callback URL a start carried.
    pub fn callback_url(self, sent: &Sent) -> String {
        let field = match self {
            Kind::DeepCleer => &sent.body["callback"],
            Kind::Zego => &sent.body["ResultCallbackUrl"],
        };
        field.as_str().unwrap().to_owned()
    }

    /// A segment callback as the provider sends it, at `now`.
    pub fn segment(self, provider_task_id: &str, n: u64, level: &str, now: OffsetDateTime) -> Value {
        match self {
            Kind::DeepCleer => json!({"requestId": format!("{provider_task_id}_{n}"), "btId": "echoed-bt-id",
                "code": 1100, "statCode": 0, "requestParams": {"accessKey": ACCESS_KEY},
                "audioDetail": {"riskLevel": level, "audioText": "words", "riskLabel1": "abuse"}}),
            Kind::Zego => signed(
                json!({"Event": "censor_audio_v2_result", "Code": 0, "TaskId": provider_task_id,
                       "ResultTaskId": format!("{provider_task_id}_{n}"),
                       "Detail": {"RiskLevel": level, "AudioText": "words", "RiskLabel1": "abuse"},
                       "AuxInfo": {"RoomId": "room"}}),
                ZEGO_CALLBACK_SECRET,
                now,
            ),
        }
    }

    /// The end callback of a provider task: with the engine's code 3005 and 600 s.
    pub fn end(self, provider_task_id: &str, now: OffsetDateTime) -> Value {
        match self {
            Kind::DeepCleer => json!({"requestId": provider_task_id, "btId": "echoed-bt-id", "code": 1100,
                "statCode": 1, "auxInfo": {"errorCode": 3005, "streamTime": 600}}),
            Kind::Zego => signed(
                json!({"Event": "censor_audio_v2_status", "Code": 3005, "TaskId": provider_task_id, "Status": 0,
                       "AuxInfo": {"CensorStreamTime": 600}}),
                ZEGO_CALLBACK_SECRET,
                now,
            ),
        }
    }

    /// What the provider's event ids look like for a segment.
    pub fn event_id(self, provider_task_id: &str, n: u64) -> String {
        format!("{}:{provider_task_id}_{n}", self.id())
    }
}

/// Adds Zego's signature fields to `body`.
pub fn signed(mut body: Value, secret: &str, now: OffsetDateTime) -> Value {
    let auth = CallbackAuth::sign(ZEGO_APP_ID, secret, now.unix_timestamp(), "nonce-1");
    body.as_object_mut()
        .unwrap()
        .extend(serde_json::to_value(auth).unwrap().as_object().unwrap().clone());
    body
}

/// A transport failure before any answer.
pub fn timeout() -> ProviderError {
    ProviderError::Timeout
}

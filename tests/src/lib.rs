//! The end-to-end harness: a whole local stack per test.
//!
//! - moto server (DynamoDB and SQS), started by `scripts/test` and reached
//!   through `AWS_ENDPOINT_URL`, with a fresh table and queue per test;
//! - a fault proxy between the functions and moto, so a test can take
//!   DynamoDB or SQS "down" and bring it back;
//! - the provider simulator, in-process on an ephemeral port;
//! - the bundle's API (the functions' handlers) on an ephemeral port.
//!
//! Everything talks HTTP on loopback, with the real AWS SDK.

pub mod chaos;

use aws_config::retry::RetryConfig;
use serde_json::{Value, json};
use simulator::{Config as SimConfig, ControlClient, Simulator};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use streamguard_core::app::WatchdogService;
use streamguard_core::config::Env;
use streamguard_core::domain::CallbackKey;
use streamguard_core::domain::ProviderId;
use streamguard_core::domain::watchdog::Report;
use streamguard_core::memory::ManualClock;
use streamguard_core::providers::deepcleer;
use streamguard_wire::event::QueueEvent;

pub const ACCESS_KEY: &str = "e2e-access-key";
pub const CALLBACK_KEY: &str = "e2e-callback-token-key-0123456789";
pub const ZEGO_APP_ID: u32 = 12345;
pub const ZEGO_SERVER_SECRET: &str = "9193cc662a4c0ec135ec71fb57194b38";
pub const ZEGO_CALLBACK_SECRET: &str = "e2e-zego-callback-secret";
/// How long the tokens a test signs itself stay valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Generous for slow CI machines; a passing test never waits this long.
pub const WAIT: Duration = Duration::from_secs(60);
/// HTTP timeout of the test client: longer than any server-side wait (`WAIT`).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(90);

/// moto's URL, from `AWS_ENDPOINT_URL` (set by `scripts/test`).
pub fn moto_url() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the end-to-end tests through scripts/test, which starts moto server")
    })
}

/// SDK configuration for `endpoint`, with dummy credentials and no retries
/// (a test that takes a service down wants the failure, not a retry storm).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    streamguard_core::app::aws_config_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "e2e",
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// Stores `values` as SSM SecureStrings under a fresh prefix in moto and
/// returns the environment that points the functions at them (instead of the
/// plain local values).
pub async fn secrets_in_ssm(access_key: &str, callback_key: &str) -> Vec<(&'static str, String)> {
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(&moto_url()).await);
    let prefix = format!("/streamguard-e2e/{}", uuid::Uuid::new_v4().simple());
    for (name, value) in [("access-key", access_key), ("callback-key", callback_key)] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("moto stores the parameter");
    }
    vec![
        ("DEEPCLEER_ACCESS_KEY", String::new()),
        ("CALLBACK_TOKEN_KEY", String::new()),
        ("DEEPCLEER_ACCESS_KEY_PARAMETER", format!("{prefix}/access-key")),
        ("CALLBACK_TOKEN_KEY_PARAMETER", format!("{prefix}/callback-key")),
    ]
}

/// What a test may change before the stack starts.
pub struct Options {
    /// Environment-style settings for the functions (override the defaults).
    pub env: Vec<(&'static str, String)>,
    /// Simulator settings.
    pub simulator: Box<dyn FnOnce(&mut SimConfig) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            env: Vec::new(),
            simulator: Box::new(|_| {}),
        }
    }
}

pub struct Stack {
    /// The bundle's API base URL.
    pub api: String,
    pub sim: Simulator,
    pub http: reqwest::Client,
    /// Straight to moto, for assertions.
    pub sqs: aws_sdk_sqs::Client,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub table: String,
    pub queue_url: String,
    /// The fault proxy in front of the callback function's AWS calls.
    pub chaos: Arc<chaos::Chaos>,
    /// The proxies in front of each function's AWS calls (start, close,
    /// callback, watchdog, archiver, history).
    pub proxies: [Arc<chaos::Chaos>; 6],
    /// The archiver, fed from the table's stream when a test says so ([`Stack::archive`]).
    pub archiver: streamguard_core::app::ArchiverService,
    feed: tokio::sync::Mutex<devserver::stream_feed::StreamFeed>,
    /// Straight to moto's S3, for assertions.
    pub s3: aws_sdk_s3::Client,
    pub evidence_bucket: String,
    /// The watchdog, on a clock the test moves ([`Stack::watchdog_after`]).
    pub watchdog: WatchdogService<ManualClock>,
    watchdog_clock: ManualClock,
    pub key: CallbackKey,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn stack() -> Stack {
    stack_with(Options::default()).await
}

pub async fn stack_with(options: Options) -> Stack {
    let moto = moto_url();
    let direct = sdk_config(&moto).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let provisioned =
        streamguard_core::aws::provision::provision(&direct, &format!("sg-{suffix}"), &format!("sg-{suffix}"))
            .await
            .expect("moto provisions the table and queues");

    let proxies = [
        chaos::Chaos::start(&moto).await,
        chaos::Chaos::start(&moto).await,
        chaos::Chaos::start(&moto).await,
        chaos::Chaos::start(&moto).await,
        chaos::Chaos::start(&moto).await,
        chaos::Chaos::start(&moto).await,
    ];
    let [
        start_sdk,
        close_sdk,
        callback_sdk,
        watchdog_sdk,
        archiver_sdk,
        history_sdk,
    ] = [
        sdk_config(&proxies[0].url).await,
        sdk_config(&proxies[1].url).await,
        sdk_config(&proxies[2].url).await,
        sdk_config(&proxies[3].url).await,
        sdk_config(&proxies[4].url).await,
        sdk_config(&proxies[5].url).await,
    ];

    let mut sim_config = SimConfig::for_tests(ACCESS_KEY);
    // DeepCleer's retries are spread out; 60 s (simulated) apart they span a few real seconds,
    // so a moment of slowness under load does not exhaust them.
    sim_config.callback_backoff = Duration::from_secs(60);
    sim_config.zego = Some(simulator::ZegoCredentials {
        app_id: ZEGO_APP_ID,
        server_secret: ZEGO_SERVER_SECRET.into(),
        callback_secret: ZEGO_CALLBACK_SECRET.into(),
    });
    (options.simulator)(&mut sim_config);
    let sim = Simulator::start(sim_config).await.expect("the simulator starts");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let mut env: HashMap<&str, String> = HashMap::from([
        ("TABLE_NAME", provisioned.table_name.clone()),
        ("QUEUE_URL", provisioned.queue_url.clone()),
        ("EVIDENCE_BUCKET", provisioned.evidence_bucket.clone()),
        // The simulator serves its audio over plain http on loopback; no wait between fetches.
        ("EVIDENCE_ALLOW_HTTP", "true".to_owned()),
        ("EVIDENCE_FETCH_BACKOFF_MS", "0".to_owned()),
        ("DEEPCLEER_BASE_URL", sim.url()),
        ("DEEPCLEER_VIDEO_BASE_URL", sim.url()),
        ("DEEPCLEER_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("CALLBACK_TOKEN_KEY", CALLBACK_KEY.to_owned()),
        ("CALLBACK_BASE_URL", api.clone()),
        ("DEFAULT_APP_ID", "default".to_owned()),
        ("DEFAULT_EVENT_ID", "liveAudio".to_owned()),
        ("PROGRESS_INTERVAL_SECS", "0".to_owned()),
        ("ZEGO_BASE_URL", sim.url()),
        ("ZEGO_APP_ID", ZEGO_APP_ID.to_string()),
        ("ZEGO_SERVER_SECRET", ZEGO_SERVER_SECRET.to_owned()),
        ("ZEGO_CALLBACK_SECRET", ZEGO_CALLBACK_SECRET.to_owned()),
    ]);
    env.extend(options.env);
    let env = Env::from_pairs(env);
    let functions = devserver::Functions {
        start: streamguard_core::app::start_service(&env, &start_sdk).await.unwrap(),
        close: streamguard_core::app::close_service(&env, &close_sdk).await.unwrap(),
        callback: streamguard_core::app::callback_service(&env, &callback_sdk)
            .await
            .unwrap(),
        history: streamguard_core::app::history_service(&env, &history_sdk)
            .await
            .unwrap(),
    };
    let archiver = streamguard_core::app::archiver_service(&env, &archiver_sdk)
        .await
        .unwrap();
    let feed = devserver::stream_feed::StreamFeed::open(&direct, &provisioned.table_name)
        .await
        .expect("the table has a stream");
    let watchdog_clock = ManualClock::at(time::OffsetDateTime::now_utc());
    let watchdog = streamguard_core::app::watchdog_service(&env, &watchdog_sdk, watchdog_clock.clone())
        .await
        .unwrap();
    let router = devserver::in_process(Arc::new(functions));
    let server = tokio::spawn(async move {
        let _ = devserver::serve(listener, router).await;
    });
    Stack {
        api,
        sim,
        http: reqwest::Client::builder().timeout(CLIENT_TIMEOUT).build().unwrap(),
        sqs: aws_sdk_sqs::Client::new(&direct),
        dynamo: aws_sdk_dynamodb::Client::new(&direct),
        table: provisioned.table_name,
        queue_url: provisioned.queue_url,
        chaos: proxies[2].clone(),
        proxies,
        watchdog,
        watchdog_clock,
        archiver,
        feed: tokio::sync::Mutex::new(feed),
        s3: aws_sdk_s3::Client::new(&direct),
        evidence_bucket: provisioned.evidence_bucket.clone(),
        key: CallbackKey::new(CALLBACK_KEY.as_bytes(), streamguard_core::providers::REGISTERED).unwrap(),
        server,
    }
}

/// A start body for an Agora room (the scenario decides what it hears). With
/// `returnAllText` 0 only non-PASS segments are delivered, which keeps the
/// fast-running simulated streams from flooding moto.
pub fn agora(bt_id: &str) -> Value {
    json!({
        "type": "POLITY_DIRTY",
        "data": { "tokenId": "user-1", "btId": bt_id, "streamType": "AGORA", "returnAllText": 0,
                  "agoraParam": { "appId": "agora-app", "channel": format!("channel-{bt_id}"), "token": "agora-secret", "uid": 7 } }
    })
}

impl Stack {
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.api));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn start(&self, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/streams", Some(body)).await
    }

    pub async fn get(&self, bt_id: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, &format!("/streams/{bt_id}"), None)
            .await
    }

    /// One watchdog run as if `after` had passed since now (the other
    /// functions run on the real clock; the watchdog's is moved instead of
    /// waiting).
    pub async fn watchdog_after(&self, after: Duration) -> Report {
        self.watchdog_clock.set(time::OffsetDateTime::now_utc() + after);
        streamguard_core::scheduled::watchdog_function(&self.watchdog)
            .await
            .expect("the watchdog run completes")
    }

    /// Feeds the archiver every new record of the table's stream, as the
    /// event source mapping does; how many new segment events it handed over.
    pub async fn archive(&self) -> usize {
        self.feed
            .lock()
            .await
            .feed(&self.archiver)
            .await
            .expect("moto's stream is read")
    }

    /// Feeds the archiver the whole stream again, from its oldest record, as
    /// a redelivery long after would; how many segment events it handed over.
    pub async fn archive_from_the_start(&self) -> usize {
        let mut feed = devserver::stream_feed::StreamFeed::open(&sdk_config(&moto_url()).await, &self.table)
            .await
            .expect("the table has a stream");
        feed.feed(&self.archiver).await.expect("moto's stream is read")
    }

    /// The keys of the evidence archive and how many versions each has.
    pub async fn archived(&self) -> std::collections::BTreeMap<String, usize> {
        let versions = self
            .s3
            .list_object_versions()
            .bucket(&self.evidence_bucket)
            .send()
            .await
            .expect("moto lists the versions");
        let mut counts = std::collections::BTreeMap::new();
        for version in versions.versions() {
            *counts.entry(version.key().unwrap_or_default().to_owned()).or_default() += 1;
        }
        counts
    }

    /// `GET /streams` with a query.
    pub async fn list(&self, query: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, &format!("/streams?{query}"), None)
            .await
    }

    pub async fn close(&self, bt_id: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, &format!("/streams/{bt_id}/close"), None)
            .await
    }

    fn control_client(&self) -> ControlClient {
        ControlClient::new(self.sim.url(), self.http.clone())
    }

    /// `GET` on the simulator's control endpoint.
    pub async fn sim(&self, path_and_query: &str) -> (u16, Value) {
        self.control_client().get(path_and_query).await.unwrap()
    }

    /// Waits (on the simulator) until `min` items of a listing match.
    pub async fn sim_wait(&self, listing: &str, query: &str, min: usize) -> Vec<Value> {
        let waited = self.control_client().wait_items(listing, query, min, WAIT).await;
        waited.unwrap_or_else(|error| panic!("{error}"))
    }

    /// Starts a stray copy of the provider's task `request_id` (same stream,
    /// same callback URL); the copy's id.
    pub async fn stray(&self, request_id: &str) -> String {
        self.control_client().start_stray(request_id).await.unwrap()
    }

    pub async fn scenario(&self, scenario: Value) {
        self.control_client().put_scenario(&scenario).await.unwrap();
    }

    pub async fn fault(&self, fault: Value) {
        self.control_client().add_fault(&fault).await.unwrap();
    }

    /// Every message now on the queue (received and deleted), parsed.
    pub async fn drain(&self) -> Vec<QueueEvent> {
        let mut events = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .message_attribute_names("All")
                .send()
                .await
                .expect("moto answers");
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                let body = message.body.unwrap_or_default();
                assert_schema_valid(&body);
                events.push(serde_json::from_str(&body).expect("a queue event"));
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Signs a callback token as the deployment does (to reach the callback route directly).
    pub fn token(&self, bt_id: &str, task_id: &str) -> String {
        self.token_for(deepcleer::ID, bt_id, task_id)
    }

    /// The same, for a given provider.
    pub fn token_for(&self, provider: ProviderId, bt_id: &str, task_id: &str) -> String {
        let task = streamguard_core::domain::TaskRef {
            provider,
            bt_id: bt_id.to_owned(),
            task_id: task_id.to_owned(),
        };
        self.key.sign(&task, time::OffsetDateTime::now_utc() + TOKEN_LIFETIME)
    }

    /// How many items the table holds under a btId (tasks and event records).
    pub async fn items_for(&self, bt_id: &str) -> usize {
        let output = self
            .dynamo
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("STREAM#{bt_id}")),
            )
            .send()
            .await
            .unwrap();
        output.count as usize
    }
}

/// Every queue message satisfies the published JSON Schema.
pub fn assert_schema_valid(body: &str) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/wire/schema/queue-event.v1.schema.json"
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    });
    let json: Value = serde_json::from_str(body).unwrap();
    let errors: Vec<String> = validator.iter_errors(&json).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?} in {body}");
}

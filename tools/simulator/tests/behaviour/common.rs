//! Test harness: a simulator, a callback receiver and a stream-source server,
//! all on loopback, driven over HTTP.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use simulator::receiver::CallbackReceiver;
use simulator::{Config, ControlClient, Simulator};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub const ACCESS_KEY: &str = "sim-access-key";
/// Generous: CI machines are slow; a passing test never waits this long.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct Harness {
    pub sim: Simulator,
    pub receiver: CallbackReceiver,
    pub http: reqwest::Client,
    pub sources: Sources,
}

pub async fn harness(configure: impl FnOnce(&mut Config)) -> Harness {
    let mut config = Config::for_tests(ACCESS_KEY);
    configure(&mut config);
    let sim = Simulator::start(config).await.expect("the simulator starts");
    let receiver = CallbackReceiver::start().await.expect("the receiver starts");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Harness {
        sim,
        receiver,
        http,
        sources: Sources::start().await,
    }
}

impl Harness {
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.url()))
            .json(body)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200, "the provider answers HTTP 200 with a code");
        response.json().await.expect("JSON")
    }

    pub async fn start(&self, body: &Value) -> Value {
        self.post("/audiostream/v4", body).await
    }

    pub async fn close(&self, request_id: &str) -> Value {
        self.post(
            "/finish_audiostream/v4",
            &json!({"accessKey": ACCESS_KEY, "requestId": request_id}),
        )
        .await
    }

    fn control_client(&self) -> ControlClient {
        ControlClient::new(self.sim.url(), self.http.clone())
    }

    /// `GET /_sim/…`; returns the status and the JSON body.
    pub async fn control(&self, path_and_query: &str) -> (u16, Value) {
        self.control_client().get(path_and_query).await.expect("an answer")
    }

    /// Waits (on the control endpoint) for `min` items of a listing; panics with what there was otherwise.
    pub async fn wait_items(&self, listing: &str, query: &str, min: usize) -> Vec<Value> {
        let waited = self.control_client().wait_items(listing, query, min, WAIT).await;
        waited.unwrap_or_else(|error| panic!("{error}"))
    }

    pub async fn put_scenario(&self, scenario: Value) {
        self.control_client().put_scenario(&scenario).await.unwrap();
    }

    pub async fn add_fault(&self, fault: Value) {
        self.control_client().add_fault(&fault).await.unwrap();
    }

    /// A start request for a NORMAL stream that calls back to the receiver.
    pub fn normal(&self, bt_id: &str, url: &str) -> Value {
        json!({
            "accessKey": ACCESS_KEY, "appId": "default", "eventId": "liveAudio", "type": "POLITY_DIRTY",
            "callback": self.receiver.url(&format!("/cb/{bt_id}")),
            "data": { "tokenId": "user-1", "btId": bt_id, "streamType": "NORMAL", "url": url, "returnFinishInfo": 1 }
        })
    }

    /// A start request for an RTC (Agora) room, decided by the scenario.
    pub fn agora(&self, bt_id: &str, channel: &str) -> Value {
        json!({
            "accessKey": ACCESS_KEY, "appId": "default", "eventId": "liveAudio", "type": "POLITY",
            "callback": self.receiver.url(&format!("/cb/{bt_id}")),
            "data": { "tokenId": "user-1", "btId": bt_id, "streamType": "AGORA", "returnFinishInfo": 1,
                      "agoraParam": { "appId": "agora-app", "channel": channel, "token": "agora-secret-token", "uid": 7 } }
        })
    }

    /// Callbacks received for `bt_id` (by callback path).
    pub async fn callbacks(&self, bt_id: &str, count: usize) -> Vec<Value> {
        let path = format!("/cb/{bt_id}");
        match self
            .receiver
            .wait_for(count, WAIT, |received| received.uri == path)
            .await
        {
            Ok(found) => found.into_iter().map(|received| received.body).collect(),
            Err(all) => panic!(
                "waited for {count} callbacks of {bt_id}; got {:?}",
                all.iter().map(|r| &r.body).collect::<Vec<_>>()
            ),
        }
    }

    /// The stream-end callback for `bt_id`.
    pub async fn stream_end(&self, bt_id: &str) -> Value {
        let path = format!("/cb/{bt_id}");
        let found = self
            .receiver
            .wait_for(1, WAIT, |received| {
                received.uri == path && received.body["statCode"] == 1
            })
            .await
            .unwrap_or_else(|all| {
                panic!(
                    "no stream end for {bt_id}: {:?}",
                    all.iter().map(|r| &r.body).collect::<Vec<_>>()
                )
            });
        found[0].body.clone()
    }
}

/// Stream sources for NORMAL pulls.
pub struct Sources {
    pub url: String,
    pub flaky_hits: Arc<AtomicU32>,
    _server: tokio::task::JoinHandle<()>,
}

impl Sources {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let flaky_hits = Arc::new(AtomicU32::new(0));
        let hits = flaky_hits.clone();
        let mut wav = simulator::pull::wav_header(25);
        wav.extend(std::iter::repeat_n(0u8, 1024));
        let app = Router::new()
            .route("/missing.flv", get(|| async { StatusCode::NOT_FOUND }))
            .route("/forbidden.flv", get(|| async { StatusCode::FORBIDDEN }))
            .route("/page.html", get(|| async { "<html><body>not audio</body></html>" }))
            .route("/empty.mp3", get(|| async { "" }))
            .route(
                "/live.mp3",
                get(|| async { b"ID3\x04\x00\x00\x00\x00\x00\x00 and then frames".as_slice() }),
            )
            .route(
                "/clip.wav",
                get(move || {
                    let wav = wav.clone();
                    async move { wav }
                }),
            )
            .route(
                "/flaky.mp3",
                get(move || {
                    let hits = hits.clone();
                    async move {
                        if hits.fetch_add(1, Ordering::SeqCst) < 2 {
                            Err(StatusCode::NOT_FOUND)
                        } else {
                            Ok(b"ID3\x04\x00\x00".as_slice())
                        }
                    }
                }),
            );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sources {
            url,
            flaky_hits,
            _server: server,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

//! Cold start through the Lambda Runtime API, emulated just enough: the
//! function process is started with `AWS_LAMBDA_RUNTIME_API` pointing here;
//! its first `GET /2018-06-01/runtime/invocation/next` marks it ready (init
//! done: configuration, secrets, clients, connections); it gets one API
//! Gateway v2 event and its response ends the measurement. The function's
//! log line "connections opened" tells how much of init was round trips to
//! the AWS endpoint. Peak RSS is read from
//! `/proc/<pid>/status` (VmHWM) before the process is stopped.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

/// One cold start.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    /// Process start to the first poll for work.
    pub ready_ms: f64,
    /// The part of `ready_ms` spent opening AWS connections (round trips to
    /// the AWS endpoint, moto here), as the function logs it (`warm_up_ms`).
    pub warm_up_ms: Option<f64>,
    /// First poll to the first response (includes the handler's AWS calls).
    pub first_response_ms: f64,
    pub peak_rss_kb: u64,
    /// The HTTP status the function answered.
    pub status: u16,
}

/// An API Gateway v2 (HTTP API) event for `method path` with `body`.
pub fn http_event(method: &str, path: &str, body: Option<&str>) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "bench.execute-api.us-east-1.amazonaws.com", "content-type": "application/json", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench", "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench-request", "routeKey": "$default", "stage": "$default",
            "time": "21/Nov/2026:06:00:00 +0000", "timeEpoch": 1_795_000_000_000u64
        },
        "body": body, "isBase64Encoded": false
    })
}

/// One function's first request in the benchmark, and the status it must get.
pub struct Case {
    pub function: &'static str,
    /// What the request costs, for the table.
    pub what: &'static str,
    pub status: u16,
    method: &'static str,
    path: String,
    /// The callback's REJECT: a new segment each run, so each is a first publication.
    reject: bool,
}

impl Case {
    /// The event of run `run` (0-based).
    pub fn event(&self, run: usize) -> Value {
        let body = self.reject.then(|| {
            json!({"requestId": format!("ffffffffffffffffffffffffffffffff_{}", run + 1), "btId": "1637847086612",
                   "code": 1100, "audioDetail": {"riskLevel": "REJECT", "audioText": "bench"}})
            .to_string()
        });
        http_event(self.method, &self.path, body.as_deref())
    }
}

/// The first request of each function: start and close look up an unknown
/// stream; the callback, authenticated by `callback_token`, publishes a REJECT.
pub fn cases(callback_token: &str) -> [Case; 3] {
    let case = |function, what, status, method, path: &str, reject| Case {
        function,
        what,
        status,
        method,
        path: path.to_owned(),
        reject,
    };
    [
        case(
            "start",
            "GET /streams/{btId}: 1 DynamoDB read",
            404,
            "GET",
            "/streams/bench-missing",
            false,
        ),
        case(
            "close",
            "close an unknown btId: 1 read",
            404,
            "POST",
            "/streams/bench-missing/close",
            false,
        ),
        case(
            "callback",
            "a REJECT: 2 reads, 1 send, 1 write",
            200,
            "POST",
            &format!("/callbacks/{callback_token}"),
            true,
        ),
    ]
}

/// A fresh table and queue in moto at `endpoint`, and the environment every
/// function binary gets: their names, secrets as values, the Lambda-style
/// AWS variables, and a log level that keeps the warm-up line.
pub async fn environment(endpoint: &str) -> Result<Vec<(String, String)>, String> {
    let name = format!("coldstart-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let provisioned =
        streamguard_core::aws::provision::provision(&crate::moto_sdk(endpoint).await, &name, &name).await?;
    Ok([
        ("TABLE_NAME", provisioned.table_name.as_str()),
        ("QUEUE_URL", provisioned.queue_url.as_str()),
        ("DEEPCLEER_ACCESS_KEY", "bench-access-key"),
        ("CALLBACK_TOKEN_KEY", crate::cpu::CALLBACK_TOKEN_KEY),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        // Warnings, and the init line that reports the connection warm-up.
        ("LOG_LEVEL", "warn,streamguard_core::app=info"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect())
}

struct Runtime {
    event: Value,
    served: Mutex<bool>,
    ready: Mutex<Option<oneshot::Sender<Instant>>>,
    response: Mutex<Option<oneshot::Sender<(Instant, Value)>>>,
    never: Notify,
}

async fn next(State(runtime): State<Arc<Runtime>>) -> impl IntoResponse {
    let now = Instant::now();
    if let Some(ready) = runtime.ready.lock().unwrap().take() {
        let _ = ready.send(now);
    }
    let first = !std::mem::replace(&mut *runtime.served.lock().unwrap(), true);
    if !first {
        // One invocation per cold start: later polls wait until the process is stopped.
        runtime.never.notified().await;
    }
    let deadline = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("bench-invocation"),
    );
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000"),
    );
    (headers, runtime.event.to_string())
}

async fn respond(State(runtime): State<Arc<Runtime>>, Path(_id): Path<String>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if let Some(response) = runtime.response.lock().unwrap().take() {
        let _ = response.send((Instant::now(), value));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(runtime): State<Arc<Runtime>>, body: String) -> StatusCode {
    if let Some(response) = runtime.response.lock().unwrap().take() {
        let _ = response.send((Instant::now(), json!({"initError": body})));
    }
    StatusCode::ACCEPTED
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts `binary` once with `env` and measures its cold start serving `event`.
pub async fn measure(binary: &std::path::Path, env: &[(String, String)], event: Value) -> Result<Measurement, String> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let (response_tx, response_rx) = oneshot::channel();
    let runtime = Arc::new(Runtime {
        event,
        served: Mutex::new(false),
        ready: Mutex::new(Some(ready_tx)),
        response: Mutex::new(Some(response_tx)),
        never: Notify::new(),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(respond))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(runtime.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| error.to_string())?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut command = tokio::process::Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
    let pid = child.id().unwrap_or_default();
    let logs = child.stdout.take().map(|stdout| tokio::spawn(warm_up_logged(stdout)));
    let outcome = async {
        let ready = tokio::time::timeout(Duration::from_secs(60), ready_rx)
            .await
            .map_err(|_| "the function never polled for work")?;
        let ready = ready.map_err(|_| "the emulator stopped")?;
        let (answered, response) = tokio::time::timeout(Duration::from_secs(60), response_rx)
            .await
            .map_err(|_| "no response")?
            .map_err(|_| "no response")?;
        if response.get("initError").is_some() {
            return Err(format!("init failed: {response}"));
        }
        Ok(Measurement {
            ready_ms: (ready - started).as_secs_f64() * 1e3,
            warm_up_ms: None,
            first_response_ms: (answered - ready).as_secs_f64() * 1e3,
            peak_rss_kb: peak_rss_kb(pid),
            status: response["statusCode"].as_u64().unwrap_or(0) as u16,
        })
    }
    .await;
    let _ = child.kill().await;
    server.abort();
    // The process is gone, so its stdout is at its end and the reader returns.
    let warm_up_ms = match logs {
        Some(reader) => reader.await.ok().flatten(),
        None => None,
    };
    outcome.map(|measured| Measurement { warm_up_ms, ..measured })
}

/// Reads the function's JSON log lines to their end and returns the
/// `warm_up_ms` of its "connections opened" line, if it logged one.
async fn warm_up_logged(stdout: tokio::process::ChildStdout) -> Option<f64> {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut found = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(entry) = serde_json::from_str::<Value>(&line) {
            found = found.or(entry["fields"]["warm_up_ms"].as_f64());
        }
    }
    found
}

//! The bundle's HTTP API on one local port, as API Gateway serves it in AWS:
//! the same routes, dispatched to the HTTP functions; the watchdog on a
//! timer, as EventBridge runs it ([`every`]); and the archiver fed by the
//! table's stream, as the event source mapping feeds it ([`stream_feed`]).
//!
//! - In-process ([`in_process`]): the functions' own handlers
//!   (`streamguard_core::http::*_function`) are called with a `lambda_http`
//!   request built from the HTTP request. Fast to start; what the local run
//!   and most end-to-end tests use.
//! - Through the Lambda runtime interface ([`lambda_runtime`]): each request
//!   is forwarded to `cargo lambda watch`, which runs the real function
//!   binaries behind the Lambda runtime API (its function-URL emulation,
//!   `/lambda-url/<function>/<path>`).

pub mod stream_feed;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use lambda_http::Body;
use lambda_http::http::StatusCode;
use std::sync::Arc;
use streamguard_core::app::{self, CallbackService, CloseService, HistoryService, StartService, WatchdogService};
use streamguard_core::config::Env;
use streamguard_core::functions::Function;
use streamguard_core::http::routes::{self, Resolution};
use streamguard_core::init::InitError;
use streamguard_core::ports::Clock;

/// API Gateway's payload limit; the handlers enforce their own, smaller ones.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The HTTP functions' services, built once.
pub struct Functions {
    pub start: StartService,
    pub close: CloseService,
    pub callback: CallbackService,
    pub history: HistoryService,
}

impl Functions {
    /// Each function's service from the same environment, as each Lambda
    /// function would build its own.
    pub async fn build(env: &Env, sdk: &aws_config::SdkConfig) -> Result<Self, InitError> {
        Ok(Functions {
            start: app::start_service(env, sdk).await?,
            close: app::close_service(env, sdk).await?,
            callback: app::callback_service(env, sdk).await?,
            history: app::history_service(env, sdk).await?,
        })
    }
}

/// The function that serves a request, or the answer when none does (404,
/// or 405 with `Allow`), from the one route table.
fn function_for(request: &Request) -> Result<Function, Box<Response>> {
    match routes::resolve(request.method().as_str(), request.uri().path()) {
        Resolution::Matched(matched) => Ok(matched.route.function),
        other => Err(Box::new(into_axum(streamguard_core::http::unrouted(&other)))),
    }
}

/// An answer of the functions' handlers as axum's.
fn into_axum(response: lambda_http::Response<Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(binary) => binary,
        _ => Vec::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn read_body(request: Request) -> Result<(lambda_http::http::request::Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok((parts, bytes)),
        Err(_) => Err((StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()),
    }
}

/// The router that calls the handlers in this process.
pub fn in_process(functions: Arc<Functions>) -> Router {
    Router::new().fallback(dispatch).with_state(functions)
}

async fn dispatch(State(functions): State<Arc<Functions>>, request: Request) -> Response {
    let function = match function_for(&request) {
        Ok(function) => function,
        Err(response) => return *response,
    };
    let (parts, bytes) = match read_body(request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(binary) => Body::Binary(binary.into_bytes()),
    };
    let request = lambda_http::Request::from_parts(parts, body);
    let Ok(response) = match function {
        Function::Start => streamguard_core::http::start_function(&functions.start, request).await,
        Function::Close => streamguard_core::http::close_function(&functions.close, request).await,
        Function::Callback => streamguard_core::http::callback_function(&functions.callback, request).await,
        Function::History => streamguard_core::http::history_function(&functions.history, request).await,
        // No route leads to these: a schedule and a stream feed them.
        Function::Watchdog | Function::Archiver => Ok(streamguard_core::http::unrouted(&Resolution::NotFound)),
    };
    into_axum(response)
}

/// The router that forwards to `cargo lambda watch` at `runtime_url`.
pub fn lambda_runtime(runtime_url: String) -> Router {
    let client = reqwest::Client::builder().build().expect("an HTTP client");
    Router::new()
        .fallback(forward)
        .with_state(Arc::new((client, runtime_url.trim_end_matches('/').to_owned())))
}

async fn forward(State(target): State<Arc<(reqwest::Client, String)>>, request: Request) -> Response {
    let (client, runtime_url) = target.as_ref();
    let function = match function_for(&request) {
        Ok(function) => function,
        Err(response) => return *response,
    };
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|value| value.as_str().to_owned())
        .unwrap_or_default();
    let (parts, bytes) = match read_body(request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let url = format!("{runtime_url}/lambda-url/{function}{path_and_query}");
    let mut outgoing = client.request(parts.method, url).body(bytes);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(axum::body::Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("the Lambda runtime emulator did not answer: {error}"),
        )
            .into_response(),
    }
}

/// Runs the watchdog every `period`, as the schedule does in AWS, until the
/// process ends; a failed run is logged and the next one tries again.
pub async fn every<C: Clock>(watchdog: WatchdogService<C>, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Ok(report) = streamguard_core::scheduled::watchdog_function(&watchdog).await {
            tracing::info!(?report, "watchdog run");
        }
    }
}

/// Feeds the archiver from the table's stream every `period`, until the
/// process ends; a failed read is logged and tried again.
pub async fn archive_every(
    archiver: app::ArchiverService,
    mut feed: stream_feed::StreamFeed,
    period: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = feed.feed(&archiver).await {
            tracing::warn!(%error, "the stream could not be read");
        }
    }
}

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

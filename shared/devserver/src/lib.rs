//! The bundle's HTTP API on one local port, as API Gateway serves it in AWS:
//! the same routes, dispatched to the three functions.
//!
//! - In-process ([`in_process`]): the functions' own handlers
//!   (`streamguard::http::*_function`) are called with a `lambda_http`
//!   request built from the HTTP request. Fast to start; what the local run
//!   and most end-to-end tests use.
//! - Through the Lambda runtime interface ([`lambda_runtime`]): each request
//!   is forwarded to `cargo lambda watch`, which runs the real function
//!   binaries behind the Lambda runtime API (its function-URL emulation,
//!   `/lambda-url/<function>/<path>`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use lambda_http::Body;
use lambda_http::http::StatusCode;
use std::sync::Arc;
use streamguard::app::{CallbackService, ControlService};
use streamguard::http::{HttpSettings, Route, route};

/// API Gateway's payload limit; the handlers enforce their own, smaller ones.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The three functions' services, built once.
pub struct Functions {
    pub start: ControlService,
    pub close: ControlService,
    pub callback: CallbackService,
    pub settings: HttpSettings,
}

/// Which function serves a route, by its binary name.
pub fn function_for(route: &Route) -> Option<&'static str> {
    match route {
        Route::Start | Route::GetStream(_) => Some("start"),
        Route::CloseStream(_) | Route::CloseRequest { .. } => Some("close"),
        Route::Callback(_) => Some("callback"),
        Route::MethodNotAllowed | Route::NotFound => None,
    }
}

fn not_routed(route: &Route) -> Response {
    let (status, code) = match route {
        Route::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
        _ => (StatusCode::NOT_FOUND, "NOT_FOUND"),
    };
    let body = format!(r#"{{"error":{{"code":"{code}","message":"no such route"}}}}"#);
    (status, [("content-type", "application/json")], body).into_response()
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
    let target = route(request.method(), request.uri().path(), request.uri().query());
    let Some(function) = function_for(&target) else {
        return not_routed(&target);
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
    let response = match function {
        "start" => streamguard::http::start_function(&functions.start, &functions.settings, request).await,
        "close" => streamguard::http::close_function(&functions.close, request).await,
        _ => streamguard::http::callback_function(&functions.callback, request).await,
    };
    let Ok(response) = response;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(binary) => binary,
        _ => Vec::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
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
    let routed = route(request.method(), request.uri().path(), request.uri().query());
    let Some(function) = function_for(&routed) else {
        return not_routed(&routed);
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
    if let Some(host) = parts.headers.get("host") {
        outgoing = outgoing.header("x-forwarded-host", host);
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

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

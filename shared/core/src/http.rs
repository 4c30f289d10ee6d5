//! The HTTP API over the domain, shared by the three functions (and by the
//! local dev server, which calls the same handlers):
//!
//! | route | function |
//! |---|---|
//! | `POST /streams` | start |
//! | `GET /streams/{btId}` | start |
//! | `POST /streams/{btId}/close` | close |
//! | `POST /requests/{requestId}/close[?media=video]` | close |
//! | `POST /callbacks/{token}` | callback (public; the token authenticates) |
//!
//! Errors become responses in one place ([`ApiError::status`]); a handler
//! never returns `Err` to the runtime, which would be an unplanned 502.

use crate::domain::callback::Outcome;
use crate::domain::close::Closed;
use crate::domain::start::Started;
use crate::domain::{ApiError, Streamguard, Task};
use crate::metrics;
use crate::ports::{Clock, EventQueue, StreamProvider, TaskStore};
use lambda_http::http::{HeaderMap, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::convert::Infallible;
use wire::deepcleer::{MediaKind, RiskLevel};

/// Largest callback accepted: DeepCleer echoes up to 1 MB of request data in
/// `requestParams`, plus the segment; Lambda's limit is 6 MB (and a base64
/// body grows by a third), so 2 MiB leaves room on both sides.
pub const MAX_CALLBACK_BYTES: usize = 2 * 1024 * 1024;

/// Largest start body: the 1 MB `data` limit plus the envelope.
pub const MAX_START_BYTES: usize = 1024 * 1024 + 64 * 1024;

/// Every route the functions serve: method, path template, function.
/// The OpenAPI document and the SAM template are tested against this list.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/streams", "start"),
    ("GET", "/streams/{btId}", "start"),
    ("POST", "/streams/{btId}/close", "close"),
    ("POST", "/requests/{requestId}/close", "close"),
    ("POST", "/callbacks/{token}", "callback"),
];

/// What the HTTP layer needs beyond the domain.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Public base URL of the callback route; derived from the request when absent.
    pub callback_base_url: Option<String>,
}

/// A route of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Start,
    GetStream(String),
    CloseStream(String),
    CloseRequest {
        request_id: String,
        media: MediaKind,
    },
    Callback(String),
    /// The path exists but not with this method.
    MethodNotAllowed,
    NotFound,
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Maps method and path (and query, for `media`) to a route.
pub fn route(method: &Method, path: &str, query: Option<&str>) -> Route {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let post = method == Method::POST;
    let with = |route: Route| if post { route } else { Route::MethodNotAllowed };
    match segments.as_slice() {
        ["streams"] => with(Route::Start),
        ["streams", bt_id] if method == Method::GET => Route::GetStream(decode(bt_id)),
        ["streams", _] => Route::MethodNotAllowed,
        ["streams", bt_id, "close"] => with(Route::CloseStream(decode(bt_id))),
        ["requests", request_id, "close"] => {
            let video = query.unwrap_or_default().split('&').any(|pair| pair == "media=video");
            let media = if video { MediaKind::Video } else { MediaKind::Audio };
            with(Route::CloseRequest {
                request_id: decode(request_id),
                media,
            })
        }
        ["callbacks", token] => with(Route::Callback((*token).to_owned())),
        _ => Route::NotFound,
    }
}

/// The task as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    /// Published REJECT segments (present on `GET /streams/{btId}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_count: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloseView {
    request_id: Option<String>,
    /// `false` when the task had already ended: nothing was sent to the provider.
    provider_called: bool,
    /// The task, when streamguard started it.
    task: Option<TaskView>,
}

fn json(status: u16, body: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("status and header are valid")
}

fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = json(error.status(), &error.body());
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

fn simple_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json(
        status.as_u16(),
        &serde_json::json!({ "error": { "code": code, "message": message } }),
    )
}

/// `scheme://host` of the request, as the provider must reach it.
fn request_base(headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))?
        .to_str()
        .ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// Provider failures, by code, for the functions that call the provider.
fn count_provider_error(function: &str, error: &ApiError) {
    let code = match error {
        ApiError::ProviderRefused { code, .. } => code.code().to_string(),
        ApiError::ProviderTimeout => "TIMEOUT".to_owned(),
        ApiError::ProviderUnavailable(_) => "UNAVAILABLE".to_owned(),
        _ => return,
    };
    metrics::count(function, "ProviderErrors", &[("Code", &code)]);
}

/// Runs a handler body, logging the outcome once, turning errors into responses.
fn finish(route: &Route, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    match result {
        Ok(response) => {
            tracing::info!(
                route = route_name(route),
                status = response.status().as_u16(),
                "request handled"
            );
            response
        }
        Err(error) => {
            let status = error.status();
            if status >= 500 {
                tracing::error!(route = route_name(route), status, %error, "request failed");
            } else {
                tracing::info!(route = route_name(route), status, %error, "request refused");
            }
            error_response(&error)
        }
    }
}

fn route_name(route: &Route) -> &'static str {
    match route {
        Route::Start => "start",
        Route::GetStream(_) => "getStream",
        Route::CloseStream(_) => "closeStream",
        Route::CloseRequest { .. } => "closeRequest",
        Route::Callback(_) => "callback",
        Route::MethodNotAllowed => "methodNotAllowed",
        Route::NotFound => "notFound",
    }
}

fn unrouted(route: &Route) -> Response<Body> {
    match route {
        Route::MethodNotAllowed => simple_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "method not allowed",
        ),
        _ => simple_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route in this function"),
    }
}

fn parse_route(request: &Request) -> Route {
    route(request.method(), request.uri().path(), request.uri().query())
}

/// The `start` function: `POST /streams`, `GET /streams/{btId}`.
pub async fn start_function<S, Q, P, C>(
    service: &Streamguard<S, Q, P, C>,
    settings: &HttpSettings,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: TaskStore,
    Q: EventQueue,
    P: StreamProvider,
    C: Clock,
{
    let route = parse_route(&request);
    let result = match &route {
        Route::Start => {
            let began = std::time::Instant::now();
            let result = start(service, settings, &request).await;
            metrics::emit(
                "start",
                "StartLatency",
                metrics::Unit::Milliseconds,
                began.elapsed().as_secs_f64() * 1e3,
                &[],
            );
            if let Err(error) = &result {
                count_provider_error("start", error);
                if error.status() >= 500 {
                    metrics::count("start", "StartFailures", &[]);
                }
            }
            result
        }
        Route::GetStream(bt_id) => get_stream(service, bt_id).await,
        other => return Ok(unrouted(other)),
    };
    Ok(finish(&route, result))
}

async fn start<S, Q, P, C>(
    service: &Streamguard<S, Q, P, C>,
    settings: &HttpSettings,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: TaskStore,
    Q: EventQueue,
    P: StreamProvider,
    C: Clock,
{
    let body = request.body().as_ref();
    if body.len() > MAX_START_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_START_BYTES });
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid_body("is not UTF-8"))?;
    let base = settings
        .callback_base_url
        .clone()
        .or_else(|| request_base(request.headers()))
        .ok_or_else(|| ApiError::Configuration("no CALLBACK_BASE_URL and no Host header to derive it from".into()))?;
    let Started { task, created } = service.start(text, &base).await?;
    let location = format!("/streams/{}", encode(&task.bt_id));
    let mut response = json(
        if created { 201 } else { 200 },
        &TaskView {
            task,
            reject_count: None,
        },
    );
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn invalid_body(rule: &str) -> ApiError {
    ApiError::Invalid(wire::Problems(vec![wire::Problem {
        field: "(body)".into(),
        rule: rule.into(),
    }]))
}

async fn get_stream<S, Q, P, C>(service: &Streamguard<S, Q, P, C>, bt_id: &str) -> Result<Response<Body>, ApiError>
where
    S: TaskStore,
    Q: EventQueue,
    P: StreamProvider,
    C: Clock,
{
    let task = service
        .store
        .get(bt_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no task for btId {bt_id}")))?;
    let reject_count = match task.segment_event_prefix() {
        Some(prefix) => {
            service
                .store
                .count_published(bt_id, &prefix, RiskLevel::Reject.as_str())
                .await?
        }
        None => 0,
    };
    Ok(json(
        200,
        &TaskView {
            task,
            reject_count: Some(reject_count),
        },
    ))
}

/// The `close` function: `POST /streams/{btId}/close`, `POST /requests/{requestId}/close`.
pub async fn close_function<S, Q, P, C>(
    service: &Streamguard<S, Q, P, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: TaskStore,
    Q: EventQueue,
    P: StreamProvider,
    C: Clock,
{
    let route = parse_route(&request);
    let result = match &route {
        Route::CloseStream(bt_id) => service.close_stream(bt_id).await,
        Route::CloseRequest { request_id, media } => service.close_request(request_id, *media).await,
        other => return Ok(unrouted(other)),
    };
    let result = result.map(
        |Closed {
             task,
             request_id,
             provider_called,
         }| {
            json(
                200,
                &CloseView {
                    request_id,
                    provider_called,
                    task: task.map(|task| TaskView {
                        task,
                        reject_count: None,
                    }),
                },
            )
        },
    );
    Ok(finish(&route, result))
}

/// The `callback` function: `POST /callbacks/{token}`.
pub async fn callback_function<S, Q, P, C>(
    service: &Streamguard<S, Q, P, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: TaskStore,
    Q: EventQueue,
    P: StreamProvider,
    C: Clock,
{
    let route = parse_route(&request);
    let Route::Callback(token) = &route else {
        return Ok(unrouted(&route));
    };
    let result = async {
        let task = service.authenticate(token)?;
        let body = request.body().as_ref();
        if body.len() > MAX_CALLBACK_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_CALLBACK_BYTES,
            });
        }
        let outcome = service.callback(&task, body).await?;
        let outcome = match outcome {
            Outcome::Published => {
                metrics::count("callback", "EventsPublished", &[]);
                "published"
            }
            Outcome::Duplicate => {
                metrics::count("callback", "DuplicatesSuppressed", &[]);
                "duplicate"
            }
            Outcome::Counted => "counted",
            Outcome::Ignored => "ignored",
        };
        Ok(json(200, &serde_json::json!({ "ok": true, "outcome": outcome })))
    }
    .await;
    match &result {
        Err(ApiError::Unauthorized) => metrics::count("callback", "ForgedCallbacks", &[]),
        Err(error) if error.status() >= 500 => metrics::count("callback", "CallbackErrors", &[]),
        _ => {}
    }
    Ok(finish(&route, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_is_what_the_router_serves() {
        for (method, template, _) in ROUTES {
            let path = template
                .replace("{btId}", "room-1")
                .replace("{requestId}", "abc")
                .replace("{token}", "t");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let routed = route(&method, &path, None);
            assert!(
                !matches!(routed, Route::NotFound | Route::MethodNotAllowed),
                "{method} {template}"
            );
        }
    }

    #[test]
    fn routes_are_recognised() {
        assert_eq!(route(&Method::POST, "/streams", None), Route::Start);
        assert_eq!(route(&Method::POST, "/streams/", None), Route::Start);
        assert_eq!(
            route(&Method::GET, "/streams/room%201", None),
            Route::GetStream("room 1".into())
        );
        assert_eq!(
            route(&Method::POST, "/streams/room-1/close", None),
            Route::CloseStream("room-1".into())
        );
        assert_eq!(
            route(&Method::POST, "/requests/abc/close", Some("media=video")),
            Route::CloseRequest {
                request_id: "abc".into(),
                media: MediaKind::Video
            }
        );
        assert_eq!(
            route(&Method::POST, "/requests/abc/close", None),
            Route::CloseRequest {
                request_id: "abc".into(),
                media: MediaKind::Audio
            }
        );
        assert_eq!(
            route(&Method::POST, "/callbacks/v1.x.y.z.t", None),
            Route::Callback("v1.x.y.z.t".into())
        );
        assert_eq!(route(&Method::GET, "/streams", None), Route::MethodNotAllowed);
        assert_eq!(route(&Method::DELETE, "/streams/x", None), Route::MethodNotAllowed);
        assert_eq!(route(&Method::GET, "/callbacks/t", None), Route::MethodNotAllowed);
        assert_eq!(route(&Method::POST, "/nope", None), Route::NotFound);
    }
}

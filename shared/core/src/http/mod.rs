//! The HTTP API over the domain: each function's handler serves its routes
//! of the one route table ([`routes::ROUTES`]); the local dev server calls
//! the same handlers.
//!
//! Errors become responses in one place ([`errors`]); a handler never
//! returns `Err` to the runtime, which would be an unplanned 502.

pub mod errors;
pub mod routes;

use crate::domain::callback::Outcome;
use crate::domain::close::Closed;
use crate::domain::provider::Media;
use crate::domain::start::Started;
use crate::domain::view::TaskView;
use crate::domain::{CallbackHandler, Closer, Error, History, Starter};
use crate::functions::Function;
use crate::metrics;
use crate::ports::{Clock, EventQueue, EvidenceArchive, TaskStore};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use routes::{Endpoint, Matched, Resolution, Route};
use serde::Serialize;
use std::convert::Infallible;
use streamguard_wire::{Problem, Problems};

/// Largest callback accepted: DeepCleer echoes up to 1 MB of request data in
/// `requestParams`, plus the segment; Lambda's limit is 6 MB (and a base64
/// body grows by a third), so 2 MiB leaves room on both sides.
pub const MAX_CALLBACK_BYTES: usize = 2 * 1024 * 1024;

/// Largest start body: the 1 MB `data` limit plus the envelope.
pub const MAX_START_BYTES: usize = 1024 * 1024 + 64 * 1024;

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

fn error_response(error: &Error) -> Response<Body> {
    let mut response = json(errors::status(error), &errors::body(error));
    if let Some(seconds) = errors::retry_after(error) {
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

/// The answer for a request that no route of `function` serves: 405 with
/// `Allow` for a known path, else 404.
pub fn unrouted(resolution: &Resolution) -> Response<Body> {
    match resolution {
        Resolution::MethodNotAllowed { allow } => {
            let mut response = simple_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "method not allowed",
            );
            if let Ok(allow) = HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
        _ => simple_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route in this function"),
    }
}

/// The route of `request` when `function` serves it; otherwise the answer.
fn routed(function: Function, request: &Request) -> Result<Matched, Box<Response<Body>>> {
    match routes::resolve(request.method().as_str(), request.uri().path()) {
        Resolution::Matched(matched) if matched.route.function == function => Ok(matched),
        Resolution::Matched(_) => Err(Box::new(unrouted(&Resolution::NotFound))),
        other => Err(Box::new(unrouted(&other))),
    }
}

/// Logs the outcome once and turns an error into its answer.
fn finish(route: &Route, result: Result<Response<Body>, Error>) -> Response<Body> {
    match result {
        Ok(response) => {
            tracing::info!(
                route = route.name,
                status = response.status().as_u16(),
                "request handled"
            );
            response
        }
        Err(error) => {
            let status = errors::status(&error);
            if status >= 500 {
                tracing::error!(route = route.name, status, %error, "request failed");
            } else {
                tracing::info!(route = route.name, status, %error, "request refused");
            }
            error_response(&error)
        }
    }
}

/// `https://<the API's own domain>`, from API Gateway's request context (the
/// domain the request reached, custom or `execute-api`). Never from a header:
/// `Host` and `X-Forwarded-Host` are the caller's to choose, and the callback
/// URL (which DeepCleer answers with an echo of the accessKey) must not go
/// where a caller points it.
fn api_base(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context
            .domain_name
            .as_deref()
            .filter(|domain| !domain.is_empty())
            .map(|domain| format!("https://{domain}")),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn invalid(field: &str, rule: impl Into<String>) -> Error {
    Error::Invalid(Problems(vec![Problem {
        field: field.into(),
        rule: rule.into(),
    }]))
}

/// A query parameter's value, decoded.
fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The `start` function: `POST /streams`, `GET /streams`, `GET /streams/{btId}`.
pub async fn start_function<S: TaskStore, C: Clock>(
    service: &Starter<S, C>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let matched = match routed(Function::Start, &request) {
        Ok(matched) => matched,
        Err(response) => return Ok(*response),
    };
    let result = match matched.route.endpoint {
        Endpoint::GetStream => service.view(matched.param("btId")).await.map(|view| json(200, &view)),
        Endpoint::ListStreams => service
            .list(
                query_param(&request, "status").as_deref(),
                query_param(&request, "limit").as_deref(),
                query_param(&request, "cursor").as_deref(),
            )
            .await
            .map(|page| json(200, &page)),
        _ => {
            let began = std::time::Instant::now();
            let result = start(service, &request).await;
            let elapsed_ms = began.elapsed().as_secs_f64() * 1e3;
            metrics::emit("start", "StartLatency", metrics::Unit::Milliseconds, elapsed_ms, &[]);
            if result.as_ref().is_err_and(|error| errors::status(error) >= 500) {
                metrics::count("start", "StartFailures", &[]);
            }
            result
        }
    };
    Ok(finish(matched.route, result))
}

async fn start<S: TaskStore, C: Clock>(service: &Starter<S, C>, request: &Request) -> Result<Response<Body>, Error> {
    let body = request.body().as_ref();
    if body.len() > MAX_START_BYTES {
        return Err(Error::TooLarge { limit: MAX_START_BYTES });
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid("(body)", "is not UTF-8"))?;
    let Started { task, created } = service.start(text, api_base(request).as_deref()).await?;
    let location = format!("/streams/{}", encode(&task.bt_id));
    let mut response = json(if created { 201 } else { 200 }, &TaskView::from(task));
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The `close` function: `POST /streams/{btId}/close`, `POST /requests/{requestId}/close`.
pub async fn close_function<S: TaskStore, C: Clock>(
    service: &Closer<S, C>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let matched = match routed(Function::Close, &request) {
        Ok(matched) => matched,
        Err(response) => return Ok(*response),
    };
    let result = match matched.route.endpoint {
        Endpoint::CloseStream => service.close_stream(matched.param("btId")).await,
        _ => close_request(service, &matched, &request).await,
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
                    task,
                },
            )
        },
    );
    Ok(finish(matched.route, result))
}

async fn close_request<S: TaskStore, C: Clock>(
    service: &Closer<S, C>,
    matched: &Matched,
    request: &Request,
) -> Result<Closed, Error> {
    let media = match query_param(request, "media").as_deref() {
        None | Some("audio") => Media::Audio,
        Some("video") => Media::Video,
        Some(other) => return Err(invalid("media", format!("must be audio or video (is {other:?})"))),
    };
    let provider = query_param(request, "provider");
    service
        .close_request(provider_task_id(matched)?, media, provider.as_deref())
        .await
}

/// The provider task id to close: a blank one is the caller's mistake, told
/// before any provider is asked (whose answer to it, if documented at all,
/// would be a provider failure rather than a 400).
fn provider_task_id(matched: &Matched) -> Result<&str, Error> {
    let id = matched.param("requestId");
    if id.trim().is_empty() {
        return Err(invalid("requestId", "is required and must not be blank"));
    }
    Ok(id)
}

/// The `callback` function: `POST /callbacks/{token}`.
pub async fn callback_function<S: TaskStore, Q: EventQueue, C: Clock>(
    service: &CallbackHandler<S, Q, C>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let matched = match routed(Function::Callback, &request) {
        Ok(matched) => matched,
        Err(response) => return Ok(*response),
    };
    let result = async {
        let verified = service.authenticate(matched.param("token"))?;
        if verified.by_previous_key {
            // A rotation is done once this stays at zero.
            metrics::count("callback", "CallbacksOnPreviousKey", &[]);
        }
        let task = verified.task;
        let body = request.body().as_ref();
        if body.len() > MAX_CALLBACK_BYTES {
            return Err(Error::TooLarge {
                limit: MAX_CALLBACK_BYTES,
            });
        }
        let outcome = match service.handle(&task, body).await? {
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
        Err(error) if errors::status(error) >= 500 => metrics::count("callback", "CallbackErrors", &[]),
        Err(error) => {
            // Every refusal is counted (and alarmed): a refused callback is
            // one the provider may give up on.
            if matches!(error, Error::Unauthorized) {
                metrics::count("callback", "ForgedCallbacks", &[]);
            }
            let status = errors::status(error).to_string();
            metrics::count("callback", "CallbackRejected", &[("Status", status.as_str())]);
        }
        _ => {}
    }
    Ok(finish(matched.route, result))
}

/// The `history` function: `GET /streams/{btId}/events?limit=&cursor=`.
pub async fn history_function<S: TaskStore, A: EvidenceArchive>(
    service: &History<S, A>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    let matched = match routed(Function::History, &request) {
        Ok(matched) => matched,
        Err(response) => return Ok(*response),
    };
    let result = service
        .events(
            matched.param("btId"),
            query_param(&request, "limit").as_deref(),
            query_param(&request, "cursor").as_deref(),
        )
        .await
        .map(|page| json(200, &page));
    Ok(finish(matched.route, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(path: &str) -> Matched {
        match routes::resolve("POST", path) {
            Resolution::Matched(matched) => matched,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn a_blank_provider_task_id_is_refused_before_any_provider_is_asked() {
        assert_eq!(provider_task_id(&matched("/requests/rid-1/close")).unwrap(), "rid-1");
        for blank in ["%20", "%09%E3%80%80"] {
            let error = provider_task_id(&matched(&format!("/requests/{blank}/close"))).unwrap_err();
            assert_eq!(errors::status(&error), 400, "{blank}");
            assert!(
                matches!(&error, Error::Invalid(problems) if problems.names("requestId")),
                "{blank}"
            );
        }
    }
}

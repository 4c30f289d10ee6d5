//! A proxy in front of moto that can take AWS operations "down" (503, as an
//! overloaded service answers) and bring them back.
//! Operations are named by `X-Amz-Target` prefix: `DynamoDB_` (all of
//! DynamoDB), `DynamoDB_20120810.PutItem` (one operation), `AmazonSQS`,
//! `S3` (S3's REST operations, named `S3.PutObject` and so on).
//! It also counts the operations that go through, as the IAM actions they need.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::Mutex;

pub struct Chaos {
    pub url: String,
    target: String,
    client: reqwest::Client,
    down: Mutex<Vec<String>>,
    /// Every operation seen, as an IAM action (`dynamodb:GetItem`), with how often.
    seen: Mutex<std::collections::BTreeMap<String, u32>>,
}

impl Chaos {
    pub async fn start(target: &str) -> Arc<Chaos> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let chaos = Arc::new(Chaos {
            url: format!("http://{}", listener.local_addr().unwrap()),
            target: target.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            down: Mutex::new(Vec::new()),
            seen: Mutex::new(Default::default()),
        });
        let app = Router::new().fallback(proxy).with_state(chaos.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        chaos
    }

    /// The operations that went through, as IAM actions.
    pub fn actions(&self) -> std::collections::BTreeSet<String> {
        self.seen.lock().unwrap().keys().cloned().collect()
    }

    /// How often each operation went through since the last call; starts counting afresh.
    pub fn take_counts(&self) -> std::collections::BTreeMap<String, u32> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    /// Refuses every operation whose target starts with `prefix`.
    pub fn take_down(&self, prefix: &str) {
        self.down.lock().unwrap().push(prefix.to_owned());
    }

    /// Everything answers again.
    pub fn bring_up(&self) {
        self.down.lock().unwrap().clear();
    }
}

/// The IAM actions an operation needs. A DynamoDB transaction is no action
/// of its own: IAM authorises each write in it (PutItem, DeleteItem, …).
fn iam_actions(service: &str, operation: &str, body: &[u8]) -> Vec<String> {
    if service == "dynamodb" && operation == "TransactWriteItems" {
        let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let mut actions: Vec<String> = request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.keys().next().cloned())
            .map(|kind| match kind.as_str() {
                "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
                write => format!("dynamodb:{write}Item"),
            })
            .collect();
        actions.dedup();
        return actions;
    }
    vec![format!("{service}:{operation}")]
}

/// The S3 operation (named as its IAM action is) of a request signed for S3.
fn s3_operation(
    method: &axum::http::Method,
    path: &str,
    query: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Option<&'static str> {
    let signed_for_s3 = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|authorization| authorization.contains("/s3/aws4_request"));
    if !signed_for_s3 {
        return None;
    }
    let object = path
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(_, key)| !key.is_empty());
    let query = query.unwrap_or_default();
    Some(match (method.as_str(), object) {
        ("PUT", true) => "PutObject",
        ("GET" | "HEAD", true) => "GetObject",
        ("DELETE", true) => "DeleteObject",
        ("GET", false) if query.contains("versions") => "ListBucketVersions",
        ("GET", false) => "ListBucket",
        _ => "Other",
    })
}

async fn proxy(State(chaos): State<Arc<Chaos>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    // S3 speaks REST, not X-Amz-Target: its operations are named here as
    // `S3.<operation>`, from the method and the path, for the same purposes.
    let s3_target = s3_operation(&parts.method, parts.uri.path(), parts.uri.query(), &parts.headers)
        .map(|operation| format!("S3.{operation}"));
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(s3_target)
        .unwrap_or_default();
    let target = target.as_str();
    if let Some((service, operation)) = target.split_once('.') {
        let service = match service {
            "AmazonSQS" => "sqs",
            "AmazonSSM" => "ssm",
            "S3" => "s3",
            dynamodb if dynamodb.starts_with("DynamoDB_") => "dynamodb",
            other => other,
        };
        let mut seen = chaos.seen.lock().unwrap();
        for action in iam_actions(service, operation, &body) {
            *seen.entry(action).or_default() += 1;
        }
    }
    let refused = chaos
        .down
        .lock()
        .unwrap()
        .iter()
        .any(|prefix| target.starts_with(prefix.as_str()));
    if refused {
        let body = r#"{"__type":"ServiceUnavailable","message":"taken down by the test"}"#;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/x-amz-json-1.0")],
            body,
        )
            .into_response();
    }
    let url = format!(
        "{}{}",
        chaos.target,
        parts.uri.path_and_query().map(|value| value.as_str()).unwrap_or("/")
    );
    let mut outgoing = chaos.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let mut response = Response::new(axum::body::Body::from(answer.bytes().await.unwrap_or_default()));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

//! What a caller of the API must not be able to do: point a stream's
//! callbacks (and DeepCleer's echo of the accessKey) at a host of its choice.

use crate::world::{Kind, World};
use serde_json::json;

/// An API Gateway (HTTP API) event for `POST /streams`, reached on `domain`,
/// with `headers` as the caller sent them.
fn start_event(domain: &str, headers: serde_json::Value, body: &serde_json::Value) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": "POST /streams", "rawPath": "/streams", "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": domain, "domainPrefix": "abc",
            "http": {"method": "POST", "path": "/streams", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "t"},
            "requestId": "r", "routeKey": "POST /streams", "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 1_796_000_000_000u64
        },
        "body": body.to_string(), "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

#[tokio::test]
async fn the_callback_url_is_never_taken_from_a_callers_headers() {
    let kind = Kind::DeepCleer;
    let mut world = World::new(kind).await;
    assert_eq!(world.starter.callbacks.base, None);
    world.transport.answer(kind.accepted("rid-1"));
    let request = start_event(
        "abc.execute-api.us-east-1.amazonaws.com",
        json!({"host": "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "http",
               "content-type": "application/json"}),
        &kind.body("room-1"),
    );
    let response = streamguard_core::http::start_function(&world.starter, request)
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let callback = kind.callback_url(&world.sent_starts()[0]);
    assert!(
        callback.starts_with("https://abc.execute-api.us-east-1.amazonaws.com/callbacks/"),
        "{callback}"
    );
    assert!(!callback.contains("evil"));

    // Configured, the base wins over the platform's domain.
    world.starter.callbacks.base = Some("https://moderation.example.com".into());
    world.transport.answer(kind.accepted("rid-2"));
    let request = start_event(
        "abc.execute-api.us-east-1.amazonaws.com",
        json!({}),
        &kind.body("room-2"),
    );
    streamguard_core::http::start_function(&world.starter, request)
        .await
        .unwrap();
    let callback = kind.callback_url(&world.sent_starts()[1]);
    assert!(
        callback.starts_with("https://moderation.example.com/callbacks/"),
        "{callback}"
    );
}

#[tokio::test]
async fn without_a_configured_base_or_a_platform_domain_nothing_is_started() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let mut request = lambda_http::Request::new(lambda_http::Body::Text(kind.body("room-1").to_string()));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "http://evil.example/streams".parse().unwrap();
    request.headers_mut().insert("host", "evil.example".parse().unwrap());
    let response = streamguard_core::http::start_function(&world.starter, request)
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500, "a configuration problem");
    assert!(world.sent().is_empty());
}

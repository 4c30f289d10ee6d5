//! The OpenAPI document (docs/openapi.json) describes exactly the routes the
//! functions serve, and the answers of a live stack fit its schemas.

use e2e::{agora, stack};
use serde_json::Value;
use std::collections::BTreeSet;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json")).expect("JSON")
}

#[test]
fn the_document_lists_exactly_the_routes_the_code_serves() {
    let document = document();
    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = streamguard_core::http::routes::ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(documented, served);
    assert_eq!(
        document["paths"]["/callbacks/{token}"]["post"]["security"],
        serde_json::json!([]),
        "the callback is public"
    );
}

fn validator(schema: &str) -> jsonschema::Validator {
    let mut document = document();
    let components = document["components"].take();
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{schema}"), "components": components });
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

pub(crate) fn assert_fits(schema: &str, value: &Value) {
    let validator = validator(schema);
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:?} in {value}");
}

#[tokio::test]
async fn live_answers_fit_the_documented_schemas() {
    let stack = stack().await;
    let (status, task) = stack.start(&agora("room-1")).await;
    assert_eq!(status, 201);
    assert_fits("Task", &task);
    let (_, stored) = stack.get("room-1").await;
    assert_fits("Task", &stored);
    let (_, closed) = stack.close("room-1").await;
    assert_fits("CloseResult", &closed);
    let (status, invalid) = stack.start(&serde_json::json!({"data": {}})).await;
    assert_eq!(status, 400);
    assert_fits("Error", &invalid);
    let (status, missing) = stack.get("nobody").await;
    assert_eq!(status, 404);
    assert_fits("Error", &missing);
}

/// Two of schemathesis's first findings, kept: a 405 names what the path
/// allows, and a `media` that is neither audio nor video is refused, not
/// taken for audio.
#[tokio::test]
async fn a_405_carries_allow_and_an_unknown_media_is_refused() {
    let stack = stack().await;
    let answer = stack
        .http
        .delete(format!("{}/streams/room-1", stack.api))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "GET");
    let error: Value = answer.json().await.unwrap();
    assert_fits("Error", &error);

    let (status, error) = stack
        .send(reqwest::Method::POST, "/requests/req-1/close?media=screen", None)
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["problems"][0]["field"], "media");
    assert_fits("Error", &error);
    let closes = stack.sim("requests?kind=close").await.1;
    assert_eq!(
        closes["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was closed: {closes}"
    );
}

//! An authenticated violation is never refused for its shape: descriptive
//! fields of unexpected types are left out and named, unknown risk levels
//! are published flagged, oversized texts are cut and flagged; only a body
//! that is not JSON or has no segment identity is refused. Every event fits
//! the queue.

use crate::world::{BOTH, Kind, World, ZEGO_CALLBACK_SECRET, signed};
use serde_json::{Value, json};
use streamguard_core::domain::TaskRef;
use streamguard_core::domain::callback::Outcome;
use streamguard_core::domain::events::EVENT_LIMIT;
use streamguard_core::http::errors;
use streamguard_wire::event::{EventBody, QueueEvent, SegmentEvent};

/// A REJECT segment of `kind` with `change` applied to its unsigned body (Zego's is then signed).
fn odd_segment(world: &World, n: u64, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = match world.kind {
        Kind::DeepCleer => world.kind.segment("rid-1", n, "REJECT", world.now()),
        Kind::Zego => json!({"Event": "censor_audio_v2_result", "Code": 0, "TaskId": "rid-1",
                             "ResultTaskId": format!("rid-1_{n}"),
                             "Detail": {"RiskLevel": "REJECT", "AudioText": "words", "RiskLabel1": "abuse"},
                             "AuxInfo": {"RoomId": "room"}}),
    };
    change(&mut body);
    match world.kind {
        Kind::DeepCleer => body,
        Kind::Zego => signed(body, ZEGO_CALLBACK_SECRET, world.now()),
    }
}

/// The JSON object holding a segment's verdict.
fn detail(kind: Kind, body: &mut Value) -> &mut Value {
    match kind {
        Kind::DeepCleer => &mut body["audioDetail"],
        Kind::Zego => &mut body["Detail"],
    }
}

fn field(kind: Kind, deepcleer: &str, zego: &str) -> String {
    match kind {
        Kind::DeepCleer => deepcleer.to_owned(),
        Kind::Zego => zego.to_owned(),
    }
}

async fn published(world: &World, task: &TaskRef, body: &Value) -> (QueueEvent, SegmentEvent) {
    let outcome = world.deliver(task, body).await;
    assert_eq!(outcome.ok(), Some(Outcome::Published), "{:?}: {body}", world.kind);
    let event = world.queue.events.lock().unwrap().last().cloned().unwrap();
    let text = serde_json::to_string(&event).unwrap();
    assert!(text.len() <= EVENT_LIMIT, "{} bytes", text.len());
    let EventBody::Segment(segment) = event.body.clone() else {
        panic!("{:?}", event.body)
    };
    (event, *segment)
}

#[tokio::test]
async fn descriptive_fields_of_unexpected_types_are_left_out_and_named() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let labels = field(kind, "businessLabels", "BusinessInfoList");
        let body = odd_segment(&world, 1, |body| {
            detail(kind, body)[labels.as_str()] = json!({"not": "a list"});
        });
        let (event, segment) = published(&world, &task, &body).await;
        let prefix = field(kind, "audioDetail", "Detail");
        assert_eq!(event.unread_fields, [format!("{prefix}.{labels}")], "{kind:?}");
        assert_eq!(segment.risk_level.as_str(), "REJECT");
        assert!(segment.risk_level_recognised);

        let number_label = field(kind, "riskLabel1", "RiskLabel1");
        let text = field(kind, "audioText", "AudioText");
        let body = odd_segment(&world, 2, |body| {
            detail(kind, body)[number_label.as_str()] = json!(42);
            detail(kind, body)[text.as_str()] = json!(["a", "list"]);
        });
        let (event, segment) = published(&world, &task, &body).await;
        assert!(
            event.unread_fields.contains(&format!("{prefix}.{text}")),
            "{kind:?}: {:?}",
            event.unread_fields
        );
        assert_eq!(segment.audio_text, None);
        assert!(
            segment.risk_label1.as_deref().is_none_or(|label| label == "42"),
            "{kind:?}: kept as text or left out: {:?}",
            segment.risk_label1
        );
    }
}

#[tokio::test]
async fn risk_levels_are_read_ignoring_case_and_space_and_unknown_ones_are_published_flagged() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let level = field(kind, "riskLevel", "RiskLevel");
        for (n, given, shown, recognised) in [
            (1, json!(" reject "), "REJECT", true),
            (2, json!("Reject"), "REJECT", true),
            (3, json!("SEVERE"), "SEVERE", false),
            (4, json!(3), "3", false),
        ] {
            let body = odd_segment(&world, n, |body| detail(kind, body)[level.as_str()] = given.clone());
            let (_, segment) = published(&world, &task, &body).await;
            assert_eq!(segment.risk_level.as_str(), shown, "{kind:?} {given}");
            assert_eq!(segment.risk_level_recognised, recognised, "{kind:?} {given}");
        }
        // A PASS in other clothes is still a PASS: counted, not published.
        let body = odd_segment(&world, 5, |body| detail(kind, body)[level.as_str()] = json!(" pass"));
        assert_eq!(world.deliver(&task, &body).await.unwrap(), Outcome::Counted, "{kind:?}");
        // No disposition at all: published as an unrecognised level, never taken for PASS.
        let body = odd_segment(&world, 6, |body| {
            detail(kind, body).as_object_mut().unwrap().remove(level.as_str());
        });
        let (_, segment) = published(&world, &task, &body).await;
        assert!(!segment.risk_level_recognised, "{kind:?}");
    }
}

#[tokio::test]
async fn only_a_body_without_json_or_segment_identity_is_refused() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let not_json = world.callbacks.handle(&task, b"{ not json").await.unwrap_err();
        assert_eq!(errors::status(&not_json), 400, "{kind:?}");
        let identity = field(kind, "requestId", "ResultTaskId");
        let body = odd_segment(&world, 1, |body| {
            body.as_object_mut().unwrap().remove(identity.as_str());
        });
        let error = world.deliver(&task, &body).await.unwrap_err();
        assert_eq!(errors::status(&error), 400, "{kind:?}");
        assert!(error.to_string().contains(&identity), "{kind:?}: {error}");
        let body = odd_segment(&world, 1, |body| body[identity.as_str()] = json!(""));
        assert_eq!(
            errors::status(&world.deliver(&task, &body).await.unwrap_err()),
            400,
            "{kind:?}: empty"
        );
        assert!(world.queue.events.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn oversized_texts_are_cut_and_flagged_so_every_event_fits() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let text = field(kind, "audioText", "AudioText");
        let description = field(kind, "riskDescription", "RiskDescription");
        let huge = "言".repeat(400 * 1024);
        let body = odd_segment(&world, 1, |body| {
            detail(kind, body)[text.as_str()] = json!(huge);
            detail(kind, body)[description.as_str()] = json!(huge);
        });
        let (event, segment) = published(&world, &task, &body).await;
        assert!(
            event.truncated_fields.iter().any(|name| name == "audioText"),
            "{kind:?}: {:?}",
            event.truncated_fields
        );
        assert!(event.truncated_fields.iter().any(|name| name == "riskDescription"));
        let kept = segment.audio_text.unwrap();
        let kept = kept.strip_suffix('…').expect("a cut text ends in an ellipsis");
        assert!(
            kept.len() < huge.len() && huge.starts_with(kept),
            "{kind:?}: whole characters, a prefix"
        );
    }
}

#[tokio::test]
async fn an_echoed_pass_through_too_large_for_an_event_is_cut_and_flagged() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let task = world.active("room-1", "rid-1").await;
    let body = odd_segment(&world, 1, |body| {
        body["auxInfo"] = json!({"passThrough": {"blob": "x".repeat(300 * 1024)}});
    });
    let (event, _) = published(&world, &task, &body).await;
    assert!(
        event.truncated_fields.contains(&"passThrough".to_owned()),
        "{:?}",
        event.truncated_fields
    );
}

#[tokio::test]
async fn every_refused_callback_is_counted_by_status() {
    use lambda_http::{Body, Request};
    let world = World::new(Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let token = world
        .callbacks
        .keys
        .current
        .sign(&task, world.now() + std::time::Duration::from_secs(60));
    let post = |token: &str, body: &str| {
        let mut request = Request::new(Body::Text(body.to_owned()));
        *request.method_mut() = lambda_http::http::Method::POST;
        *request.uri_mut() = format!("https://api.example.com/callbacks/{token}").parse().unwrap();
        streamguard_core::http::callback_function(&world.callbacks, request)
    };
    for (token, body, status) in [(token.as_str(), "{ not json", 400), ("forged", "{}", 401)] {
        let (response, lines) = streamguard_core::metrics::captured(post(token, body)).await;
        assert_eq!(response.unwrap().status().as_u16(), status);
        let rejected: Vec<serde_json::Value> = lines
            .iter()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|line| line.get("CallbackRejected").is_some())
            .collect();
        assert_eq!(rejected.len(), 1, "{lines:?}");
        assert_eq!(rejected[0]["Status"], status.to_string());
        assert_eq!(rejected[0]["Function"], "callback");
    }
    let good = Kind::DeepCleer.segment("rid-1", 1, "REJECT", world.now()).to_string();
    let (response, lines) = streamguard_core::metrics::captured(post(&token, &good)).await;
    assert_eq!(response.unwrap().status().as_u16(), 200);
    assert!(!lines.iter().any(|line| line.contains("CallbackRejected")), "{lines:?}");
}

//! Provider callbacks (the wire fixtures) read by each provider's reader and
//! assembled into queue events by the domain: every field where consumers
//! expect it, the published JSON Schema satisfied, no secret carried.

use serde_json::{Value, json};
use std::path::Path;
use streamguard_core::domain::Secret;
use streamguard_core::domain::events::{self, TaskContext};
use streamguard_core::domain::provider::Reading;
use streamguard_core::ports::{CallbackReader, Provider};
use streamguard_core::providers::deepcleer::{self, DeepCleerCallbacks};
use streamguard_core::providers::zego::{self, ZegoCallbacks};
use streamguard_wire::event::QueueEvent;
use time::OffsetDateTime;

const WIRE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../wire");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(WIRE).join("tests/fixtures").join(name)).unwrap()
}

fn at() -> OffsetDateTime {
    time::macros::datetime!(2026-11-21 06:00:00 UTC)
}

/// The moment the Zego fixtures were signed (the notes' test vector).
fn zego_signed_at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_470_820_198).unwrap()
}

fn known(bt_id: &str) -> TaskContext {
    TaskContext {
        bt_id: Some(bt_id.into()),
        task_known: true,
        stray: false,
    }
}

fn assert_schema_valid(event: &QueueEvent) -> Value {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(Path::new(WIRE).join("schema/queue-event.v1.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let json = serde_json::to_value(event).unwrap();
    let errors: Vec<String> = validator.iter_errors(&json).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?} in {json}");
    json
}

fn read_event(reader: &dyn CallbackReader, body: &[u8], now: OffsetDateTime, task: &TaskContext) -> QueueEvent {
    match reader.read(body, now).unwrap() {
        Reading::Segment(segment) => {
            assert!(
                segment
                    .segment
                    .segment_id
                    .starts_with(&format!("{}_", segment.provider_task_id)),
                "segment ids start with their task's id (the count of a task's REJECTs relies on it)"
            );
            events::segment_event(reader.id(), &segment, task, now)
        }
        Reading::StreamEnd(end) => events::end_event(reader.id(), &end, task, now),
        Reading::NoResult { detail } => panic!("no result: {detail}"),
    }
}

#[test]
fn a_deepcleer_reject_carries_every_field_and_no_secret() {
    let event = read_event(
        &DeepCleerCallbacks,
        &fixture("deepcleer/callback-segment-full.json"),
        at(),
        &known("room-1"),
    );
    let json = assert_schema_valid(&event);
    let text = json.to_string();
    assert!(
        !text.contains("fixture-ak") && !text.contains("fixture-agora-token"),
        "{text}"
    );
    assert_eq!(json["kind"], "segment");
    assert_eq!(json["provider"], "deepcleer");
    assert_eq!(json["eventId"], "deepcleer:0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908_7");
    assert_eq!(json["requestId"], "0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908");
    assert_eq!(json["btId"], "room-1", "the task's btId wins over the echoed one");
    assert_eq!(json["segmentIndex"], 7);
    assert_eq!(json["riskLevel"], "REJECT");
    assert_eq!(
        (json["riskLabel1"].as_str(), json["riskLabel3"].as_str()),
        (Some("abuse"), Some("personal-attack"))
    );
    assert_eq!(json["allLabels"][0]["riskLabel2"], "insult");
    assert_eq!(json["audioStartTime"], "1790000070000");
    assert_eq!(json["processFinishTime"], 1_790_000_080_600i64);
    assert_eq!(json["speakerId"], "speaker-7");
    assert_eq!(json["room"], "fixture-room");
    assert_eq!(json["passThrough"], json!({"roomOwner": 42}));
    assert_eq!(json["receivedAt"], "2026-11-21T06:00:00Z");
    assert_eq!(event.group_key(), "room-1");
}

#[test]
fn an_unknown_task_still_yields_an_event_flagged_as_such() {
    let body = json!({"requestId": "abc_3", "btId": "echoed", "audioDetail": {"riskLevel": "REJECT"}}).to_string();
    let event = read_event(&DeepCleerCallbacks, body.as_bytes(), at(), &TaskContext::default());
    let json = assert_schema_valid(&event);
    assert_eq!(json["taskKnown"], false);
    assert_eq!(json["btId"], "echoed");
}

#[test]
fn a_stream_end_names_its_reason() {
    let event = read_event(
        &DeepCleerCallbacks,
        &fixture("deepcleer/callback-stream-end.json"),
        at(),
        &known("room-1"),
    );
    let json = assert_schema_valid(&event);
    assert_eq!(json["kind"], "streamEnd");
    assert_eq!(json["endCode"], 3005);
    assert_eq!(json["endReason"], "TOKEN_INVALID_OR_EXPIRED");
    assert_eq!(json["streamTime"], 600);
    assert_eq!(json["eventId"], "deepcleer:0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908:end");
    assert!(!json.to_string().contains("fixture-ak"));
    let closed = json!({"requestId": "abc", "statCode": 1}).to_string();
    let event = read_event(&DeepCleerCallbacks, closed.as_bytes(), at(), &TaskContext::default());
    let json = assert_schema_valid(&event);
    assert_eq!(
        (json["endReason"].as_str(), &json["endCode"]),
        (Some("FINISHED"), &Value::Null)
    );
    assert_eq!(
        event.group_key(),
        "abc",
        "without a btId the task id groups the messages"
    );
}

#[test]
fn zego_events_use_the_same_schema() {
    let reader = ZegoCallbacks::new(Secret::new("secret"));
    let event = read_event(
        &reader,
        &fixture("zego/callback-result.json"),
        zego_signed_at(),
        &known("room-9"),
    );
    let json = assert_schema_valid(&event);
    assert_eq!(json["provider"], "zego");
    assert_eq!(json["eventId"], "zego:4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a_5");
    assert_eq!(json["requestId"], "4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a");
    assert_eq!(json["segmentIndex"], 5);
    assert_eq!(json["allLabels"][0]["riskLabel1"], "abuse");
    assert_eq!(json["room"], "fixture-zego-room");
    assert_eq!(
        json["preAudioUrl"],
        "https://audio.example.com/zego/4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a_5_pre.mp3"
    );
    assert!(
        !json.to_string().contains("5bd59fd62953a8059fb7eaba95720f66d19e4517"),
        "no signature"
    );

    let event = read_event(
        &reader,
        &fixture("zego/callback-status.json"),
        zego_signed_at(),
        &known("room-9"),
    );
    let json = assert_schema_valid(&event);
    assert_eq!(json["eventId"], "zego:4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a:end");
    assert_eq!(json["endReason"], "FINISHED");
    assert_eq!(json["streamTime"], 3600);
}

#[test]
fn each_reader_belongs_to_its_provider() {
    assert_eq!(DeepCleerCallbacks.id(), deepcleer::ID);
    assert_eq!(ZegoCallbacks::new(Secret::new("s")).id(), zego::ID);
}

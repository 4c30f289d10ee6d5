//! Tolerant parsing of DeepCleer callbacks and sync responses, and the queue
//! events built from them.

use crate::common;

use serde_json::{Value, json};
use wire::deepcleer::*;
use wire::event::{EventBody, Provider, QueueEvent, TaskContext};
use wire::zego::{CallbackAuth, ZegoCallback, parse_callback};

fn at() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-21 06:00:00 UTC)
}

fn schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/queue-event.v1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_schema_valid(event: &QueueEvent) -> Value {
    let json = serde_json::to_value(event).unwrap();
    let errors: Vec<String> = schema().iter_errors(&json).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?} in {json}");
    json
}

#[test]
fn stream_end_callbacks_accept_strings_and_both_casings() {
    let callback: Callback = serde_json::from_value(json!({
        "requestId": "abc", "btId": "room-1", "code": "1100", "message": "Success", "statCode": "1",
        "auxInfo": {"errorcode": "3005", "streamTime": "620"}, "somethingNew": true
    }))
    .unwrap();
    let CallbackKind::StreamEnd(Some(info)) = callback.kind() else {
        panic!("a stream end: {callback:?}")
    };
    assert_eq!(info.error_code, Some(StreamEndCode::TokenInvalidOrExpired));
    assert_eq!(info.stream_time, Some(620));
}

#[test]
fn segment_times_accept_both_casings() {
    let parse = |key: &str| -> Callback {
        serde_json::from_value(
            json!({"requestId": "abc_1", "audioDetail": {"riskLevel": "PASS", "auxInfo": {key: "12:00:01"}}}),
        )
        .unwrap()
    };
    for key in ["audioStartTime", "audioStarttime"] {
        let callback = parse(key);
        let CallbackKind::Segment(detail) = callback.kind() else {
            panic!()
        };
        assert_eq!(
            detail.aux_info.as_ref().unwrap().audio_start_time.as_deref(),
            Some("12:00:01"),
            "{key}"
        );
    }
}

#[test]
fn only_the_segment_identity_and_disposition_are_required() {
    let minimal: Callback =
        serde_json::from_value(json!({"requestId": "abc_7", "audioDetail": {"riskLevel": "reject"}})).unwrap();
    assert!(matches!(minimal.kind(), CallbackKind::Segment(detail) if detail.risk_level == RiskLevel::Reject));
    assert!(serde_json::from_value::<Callback>(json!({"audioDetail": {"riskLevel": "PASS"}})).is_err());
    assert!(serde_json::from_value::<Callback>(json!({"requestId": "a_1", "audioDetail": {"riskText": "x"}})).is_err());
    let failed: Callback =
        serde_json::from_value(json!({"requestId": "abc_8", "code": 1903, "message": "Service failure"})).unwrap();
    assert_eq!(failed.kind(), CallbackKind::Failed(Some(ResponseCode::ServiceFailure)));
    let no_stat_code_no_detail: Callback = serde_json::from_value(json!({"requestId": "abc_9"})).unwrap();
    assert_eq!(no_stat_code_no_detail.kind(), CallbackKind::Failed(None));
}

#[test]
fn segment_ids_split_into_task_and_index() {
    let id = SegmentId::parse("b639042cbfe229359e672074762c5583_12");
    assert_eq!(
        (id.task_request_id, id.index),
        ("b639042cbfe229359e672074762c5583", Some(12))
    );
    let id = SegmentId::parse("b639042cbfe229359e672074762c5583");
    assert_eq!(
        (id.task_request_id, id.index),
        ("b639042cbfe229359e672074762c5583", None)
    );
    let id = SegmentId::parse("room_a");
    assert_eq!((id.task_request_id, id.index), ("room_a", None));
}

#[test]
fn duplicate_submissions_are_read_from_every_placement() {
    let cases = [
        json!({"code": 1100, "message": "Success", "requestId": "new", "detail": {"errorCode": 1001, "dupRequestId": "old"}}),
        json!({"code": 1100, "message": "Success", "requestId": "new", "detail": {"errorcode": 1001, "dupRequestId": "old"}}),
        json!({"code": 1100, "message": "Success", "requestId": "new", "errorCode": 1001, "dupRequestId": "old"}),
        json!({"code": 1100, "message": "Success", "requestId": "new", "errorcode": "1001", "dupRequestId": "old"}),
    ];
    for case in cases {
        let response: SyncResponse = serde_json::from_value(case.clone()).unwrap();
        assert_eq!(response.outcome(), StartOutcome::Duplicate("old"), "{case}");
    }
    let refused: SyncResponse =
        serde_json::from_value(json!({"code": 1902, "message": "Invalid parameters", "requestId": "x"})).unwrap();
    assert_eq!(
        refused.outcome(),
        StartOutcome::Refused(ResponseCode::InvalidParameters)
    );
    let empty: SyncResponse = serde_json::from_value(json!({})).unwrap();
    assert!(matches!(
        empty.outcome(),
        StartOutcome::Refused(ResponseCode::Unknown(0))
    ));
}

#[test]
fn a_reject_event_from_the_reference_callback_carries_no_secret() {
    let example = common::json_after(
        &common::reference("deepcleer-audio-stream-request.txt"),
        "Callback Example",
    );
    let mut callback: Callback = serde_json::from_str(&example).unwrap();
    // The real service echoes the request, accessKey and RTC tokens included.
    callback.request_params =
        Some(json!({"accessKey": "SECRET-AK", "data": {"agoraParam": {"token": "SECRET-TOKEN"}}}));
    if let Some(detail) = callback.audio_detail.as_mut() {
        detail.aux_info.get_or_insert_with(Default::default).pass_through = Some(json!({"roomOwner": 42}));
    }
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!()
    };
    let task = TaskContext {
        bt_id: Some("room-1".into()),
        task_known: true,
    };
    let event = QueueEvent::deepcleer_segment(&callback, detail, &task, at());
    let json = assert_schema_valid(&event);
    let text = json.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert_eq!(json["kind"], "segment");
    assert_eq!(json["eventId"], "deepcleer:b639042cbfe229359e672074762c5583_2");
    assert_eq!(json["requestId"], "b639042cbfe229359e672074762c5583");
    assert_eq!(json["btId"], "room-1", "the task's btId wins over the echoed one");
    assert_eq!(json["segmentIndex"], 2);
    assert_eq!(json["riskLevel"], "REJECT");
    assert_eq!(json["passThrough"], json!({"roomOwner": 42}));
    assert_eq!(json["receivedAt"], "2026-11-21T06:00:00Z");
    assert!(json["audioText"].as_str().unwrap().starts_with("那就不好打吗"));
    assert_eq!(event.group_key(), "room-1");
}

#[test]
fn an_unknown_task_still_yields_an_event_flagged_as_such() {
    let callback: Callback =
        serde_json::from_value(json!({"requestId": "abc_3", "btId": "echoed", "audioDetail": {"riskLevel": "REJECT"}}))
            .unwrap();
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!()
    };
    let event = QueueEvent::deepcleer_segment(&callback, detail, &TaskContext::default(), at());
    let json = assert_schema_valid(&event);
    assert_eq!(json["taskKnown"], false);
    assert_eq!(json["btId"], "echoed");
}

#[test]
fn a_stream_end_event_names_its_reason() {
    let callback: Callback = serde_json::from_value(
        json!({"requestId": "abc", "btId": "room-1", "statCode": 1, "auxInfo": {"errorCode": 3005, "streamTime": 600}}),
    )
    .unwrap();
    let CallbackKind::StreamEnd(info) = callback.kind() else {
        panic!()
    };
    let event = QueueEvent::deepcleer_stream_end(
        &callback,
        info,
        &TaskContext {
            bt_id: None,
            task_known: true,
        },
        at(),
    );
    let json = assert_schema_valid(&event);
    assert_eq!(json["kind"], "streamEnd");
    assert_eq!(json["endCode"], 3005);
    assert_eq!(json["endReason"], "TOKEN_INVALID_OR_EXPIRED");
    assert_eq!(json["streamTime"], 600);
    assert_eq!(json["eventId"], "deepcleer:abc:end");
    let closed: Callback = serde_json::from_value(json!({"requestId": "abc", "statCode": 1})).unwrap();
    let event = QueueEvent::deepcleer_stream_end(&closed, None, &TaskContext::default(), at());
    assert!(matches!(&event.body, EventBody::StreamEnd(end) if end.end_reason == "FINISHED" && end.end_code.is_none()));
    assert_eq!(
        event.group_key(),
        "abc",
        "without a btId the task id groups the messages"
    );
}

#[test]
fn zego_events_use_the_same_schema() {
    let auth = CallbackAuth::sign(1, "s", 1_700_000_000, "n");
    let mut body = json!({"Event": "censor_audio_v2_result", "TaskId": "t1", "ResultTaskId": "t1_4",
        "Detail": {"RiskLevel": "REJECT", "RiskLabel1": "abuse", "AudioText": "x"}, "AuxInfo": {"RoomId": "r1"}});
    body.as_object_mut()
        .unwrap()
        .extend(serde_json::to_value(&auth).unwrap().as_object().unwrap().clone());
    let ZegoCallback::Result(result) = parse_callback(body.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    let task = TaskContext {
        bt_id: Some("room-9".into()),
        task_known: true,
    };
    let event = QueueEvent::zego_segment(&result, result.detail.as_ref().unwrap(), &task, at());
    let json = assert_schema_valid(&event);
    assert_eq!(event.provider, Provider::Zego);
    assert_eq!(json["eventId"], "zego:t1_4");
    assert_eq!(json["segmentIndex"], 4);
    assert_eq!(json["allLabels"][0]["riskLabel1"], "abuse");
    assert_eq!(json["room"], "r1");
    assert!(!json.to_string().contains(auth.signature.as_deref().unwrap()));

    let status =
        json!({"Event": "censor_audio_v2_status", "TaskId": "t1", "Status": 0, "AuxInfo": {"CensorStreamTime": 62}});
    let ZegoCallback::Status(status) = parse_callback(status.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    let json = assert_schema_valid(&QueueEvent::zego_stream_end(&status, &task, at()));
    assert_eq!(json["endReason"], "FINISHED");
    assert_eq!(json["streamTime"], 62);
}

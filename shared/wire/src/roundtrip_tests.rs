//! Property tests: serialise → parse is the identity on generated messages,
//! and every generated queue event satisfies the published JSON Schema.

use crate::deepcleer::*;
use crate::event::{QueueEvent, SCHEMA_VERSION};
use crate::zego::*;
use proptest::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let json = serde_json::to_string(value).map_err(|error| TestCaseError::fail(error.to_string()))?;
    let back: T = serde_json::from_str(&json).map_err(|error| TestCaseError::fail(format!("{error} in {json}")))?;
    prop_assert_eq!(&back, value, "json: {}", json);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn start_requests_round_trip(value in any::<StartRequest>()) { round_trip(&value)?; }

    #[test]
    fn sync_responses_round_trip(value in any::<SyncResponse>()) { round_trip(&value)?; }

    #[test]
    fn close_requests_round_trip(value in any::<CloseRequest>()) { round_trip(&value)?; }

    #[test]
    fn close_responses_round_trip(value in any::<CloseResponse>()) { round_trip(&value)?; }

    #[test]
    fn callbacks_round_trip(value in any::<Callback>()) { round_trip(&value)?; }

    #[test]
    fn zego_start_bodies_round_trip(value in any::<StartCensorAudio>()) { round_trip(&value)?; }

    #[test]
    fn zego_stop_bodies_round_trip(value in any::<StopCensorAudio>()) { round_trip(&value)?; }

    #[test]
    fn zego_responses_round_trip(value in any::<ZegoResponse>()) { round_trip(&value)?; }

    #[test]
    fn zego_callbacks_round_trip(value in any::<ZegoCallback>()) { round_trip(&value)?; }

    #[test]
    fn queue_events_round_trip(value in any::<QueueEvent>()) { round_trip(&value)?; }

    #[test]
    fn zego_common_params_round_trip_through_the_query_string(
        app_id in any::<u32>(), nonce in "[0-9a-f]{16}", secret in "[0-9a-f]{32}", timestamp in 0i64..4_102_444_800,
        action in prop_oneof![Just(START_ACTION), Just(STOP_ACTION)],
    ) {
        let params = CommonParams::signed(action, app_id, &nonce, &secret, timestamp);
        let parsed = CommonParams::from_query(&params.to_query()).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(&parsed, &params);
        prop_assert_eq!(parsed.verify(&secret, timestamp), Ok(()));
    }

    #[test]
    fn queue_events_satisfy_the_published_schema(mut event in any::<QueueEvent>(), id in "[a-z]{1,10}:[0-9a-f_]{1,100}") {
        event.schema_version = SCHEMA_VERSION;
        event.event_id = id;
        let json = serde_json::to_value(&event).unwrap();
        let validator = schema_validator();
        let errors: Vec<String> = validator.iter_errors(&json).map(|error| format!("{} at {}", error, error.instance_path())).collect();
        prop_assert!(errors.is_empty(), "{:?} for {}", errors, json);
    }
}

/// The schema consumers are pointed at, compiled with format checks on.
pub(crate) fn schema_validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/queue-event.v1.schema.json")).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

#[test]
fn the_schema_rejects_events_that_break_it() {
    let validator = schema_validator();
    let valid = serde_json::json!({
        "schemaVersion": 1, "eventId": "deepcleer:abc_1", "provider": "deepcleer", "btId": "room-1",
        "requestId": "abc", "taskKnown": true, "receivedAt": "2026-11-21T06:00:00Z", "passThrough": null,
        "kind": "streamEnd", "endCode": 3005, "endReason": "TOKEN_INVALID_OR_EXPIRED", "streamTime": 60
    });
    assert!(
        validator.is_valid(&valid),
        "{:?}",
        validator.iter_errors(&valid).map(|e| e.to_string()).collect::<Vec<_>>()
    );
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut event = valid.clone();
        edit(&mut event);
        validator.is_valid(&event)
    };
    assert!(!broken(&|event| {
        event.as_object_mut().unwrap().remove("btId");
    }));
    assert!(!broken(&|event| event["schemaVersion"] = 2.into()));
    assert!(!broken(&|event| event["provider"] = "Not A Name".into()));
    assert!(!broken(&|event| event["provider"] = 7.into()));
    assert!(!broken(&|event| event["kind"] = "segment".into()));
    assert!(!broken(&|event| event["receivedAt"] = "yesterday".into()));
    assert!(!broken(&|event| {
        event.as_object_mut().unwrap().remove("endReason");
    }));
}

#[test]
fn a_kind_this_version_does_not_know_is_read_as_other() {
    let event: QueueEvent = serde_json::from_value(serde_json::json!({
        "schemaVersion": 1, "eventId": "x:1", "provider": "deepcleer", "btId": "room-1", "requestId": "r",
        "taskKnown": true, "receivedAt": "2026-11-21T06:00:00Z", "passThrough": null,
        "kind": "somethingNew", "whatever": [1, 2]
    }))
    .unwrap();
    assert_eq!(event.body, crate::event::EventBody::Other);
    assert!(
        !event.stray_provider_task && event.unread_fields.is_empty(),
        "flags default when absent"
    );
}

#[test]
fn watchdog_events_satisfy_the_schema() {
    let validator = schema_validator();
    let base = serde_json::json!({
        "schemaVersion": 1, "eventId": "streamguard:t:stale:3", "provider": "zego", "btId": "room-1",
        "requestId": "r", "taskKnown": true, "receivedAt": "2026-11-21T06:00:00Z", "passThrough": null,
        "strayProviderTask": false, "unreadFields": [], "truncatedFields": []
    });
    let mut stale = base.clone();
    stale.as_object_mut().unwrap().extend(
        serde_json::json!({"kind": "streamStale",
        "lastActivityAt": "2026-11-21T05:57:00Z", "silentSecs": 180, "segmentsSeen": 3})
        .as_object()
        .unwrap()
        .clone(),
    );
    let mut closed = base;
    closed.as_object_mut().unwrap().extend(
        serde_json::json!({"kind": "streamClosed",
        "closeReason": "MAX_DURATION", "openSecs": 86400})
        .as_object()
        .unwrap()
        .clone(),
    );
    for event in [stale, closed] {
        let errors: Vec<String> = validator.iter_errors(&event).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {event}");
        let parsed: QueueEvent = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), event, "round trip");
    }
}

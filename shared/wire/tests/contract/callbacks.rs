//! Tolerant parsing of DeepCleer callbacks and sync responses.

use serde_json::json;
use streamguard_wire::deepcleer::*;

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

//! Every fixture parses and means what the provider documents say of the
//! message it stands for (`tests/fixtures/README.md`), quirks included.

use crate::common::fixture;
use serde_json::Value;
use streamguard_wire::api::StartBody;
use streamguard_wire::deepcleer::*;
use streamguard_wire::zego::{
    StartCensorAudio, StopCensorAudio, ZegoBusinessType, ZegoCallback, ZegoCode, ZegoResponse, ZegoRiskType,
    parse_callback,
};

#[test]
fn the_start_request_parses_and_keeps_its_undocumented_room_field() {
    let text = fixture("deepcleer/start-request.json");
    let request = parse_start_request(&text).expect("the fixture parses");
    assert_eq!(request.app_id, "default");
    assert_eq!(
        request.risk_types.as_ref().unwrap().0,
        [RiskType::Erotic, RiskType::Advert, RiskType::Polity, RiskType::Dirty]
    );
    let business = request.business_types.as_ref().unwrap();
    assert_eq!(
        business.0,
        [
            BusinessType::Gender,
            BusinessType::Timbre,
            BusinessType::Sing,
            BusinessType::Language
        ]
    );
    assert_eq!(request.data.stream_type, Some(StreamType::Normal));
    assert_eq!(request.data.lang, Some(Lang::Zh));
    assert_eq!(request.data.return_all_text, Some(1));
    assert_eq!(request.data.other.get("room"), Some(&Value::from("fixture-room")));
    // Serialising gives back the same document: nothing dropped, nothing added.
    let original: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap(), original);
    // The API's start body is the same request; the undocumented field passes through it too.
    let body = StartBody::parse(&text).unwrap();
    assert_eq!(body.request, request);
}

#[test]
fn the_start_request_fails_validation_only_on_its_placeholders() {
    let problems = parse_start_request(&fixture("deepcleer/start-request.json"))
        .unwrap()
        .validate()
        .expect_err("placeholders are not URLs");
    let fields: Vec<&str> = problems.0.iter().map(|problem| problem.field.as_str()).collect();
    assert_eq!(fields, ["callback", "data.url"], "{problems}");
}

#[test]
fn the_sync_response_is_a_started_task() {
    let response: SyncResponse = serde_json::from_str(&fixture("deepcleer/start-response.json")).unwrap();
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(
        response.outcome(),
        StartOutcome::Started("0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908")
    );
}

#[test]
fn the_duplicate_answer_names_the_running_task_in_both_placements() {
    for name in [
        "deepcleer/start-response-duplicate.json",
        "deepcleer/start-response-duplicate-flat.json",
    ] {
        let response: SyncResponse = serde_json::from_str(&fixture(name)).unwrap();
        assert_eq!(
            response.outcome(),
            StartOutcome::Duplicate("0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908"),
            "{name}"
        );
    }
}

#[test]
fn the_callback_is_a_reject_segment_despite_its_normal_label() {
    let callback: Callback = serde_json::from_str(&fixture("deepcleer/callback-segment.json")).unwrap();
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!("a segment result: {callback:?}")
    };
    assert_eq!(detail.risk_level, RiskLevel::Reject);
    assert_eq!(detail.risk_label1.as_deref(), Some("normal"));
    let segment = callback.segment_id();
    assert_eq!(segment.task_request_id, "0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908");
    assert_eq!(segment.index, Some(2));
    assert_eq!(callback.bt_id.as_deref(), Some("1790000000123"));
    let aux = detail.aux_info.as_ref().unwrap();
    assert_eq!(aux.begin_process_time, Some(1_790_000_012_345));
    assert_eq!(aux.room.as_deref(), Some("fixture-room"));
    let tags = detail.audio_tags.as_ref().unwrap();
    assert_eq!(tags.gender.as_ref().unwrap().label.as_deref(), Some("女性"));
    assert_eq!(tags.gender.as_ref().unwrap().probability, Some(97), "legacy 0–100");
    assert_eq!(tags.language.as_ref().unwrap().len(), 2, "language as an array");
    assert_eq!(tags.timbre.as_ref().unwrap()[0].label.as_deref(), Some("少女"));
    assert_eq!(tags.song, Some(0));
    let speakers = detail.speakers.as_ref().unwrap();
    assert_eq!(speakers.len(), 3);
    assert_eq!(speakers[0][1].volume, Some(255));
    let business = &detail.business_labels.as_ref().unwrap()[0];
    assert_eq!(business.business_label1.as_deref(), Some("minor"));
    assert_eq!(business.probability, Some(0.0), "0–1");
    assert!(detail.pre_audio_url.as_deref().unwrap().contains("_2_pre.mp3"));
    assert_eq!(
        detail.risk_detail.as_ref().unwrap().audio_text,
        detail.audio_text,
        "the text moderated"
    );
}

#[test]
fn every_documented_segment_field_parses() {
    let callback: Callback = serde_json::from_str(&fixture("deepcleer/callback-segment-full.json")).unwrap();
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!()
    };
    assert_eq!(callback.stat_code, Some(0));
    assert_eq!(callback.request_params.as_ref().unwrap()["accessKey"], "fixture-ak");
    let risk = detail.risk_detail.as_ref().unwrap();
    assert_eq!(risk.risk_source, Some(1001));
    assert_eq!(
        risk.matched_lists.as_ref().unwrap()[0].words.as_ref().unwrap()[0].position,
        Some(vec![14, 19])
    );
    assert_eq!(
        risk.risk_segments.as_ref().unwrap()[0].segment.as_deref(),
        Some("break the rules")
    );
    let aux = detail.aux_info.as_ref().unwrap();
    assert_eq!(aux.audio_start_time.as_deref(), Some("1790000070000"));
    assert_eq!((aux.user_id, aux.str_user_id.as_deref()), (Some(7), Some("speaker-7")));
    assert_eq!(callback.pass_through(), Some(&serde_json::json!({"roomOwner": 42})));
    assert_eq!(detail.business_labels.as_ref().unwrap()[0].probability, Some(0.93));
    assert_eq!(
        detail.all_labels.as_ref().unwrap()[0].risk_label2.as_deref(),
        Some("insult")
    );
    assert_eq!(
        detail.token_risk_labels.as_ref().unwrap()[0].label2.as_deref(),
        Some("spam")
    );
    assert_eq!(detail.vad_code, Some(1));
}

#[test]
fn what_senders_vary_still_parses() {
    let callback: Callback = serde_json::from_str(&fixture("deepcleer/callback-segment-quirks.json")).unwrap();
    assert_eq!(callback.code, Some(ResponseCode::Success), "a code as a string");
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!()
    };
    assert_eq!(detail.risk_level, RiskLevel::Reject, "riskLevel in lowercase");
    let aux = detail.aux_info.as_ref().unwrap();
    assert_eq!(
        aux.audio_start_time.as_deref(),
        Some("1790000020000"),
        "audioStarttime, as a number"
    );
    assert_eq!(aux.finish_process_time, Some(1_790_000_030_600), "a time as a string");
    assert_eq!(
        detail.audio_tags.as_ref().unwrap().language.as_ref().unwrap().len(),
        1,
        "language as an object"
    );
    assert_eq!(detail.vad_code, Some(1));
}

#[test]
fn the_stream_end_names_its_cause() {
    let callback: Callback = serde_json::from_str(&fixture("deepcleer/callback-stream-end.json")).unwrap();
    let CallbackKind::StreamEnd(Some(info)) = callback.kind() else {
        panic!("a stream end")
    };
    assert_eq!(info.error_code, Some(StreamEndCode::TokenInvalidOrExpired));
    assert_eq!(StreamEndCode::reason(info.error_code), "TOKEN_INVALID_OR_EXPIRED");
    assert_eq!(info.stream_time, Some(600));
    assert_eq!(callback.pass_through(), Some(&serde_json::json!({"roomOwner": 42})));
}

#[test]
fn the_close_messages_parse_for_audio_and_video() {
    let request = parse_close_request(&fixture("deepcleer/close-request.json")).unwrap();
    assert_eq!(
        request.request_id, "0f3c5e2a9b8d4c1e7a6f5d4c3b2a1908",
        "a task's requestId or a dupRequestId"
    );
    request.validate(MediaKind::Audio).unwrap();
    let response: CloseResponse = serde_json::from_str(&fixture("deepcleer/close-response.json")).unwrap();
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(
        response.request_id, "3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d",
        "the close call's own id"
    );

    let request = parse_close_request(&fixture("deepcleer/close-video-request.json")).unwrap();
    assert_eq!(request.access_key, "fixture-video-ak");
    request.validate(MediaKind::Video).unwrap();
    let response: CloseResponse = serde_json::from_str(&fixture("deepcleer/close-video-response.json")).unwrap();
    assert_eq!(
        (response.code, response.message.as_str()),
        (ResponseCode::Success, "Success")
    );
}

#[test]
fn the_zego_start_and_stop_messages_parse() {
    let start: StartCensorAudio = serde_json::from_str(&fixture("zego/start-request.json")).unwrap();
    start.validate().unwrap();
    assert_eq!(start.risk_type_list.as_ref().unwrap()[2], ZegoRiskType::BandAudio);
    assert_eq!(start.business_type_list.as_ref().unwrap()[0], ZegoBusinessType::Moinir);
    let started: ZegoResponse = serde_json::from_str(&fixture("zego/start-response.json")).unwrap();
    assert_eq!(started.data.unwrap().task_id, "4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a");
    let body: StopCensorAudio = serde_json::from_str(&fixture("zego/stop-request.json")).unwrap();
    assert_eq!(body.task_id, "4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a");
    body.validate().unwrap();
    let response: ZegoResponse = serde_json::from_str(&fixture("zego/stop-response.json")).unwrap();
    assert_eq!(response.code, ZegoCode::Success);
    assert_eq!(response.request_id, "FixtureRequestId1790000000000000000");
}

#[test]
fn the_zego_callbacks_parse_and_verify_with_the_notes_test_vector() {
    let result = parse_callback(fixture("zego/callback-result.json").as_bytes()).unwrap();
    result
        .auth()
        .verify("secret", 1_470_820_198)
        .expect("signed with the notes' vector");
    let ZegoCallback::Result(result) = result else { panic!() };
    assert_eq!(result.result_task_id, "4c7b2e9f1a0d3c5e8b6a9f2d1c4e7b0a_5");
    let detail = result.detail.unwrap();
    assert_eq!(detail.risk_level, RiskLevel::Reject);
    assert_eq!(
        detail.business_info_list.unwrap()[0].business_label3.as_deref(),
        Some("minor-speaker"),
        "BusinessLabe3 (sic)"
    );
    let status = parse_callback(fixture("zego/callback-status.json").as_bytes()).unwrap();
    status
        .auth()
        .verify("secret", 1_470_820_198)
        .expect("a string Timestamp too");
    let ZegoCallback::Status(status) = status else { panic!() };
    assert!(status.is_finished());
    assert_eq!(status.aux_info.unwrap().censor_stream_time, Some(3600));
}

#[test]
fn every_documented_code_is_named() {
    for code in [1100, 1901, 1902, 1903, 1904, 9101] {
        assert!(ResponseCode::from_code(code).is_known(), "{code}");
    }
    for code in 3001..=3005 {
        assert!(StreamEndCode::from_code(code).is_known(), "{code}");
    }
    for code in [0, 50006, 50007, 50009, 50117, 100000004, 100000005, 100000014] {
        assert!(ZegoCode::from_code(code).is_known(), "{code}");
    }
}

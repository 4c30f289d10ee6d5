//! Every example in the reference documents parses verbatim and means what
//! the documents say.

use crate::common;

use common::{json_after, reference};
use serde_json::Value;
use wire::deepcleer::*;
use wire::zego::{StopCensorAudio, ZegoCode, ZegoResponse};

const REQUEST_DOC: &str = "deepcleer-audio-stream-request.txt";

#[test]
fn the_start_request_example_parses_and_keeps_its_undocumented_room_field() {
    let example = json_after(&reference(REQUEST_DOC), "Request Example");
    let request = parse_start_request(&example).expect("the example parses");
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
    assert_eq!(request.data.other.get("room"), Some(&Value::from("room2")));
    // Serialising gives back the same document: nothing dropped, nothing added.
    let original: Value = serde_json::from_str(&example).unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap(), original);
}

#[test]
fn the_start_request_example_fails_validation_only_on_its_placeholders() {
    let example = json_after(&reference(REQUEST_DOC), "Request Example");
    let problems = parse_start_request(&example)
        .unwrap()
        .validate()
        .expect_err("placeholders are not URLs");
    let fields: Vec<&str> = problems.0.iter().map(|problem| problem.field.as_str()).collect();
    assert_eq!(fields, ["callback", "data.url"], "{problems}");
}

#[test]
fn the_sync_response_example_is_a_started_task() {
    let example = json_after(&reference(REQUEST_DOC), "Synchronous Response Example");
    let response: SyncResponse = serde_json::from_str(&example).unwrap();
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(
        response.outcome(),
        StartOutcome::Started("b639042cbfe229359e672074762c5583")
    );
}

#[test]
fn the_callback_example_is_a_reject_segment_despite_its_normal_label() {
    let example = json_after(&reference(REQUEST_DOC), "Callback Example");
    let callback: Callback = serde_json::from_str(&example).unwrap();
    let CallbackKind::Segment(detail) = callback.kind() else {
        panic!("a segment result: {callback:?}")
    };
    assert_eq!(detail.risk_level, RiskLevel::Reject);
    assert_eq!(detail.risk_label1.as_deref(), Some("normal"));
    let segment = callback.segment_id();
    assert_eq!(segment.task_request_id, "b639042cbfe229359e672074762c5583");
    assert_eq!(segment.index, Some(2));
    assert_eq!(callback.bt_id.as_deref(), Some("1637847086612"));
    let aux = detail.aux_info.as_ref().unwrap();
    assert_eq!(aux.begin_process_time, Some(1_637_847_113_897));
    assert_eq!(aux.room.as_deref(), Some("test1"));
    let tags = detail.audio_tags.as_ref().unwrap();
    assert_eq!(tags.gender.as_ref().unwrap().label.as_deref(), Some("男性"));
    assert_eq!(tags.gender.as_ref().unwrap().probability, Some(99));
    assert_eq!(
        tags.language.as_ref().unwrap().len(),
        2,
        "language arrives as an array in the example"
    );
    assert_eq!(tags.timbre.as_ref().unwrap()[2].label.as_deref(), Some("老年"));
    assert_eq!(tags.song, Some(0));
    let speakers = detail.speakers.as_ref().unwrap();
    assert_eq!(speakers.len(), 3);
    assert_eq!(speakers[0][1].volume, Some(255));
    let business = &detail.business_labels.as_ref().unwrap()[0];
    assert_eq!(business.business_label1.as_deref(), Some("minor"));
    assert_eq!(business.probability, Some(0.0));
    assert!(detail.pre_audio_url.as_deref().unwrap().ends_with("_2_pre.mp3?..."));
    assert!(
        detail
            .risk_detail
            .as_ref()
            .unwrap()
            .audio_text
            .as_deref()
            .unwrap()
            .starts_with("那就不好打吗")
    );
}

#[test]
fn the_audio_close_examples_parse() {
    let doc = reference("deepcleer-audio-stream-close.txt");
    let request = parse_close_request(&json_after(&doc, "Request Example")).unwrap();
    assert_eq!(request.request_id, "xxxxx");
    request.validate(MediaKind::Audio).unwrap();
    let response: CloseResponse = serde_json::from_str(&json_after(&doc, "Response Example")).unwrap();
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(response.request_id, "a78eef377079acc6cdec24967ecde722");
}

#[test]
fn the_video_close_examples_parse() {
    let doc = reference("deepcleer-video-stream-close.txt");
    let request = parse_close_request(&json_after(&doc, "Request Example")).unwrap();
    assert_eq!(request.access_key, "YOUR_ACCESS_KEY");
    request.validate(MediaKind::Video).unwrap();
    let response: CloseResponse = serde_json::from_str(&json_after(&doc, "Response Example")).unwrap();
    assert_eq!(response.code, ResponseCode::Success);
    assert_eq!(response.message, "Success");
}

#[test]
fn the_zego_stop_examples_parse() {
    let doc = reference("zego-stop-censor-audio-v2.txt");
    let body: StopCensorAudio = serde_json::from_str(&json_after(&doc, "Request body")).unwrap();
    assert_eq!(body.task_id, "9f58178ba8034902c6028c728bc6f6e4");
    body.validate().unwrap();
    let response: ZegoResponse = serde_json::from_str(&json_after(&doc, "Sample Response")).unwrap();
    assert_eq!(response.code, ZegoCode::Success);
    assert_eq!(response.request_id, "TestRequestId1635941439344723000");
}

#[test]
fn every_documented_response_code_is_named() {
    let doc = reference(REQUEST_DOC);
    for code in [1100, 1901, 1902, 1903, 1904, 9101] {
        assert!(doc.contains(&code.to_string()));
        assert!(ResponseCode::from_code(code).is_known(), "{code}");
    }
    for code in 3001..=3005 {
        assert!(StreamEndCode::from_code(code).is_known(), "{code}");
    }
}

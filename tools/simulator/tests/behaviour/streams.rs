//! Streams: the pull of NORMAL URLs, segment cadence and options, scenario
//! outcomes, natural end, and callback delivery with retries.

use crate::common;

use common::{ACCESS_KEY, harness};
use serde_json::json;
use streamguard_wire::deepcleer::{Callback, CallbackKind, RiskLevel, StreamEndCode};

#[tokio::test]
async fn an_inaccessible_url_is_retried_twelve_times_then_ends_with_3001() {
    let h = harness(|_| {}).await;
    for (bt_id, path) in [("missing", "/missing.flv"), ("forbidden", "/forbidden.flv")] {
        let started = h.start(&h.normal(bt_id, &h.sources.at(path))).await;
        let end = h.stream_end(bt_id).await;
        assert_eq!(end["auxInfo"]["errorCode"], 3001, "{end}");
        let tasks = h
            .wait_items(
                "tasks",
                &format!("requestId={}&kind=ended", started["requestId"].as_str().unwrap()),
                1,
            )
            .await;
        assert_eq!(tasks[0]["pullAttempts"], 13, "one attempt and 12 retries");
        assert_eq!(tasks[0]["endCause"], "pullFailed");
    }
}

#[tokio::test]
async fn a_pull_that_recovers_within_the_retries_streams_normally() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}]}))
        .await;
    h.start(&h.normal("flaky", &h.sources.at("/flaky.mp3"))).await;
    let callbacks = h.callbacks("flaky", 1).await;
    assert_eq!(callbacks[0]["audioDetail"]["riskLevel"], "REJECT");
    assert_eq!(h.sources.flaky_hits.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn bodies_that_are_not_audio_or_empty_end_with_3002_and_3004() {
    let h = harness(|_| {}).await;
    h.start(&h.normal("html", &h.sources.at("/page.html"))).await;
    h.start(&h.normal("empty", &h.sources.at("/empty.mp3"))).await;
    assert_eq!(h.stream_end("html").await["auxInfo"]["errorCode"], 3002);
    assert_eq!(h.stream_end("empty").await["auxInfo"]["errorCode"], 3004);
}

#[tokio::test]
async fn a_finite_source_ends_naturally_after_its_duration() {
    let h = harness(|_| {}).await;
    let mut request = h.normal("clip", &h.sources.at("/clip.wav"));
    request["data"]["returnAllText"] = json!(1);
    h.start(&request).await;
    let end = h.stream_end("clip").await;
    assert!(end["auxInfo"].get("errorCode").is_none(), "{end}");
    assert_eq!(end["auxInfo"]["streamTime"], 25);
    let callbacks = h.callbacks("clip", 3).await;
    let segments = callbacks.iter().filter(|body| body["statCode"] == 0).count();
    assert_eq!(segments, 2, "25 s of audio make two full 10 s segments");
}

#[tokio::test]
async fn return_all_text_0_sends_only_risky_segments_and_1_sends_every_segment() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({
        "segments": [{"every": 3, "riskLevel": "REJECT", "riskLabel1": "politics", "text": "bad"}],
        "streams": [{"durationSecs": 60}]
    }))
    .await;
    let mut quiet = h.agora("quiet", "c1");
    quiet["data"]["returnAllText"] = json!(0);
    let mut chatty = h.agora("chatty", "c2");
    chatty["data"]["returnAllText"] = json!(1);
    h.start(&quiet).await;
    h.start(&chatty).await;
    h.stream_end("quiet").await;
    h.stream_end("chatty").await;
    let quiet = h.callbacks("quiet", 3).await;
    let indexes: Vec<&str> = quiet
        .iter()
        .filter(|b| b["statCode"] == 0)
        .map(|b| b["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(indexes.len(), 2, "segments 3 and 6 of 6: {indexes:?}");
    assert!(indexes.iter().all(|id| id.ends_with("_3") || id.ends_with("_6")));
    let chatty = h.callbacks("chatty", 7).await;
    assert_eq!(chatty.iter().filter(|b| b["statCode"] == 0).count(), 6);
    let rejects: Vec<_> = chatty
        .iter()
        .filter(|b| b["audioDetail"]["riskLevel"] == "REJECT")
        .collect();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["audioDetail"]["riskLabel1"], "politics");
    assert_eq!(rejects[0]["audioDetail"]["allLabels"][0]["riskLabel1"], "politics");
    let pass = chatty.iter().find(|b| b["audioDetail"]["riskLevel"] == "PASS").unwrap();
    assert_eq!(pass["audioDetail"]["riskLabel1"], "normal");
    assert_eq!(pass["audioDetail"]["riskDescription"], "Normal");
}

#[tokio::test]
async fn callbacks_parse_with_the_wire_crate_and_echo_the_request_and_pass_through() {
    let h = harness(|_| {}).await;
    h.put_scenario(
        json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT", "text": "second"}],
                          "streams": [{"btId": "room-1", "durationSecs": 30}]}),
    )
    .await;
    let mut request = h.agora("room-1", "c1");
    request["data"]["returnAllText"] = json!(1);
    request["data"]["returnPreText"] = json!(1);
    request["data"]["returnPreAudio"] = json!(1);
    request["data"]["passThrough"] = json!({"owner": 42});
    h.start(&request).await;
    h.stream_end("room-1").await;
    let bodies = h.callbacks("room-1", 4).await;
    let parsed: Vec<Callback> = bodies
        .iter()
        .map(|body| serde_json::from_value(body.clone()).unwrap())
        .collect();
    let second = parsed
        .iter()
        .find(|callback| callback.request_id.ends_with("_2"))
        .unwrap();
    let CallbackKind::Segment(detail) = second.kind() else {
        panic!("a segment")
    };
    assert_eq!(detail.risk_level, RiskLevel::Reject);
    assert_eq!(
        detail.audio_text.as_deref(),
        Some("segment 1 of room-1 second"),
        "returnPreText joins the previous text"
    );
    assert!(detail.pre_audio_url.as_deref().unwrap().ends_with("_2_pre.mp3"));
    assert_eq!(
        detail.aux_info.as_ref().unwrap().pass_through,
        Some(json!({"owner": 42}))
    );
    let echoed = second.request_params.as_ref().unwrap();
    assert_eq!(
        echoed["accessKey"], ACCESS_KEY,
        "the real service echoes the accessKey: consumers must strip it"
    );
    assert_eq!(echoed["data"]["agoraParam"]["token"], "agora-secret-token");
    let end = parsed
        .iter()
        .find(|callback| matches!(callback.kind(), CallbackKind::StreamEnd(_)))
        .unwrap();
    assert_eq!(end.pass_through(), Some(&json!({"owner": 42})));
    let audio = h.http.get(detail.audio_url.as_deref().unwrap()).send().await.unwrap();
    assert_eq!(audio.headers()["content-type"], "audio/mpeg");
}

#[tokio::test]
async fn audio_detect_step_reviews_one_segment_in_step_plus_one() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"streams": [{"durationSecs": 70}]})).await;
    let mut request = h.agora("stepped", "c1");
    request["data"]["returnAllText"] = json!(1);
    request["data"]["audioDetectStep"] = json!(2);
    h.start(&request).await;
    h.stream_end("stepped").await;
    let bodies = h.callbacks("stepped", 4).await;
    let mut ids: Vec<String> = bodies
        .iter()
        .filter(|b| b["statCode"] == 0)
        .map(|b| b["requestId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort_by_key(|id| id.rsplit('_').next().unwrap().parse::<u32>().unwrap());
    let suffixes: Vec<&str> = ids.iter().map(|id| id.rsplit('_').next().unwrap()).collect();
    assert_eq!(suffixes, ["1", "4", "7"]);
}

#[tokio::test]
async fn the_scenario_decides_rtc_outcomes_such_as_an_expired_token() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"streams": [{"btId": "expired", "durationSecs": 0, "endCode": 3005}]}))
        .await;
    h.start(&h.agora("expired", "c1")).await;
    let end: Callback = serde_json::from_value(h.stream_end("expired").await).unwrap();
    let CallbackKind::StreamEnd(Some(info)) = end.kind() else {
        panic!("a stream end")
    };
    assert_eq!(info.error_code, Some(StreamEndCode::TokenInvalidOrExpired));
}

#[tokio::test]
async fn without_return_finish_info_no_stream_end_is_sent() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REVIEW"}], "streams": [{"durationSecs": 15}]}))
        .await;
    let mut request = h.agora("silent-end", "c1");
    request["data"]["returnFinishInfo"] = json!(0);
    let started = h.start(&request).await;
    h.wait_items(
        "tasks",
        &format!("requestId={}&kind=ended", started["requestId"].as_str().unwrap()),
        1,
    )
    .await;
    let (_, ends) = h.control("deliveries?btId=silent-end&kind=streamEnd").await;
    assert_eq!(ends["items"], json!([]));
    let callbacks = h.callbacks("silent-end", 1).await;
    assert!(
        callbacks[0].get("statCode").is_none(),
        "statCode is only sent with returnFinishInfo 1"
    );
}

#[tokio::test]
async fn a_ten_minute_stream_runs_in_about_a_second() {
    let h = harness(|config| config.time_scale = 600.0).await;
    h.put_scenario(json!({"segments": [{"every": 20, "riskLevel": "REJECT"}], "streams": [{"durationSecs": 600}]}))
        .await;
    let mut request = h.agora("ten-minutes", "c1");
    request["data"]["returnAllText"] = json!(1);
    h.start(&request).await;
    h.stream_end("ten-minutes").await;
    let bodies = h.callbacks("ten-minutes", 61).await;
    assert_eq!(bodies.iter().filter(|b| b["statCode"] == 0).count(), 60);
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b["audioDetail"]["riskLevel"] == "REJECT")
            .count(),
        3
    );
}

#[tokio::test]
async fn unacknowledged_callbacks_are_retried_and_every_attempt_is_recorded() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}], "streams": [{"durationSecs": 10}]}))
        .await;
    let mut request = h.agora("retried", "c1");
    request["data"]["returnFinishInfo"] = json!(0); // only the segment meets the planned failures
    h.receiver.answer_next([500, 503]);
    let started = h.start(&request).await;
    let request_id = started["requestId"].as_str().unwrap();
    let deliveries = h
        .wait_items(
            "deliveries",
            &format!("callbackId={request_id}_1&btId=retried&kind=segment&acknowledged=true"),
            1,
        )
        .await;
    let attempts = deliveries[0]["attempts"].as_array().unwrap();
    assert_eq!(
        deliveries[0]["acknowledgedOn"], 3,
        "delivered once, acknowledged on attempt 3"
    );
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [500, 503, 200]
    );
    let received = h.callbacks("retried", 3).await;
    assert!(
        received.iter().all(|b| b["requestId"] == format!("{request_id}_1")),
        "three POSTs of one segment"
    );
}

#[tokio::test]
async fn after_twenty_retries_the_provider_gives_up() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}], "streams": [{"durationSecs": 10}]}))
        .await;
    let mut request = h.agora("down", "c1");
    request["data"]["returnFinishInfo"] = json!(0);
    h.receiver.answer_next(std::iter::repeat_n(500, 30));
    h.start(&request).await;
    let path = "/cb/down";
    let all = h
        .receiver
        .wait_for(21, common::WAIT, |r| r.uri == path)
        .await
        .expect("21 attempts");
    assert_eq!(all.len(), 21, "one attempt and 20 retries");
    let deliveries = h.wait_items("deliveries", "btId=down&gaveUp=true", 1).await;
    assert_eq!(deliveries[0]["attempts"].as_array().unwrap().len(), 21);
    assert_eq!(deliveries[0]["acknowledgedOn"], serde_json::Value::Null);
    assert_eq!(deliveries[0]["gaveUp"], true);
}

#[tokio::test]
async fn rtmp_streams_follow_the_scenario() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"segment": 2, "riskLevel": "REJECT"}],
                          "streams": [{"btId": "rtmp-room", "durationSecs": 25, "endCode": 3003}]}))
        .await;
    h.start(&h.normal("rtmp-room", "rtmp://127.0.0.1:1935/live/room")).await;
    assert_eq!(h.stream_end("rtmp-room").await["auxInfo"]["errorCode"], 3003);
    let callbacks = h.callbacks("rtmp-room", 2).await;
    assert!(callbacks.iter().any(|b| b["audioDetail"]["riskLevel"] == "REJECT"));
}

#[tokio::test]
async fn closing_during_pull_retries_stops_the_pull() {
    // Slow time, so the task is still between retries when it is closed.
    let h = harness(|config| config.time_scale = 1.0).await;
    let started = h.start(&h.normal("closing", &h.sources.at("/missing.flv"))).await;
    let request_id = started["requestId"].as_str().unwrap();
    h.wait_items("tasks", &format!("requestId={request_id}&kind=running"), 1)
        .await;
    assert_eq!(h.close(request_id).await["code"], 1100);
    let end = h.stream_end("closing").await;
    assert!(end["auxInfo"].get("errorCode").is_none(), "closed, not failed: {end}");
    let tasks = h
        .wait_items("tasks", &format!("requestId={request_id}&kind=ended"), 1)
        .await;
    assert_eq!(tasks[0]["endCause"], "closed");
    assert!(tasks[0]["pullAttempts"].as_u64().unwrap() < 13);
}

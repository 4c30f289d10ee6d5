//! The DeepCleer API surface: auth, validation, ids, duplicates, limits,
//! close (audio and video), and the fault switches.

use crate::common;

use common::{ACCESS_KEY, harness};
use serde_json::{Value, json};
use std::time::Duration;

fn is_request_id(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

#[tokio::test]
async fn an_unknown_access_key_is_9101() {
    let h = harness(|_| {}).await;
    let mut request = h.normal("room-1", &h.sources.at("/live.mp3"));
    request["accessKey"] = json!("not-ours");
    let answer = h.start(&request).await;
    assert_eq!(answer["code"], 9101);
    assert_eq!(answer["message"], "Unauthorized operation");
    let closed = h
        .post(
            "/finish_audiostream/v4",
            &json!({"accessKey": "not-ours", "requestId": "x"}),
        )
        .await;
    assert_eq!(closed["code"], 9101);
}

#[tokio::test]
async fn an_invalid_request_is_1902_naming_the_field() {
    let h = harness(|_| {}).await;
    let mut request = h.normal("room-1", "ftp://nowhere.example/x");
    request["data"]["audioDetectStep"] = json!(40);
    let answer = h.start(&request).await;
    assert_eq!(answer["code"], 1902);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("data.url") && message.contains("data.audioDetectStep"),
        "{message}"
    );
    let answer = h
        .post(
            "/audiostream/v4",
            &json!({"accessKey": ACCESS_KEY, "data": {"level": "high"}}),
        )
        .await;
    assert_eq!(answer["code"], 1902);
    assert!(answer["message"].as_str().unwrap().contains("data.level"), "{answer}");
}

#[tokio::test]
async fn a_started_task_has_a_32_hex_request_id_and_segments_carry_its_suffix() {
    let h = harness(|_| {}).await;
    h.put_scenario(json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT"}]}))
        .await;
    let answer = h.start(&h.normal("room-1", &h.sources.at("/live.mp3"))).await;
    assert_eq!(answer["code"], 1100);
    assert!(is_request_id(&answer["requestId"]), "{answer}");
    let request_id = answer["requestId"].as_str().unwrap();
    let callbacks = h.callbacks("room-1", 1).await;
    assert_eq!(callbacks[0]["requestId"], format!("{request_id}_2"));
    assert_eq!(callbacks[0]["btId"], "room-1");
}

#[tokio::test]
async fn a_stream_already_in_moderation_is_a_duplicate_naming_the_running_task() {
    let h = harness(|_| {}).await;
    let first = h.start(&h.normal("room-1", &h.sources.at("/live.mp3"))).await;
    let again = h.start(&h.normal("room-1-retry", &h.sources.at("/live.mp3"))).await;
    assert_eq!(again["code"], 1100);
    assert_eq!(again["detail"]["errorCode"], 1001);
    assert_eq!(again["detail"]["dupRequestId"], first["requestId"]);
    assert_ne!(again["requestId"], first["requestId"]);
    let rtc = h.start(&h.agora("room-2", "channel-9")).await;
    let rtc_again = h.start(&h.agora("room-2", "channel-9")).await;
    assert_eq!(rtc_again["detail"]["dupRequestId"], rtc["requestId"]);
    let other_channel = h.start(&h.agora("room-3", "channel-10")).await;
    assert!(
        other_channel.get("detail").is_none(),
        "another room is another stream: {other_channel}"
    );
    // Once the first task is closed, the same stream starts a new task.
    h.close(first["requestId"].as_str().unwrap()).await;
    h.wait_items(
        "tasks",
        &format!("requestId={}&kind=ended", first["requestId"].as_str().unwrap()),
        1,
    )
    .await;
    let fresh = h.start(&h.normal("room-1", &h.sources.at("/live.mp3"))).await;
    assert!(fresh.get("detail").is_none(), "{fresh}");
}

#[tokio::test]
async fn the_stream_cap_answers_1901() {
    let h = harness(|config| config.max_streams = Some(1)).await;
    assert_eq!(h.start(&h.agora("room-1", "c1")).await["code"], 1100);
    let refused = h.start(&h.agora("room-2", "c2")).await;
    assert_eq!(refused["code"], 1901);
    assert_eq!(refused["message"], "QPS or stream-count limit exceeded");
}

#[tokio::test]
async fn the_qps_cap_answers_1901() {
    let h = harness(|config| config.max_qps = Some(3)).await;
    let mut codes = Vec::new();
    for n in 0..8 {
        codes.push(
            h.start(&h.agora(&format!("room-{n}"), &format!("c{n}"))).await["code"]
                .as_i64()
                .unwrap(),
        );
    }
    // All eight fit in one or two wall-clock seconds: at most 6 can pass.
    assert!(codes.iter().filter(|code| **code == 1901).count() >= 2, "{codes:?}");
    assert!(codes.iter().filter(|code| **code == 1100).count() >= 3, "{codes:?}");
}

#[tokio::test]
async fn close_ends_the_task_and_closing_again_or_by_duplicate_id_is_fine() {
    let h = harness(|_| {}).await;
    let started = h.start(&h.agora("room-1", "c1")).await;
    let request_id = started["requestId"].as_str().unwrap();
    let closed = h.close(request_id).await;
    assert_eq!(closed["code"], 1100);
    assert!(is_request_id(&closed["requestId"]));
    assert_ne!(
        closed["requestId"], started["requestId"],
        "the close call has its own id"
    );
    let end = h.stream_end("room-1").await;
    assert_eq!(end["requestId"], request_id);
    assert!(
        end["auxInfo"].get("errorCode").is_none(),
        "a closed stream ends without an error code: {end}"
    );
    assert_eq!(
        h.close(request_id).await["code"],
        1100,
        "closing an ended task is accepted"
    );
    let unknown = h.close("0123456789abcdef0123456789abcdef").await;
    assert_eq!(unknown["code"], 1902);
    assert!(unknown["message"].as_str().unwrap().contains("not a task"));
}

#[tokio::test]
async fn video_tasks_close_through_the_video_api() {
    let h = harness(|_| {}).await;
    let response = h
        .http
        .post(format!("{}/_sim/video-tasks", h.sim.url()))
        .json(&json!({"requestId": "video-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let closed = h
        .post(
            "/finish_videostream/v4",
            &json!({"accessKey": ACCESS_KEY, "requestId": "video-1"}),
        )
        .await;
    assert_eq!(closed["code"], 1100);
    assert_eq!(h.control("video-tasks/video-1").await.1["closed"], true);
    let unknown = h
        .post(
            "/finish_videostream/v4",
            &json!({"accessKey": ACCESS_KEY, "requestId": "video-2"}),
        )
        .await;
    assert_eq!(unknown["code"], 1902);
    let too_long = h
        .post(
            "/finish_videostream/v4",
            &json!({"accessKey": ACCESS_KEY, "requestId": "a".repeat(33)}),
        )
        .await;
    assert_eq!(too_long["code"], 1902);
    assert!(too_long["message"].as_str().unwrap().contains("at most 32"));
}

#[tokio::test]
async fn a_code_fault_answers_that_code_the_given_number_of_times() {
    let h = harness(|_| {}).await;
    h.add_fault(json!({"fault": "code", "code": 1903, "api": "start", "times": 2}))
        .await;
    assert_eq!(h.start(&h.agora("room-1", "c1")).await["code"], 1903);
    assert_eq!(h.start(&h.agora("room-1", "c1")).await["code"], 1903);
    assert_eq!(h.start(&h.agora("room-1", "c1")).await["code"], 1100);
    let (_, faults) = h.control("faults").await;
    assert_eq!(faults, json!([]), "the fault ran out");
}

#[tokio::test]
async fn a_stall_outlasts_the_client_timeout() {
    let h = harness(|_| {}).await;
    h.add_fault(json!({"fault": "stall", "millis": 3000, "api": "start", "times": 1}))
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = impatient
        .post(format!("{}/audiostream/v4", h.sim.url()))
        .json(&h.agora("room-1", "c1"))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
}

#[tokio::test]
async fn a_dropped_response_leaves_a_running_task_that_a_resubmission_finds() {
    let h = harness(|_| {}).await;
    h.add_fault(json!({"fault": "dropResponse", "api": "start", "times": 1, "holdMillis": 5000}))
        .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let request = h.agora("room-1", "c1");
    let lost = impatient
        .post(format!("{}/audiostream/v4", h.sim.url()))
        .json(&request)
        .send()
        .await;
    assert!(lost.unwrap_err().is_timeout(), "the acknowledgement was lost");
    let tasks = h.wait_items("tasks", "btId=room-1&kind=running", 1).await;
    let resubmitted = h.start(&request).await;
    assert_eq!(resubmitted["detail"]["errorCode"], 1001);
    assert_eq!(resubmitted["detail"]["dupRequestId"], tasks[0]["requestId"]);
    let records = h.wait_items("requests", "kind=start", 2).await;
    assert_eq!(records[0]["fault"], "dropped");
}

#[tokio::test]
async fn refused_connections_come_back_after_the_fault() {
    let h = harness(|_| {}).await;
    h.add_fault(json!({"fault": "refuseConnections", "millis": 400})).await;
    let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let refused = fresh().get(format!("{}/_sim/health", h.sim.url())).send().await;
    assert!(refused.unwrap_err().is_connect(), "a new connection is refused");
    // Recovery is observed, not slept for: retry until the listener is back.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        match fresh().get(format!("{}/_sim/health", h.sim.url())).send().await {
            Ok(response) => {
                assert_eq!(response.status(), 200);
                break;
            }
            Err(error) if error.is_connect() && tokio::time::Instant::now() < deadline => {
                tokio::task::yield_now().await
            }
            Err(error) => panic!("the simulator did not come back: {error}"),
        }
    }
}

#[tokio::test]
async fn a_misspelt_listing_filter_is_refused() {
    let h = harness(|_| {}).await;
    let (status, _) = h.control("requests?api=start").await;
    assert_eq!(status, 400);
    let (status, _) = h.control("requests?kind=start").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_wait_that_runs_out_is_408_with_what_matched_and_the_client_names_the_call() {
    let h = harness(|_| {}).await;
    let start = h.start(&h.normal("room-wait", &h.sources.at("/live.mp3"))).await;
    assert_eq!(start["code"], 1100);
    let control = simulator::ControlClient::new(h.sim.url(), h.http.clone());
    let error = control
        .wait_items("tasks", "btId=room-wait", 2, Duration::from_millis(50))
        .await
        .unwrap_err();
    let simulator::ControlError::Refused { call, status, body } = &error else {
        panic!("not a refusal: {error}");
    };
    assert_eq!(*status, 408);
    assert_eq!(call, "waiting for 2 of tasks?btId=room-wait");
    assert_eq!(body["complete"], false);
    assert_eq!(
        body["items"].as_array().map(Vec::len),
        Some(1),
        "the one task that matched"
    );
    let found = control
        .wait_items("tasks", "btId=room-wait", 1, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

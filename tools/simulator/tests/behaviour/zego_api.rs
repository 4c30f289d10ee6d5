//! The Zego side: signed common parameters, StartCensorAudioV2 /
//! StopCensorAudioV2, and signed callbacks with Zego's retry policy.

use crate::common;

use common::{Harness, WAIT, harness};
use serde_json::{Value, json};
use simulator::ZegoCredentials;
use streamguard_wire::zego::{CommonParams, START_ACTION, STOP_ACTION, ZegoCallback, parse_callback};

const APP_ID: u32 = 12345;
const SERVER_SECRET: &str = "9193cc662a4c0ec135ec71fb57194b38";
const CALLBACK_SECRET: &str = "callback-secret";

async fn zego_harness() -> Harness {
    harness(|config| {
        config.zego = Some(ZegoCredentials {
            app_id: APP_ID,
            server_secret: SERVER_SECRET.into(),
            callback_secret: CALLBACK_SECRET.into(),
        })
    })
    .await
}

fn now() -> i64 {
    simulator::clock::wall_clock_secs()
}

async fn call(h: &Harness, params: &CommonParams, body: &Value) -> Value {
    let url = format!("{}/?{}", h.sim.url(), params.to_query());
    let response = h.http.post(url).json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn signed(action: &str) -> CommonParams {
    let nonce = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    CommonParams::signed(action, APP_ID, &nonce, SERVER_SECRET, now())
}

fn start_body(h: &Harness, room: &str) -> Value {
    json!({
        "RoomId": room, "EventId": "audio_room", "AudioLanguage": "en", "LabelLanguage": "en",
        "RiskTypeList": ["DIRTY"], "ReturnAllText": 0, "ReturnFinishInfo": 1,
        "ResultCallbackUrl": h.receiver.url(&format!("/zego/result/{room}?token=t")),
        "StatusCallbackUrl": h.receiver.url(&format!("/zego/status/{room}?token=t"))
    })
}

#[tokio::test]
async fn signatures_are_checked_like_zego() {
    let h = zego_harness().await;
    let body = start_body(&h, "room-1");
    let wrong_secret = CommonParams::signed(START_ACTION, APP_ID, "4fd24687296dd9f3", "not-the-secret", now());
    assert_eq!(call(&h, &wrong_secret, &body).await["Code"], 100000005);
    let wrong_app = CommonParams::signed(START_ACTION, 999, "4fd24687296dd9f3", SERVER_SECRET, now());
    assert_eq!(call(&h, &wrong_app, &body).await["Code"], 100000005);
    let stale = CommonParams::signed(START_ACTION, APP_ID, "4fd24687296dd9f3", SERVER_SECRET, now() - 3600);
    assert_eq!(call(&h, &stale, &body).await["Code"], 100000004);
    let old_version = CommonParams {
        signature_version: "1.0".into(),
        ..signed(START_ACTION)
    };
    assert_eq!(call(&h, &old_version, &body).await["Code"], 100000014);
    let (_, tasks) = h.control("tasks").await;
    assert_eq!(tasks["items"], json!([]), "nothing was started");
}

#[tokio::test]
async fn start_results_status_and_stop_are_signed_and_shaped_like_zego() {
    let h = zego_harness().await;
    h.put_scenario(
        json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT", "text": "rude words"}]}),
    )
    .await;
    let started = call(&h, &signed(START_ACTION), &start_body(&h, "room-1")).await;
    assert_eq!(started["Code"], 0, "{started}");
    let task_id = started["Data"]["TaskId"].as_str().unwrap().to_owned();
    assert_eq!(task_id.len(), 32);
    let results = h
        .receiver
        .wait_for(1, WAIT, |r| r.uri.starts_with("/zego/result/room-1"))
        .await
        .expect("a result");
    let result = parse_callback(results[0].body.to_string().as_bytes()).unwrap();
    result
        .auth()
        .verify(CALLBACK_SECRET, now())
        .expect("signed with the callback secret");
    assert!(result.auth().verify("other", now()).is_err());
    let ZegoCallback::Result(result) = result else {
        panic!("a result callback")
    };
    assert_eq!(result.result_task_id, format!("{task_id}_2"));
    assert_eq!(
        result.detail.as_ref().unwrap().audio_text.as_deref(),
        Some("rude words")
    );
    assert_eq!(result.aux_info.as_ref().unwrap().room_id.as_deref(), Some("room-1"));

    let stopped = call(&h, &signed(STOP_ACTION), &json!({"TaskId": task_id})).await;
    assert_eq!(stopped["Code"], 0);
    let statuses = h
        .receiver
        .wait_for(1, WAIT, |r| r.uri.starts_with("/zego/status/room-1"))
        .await
        .expect("a status");
    let status = parse_callback(statuses[0].body.to_string().as_bytes()).unwrap();
    status.auth().verify(CALLBACK_SECRET, now()).unwrap();
    let ZegoCallback::Status(status) = status else {
        panic!("a status callback")
    };
    assert_eq!(status.task_id, task_id);
    assert!(status.is_finished());
    assert!(status.aux_info.unwrap().censor_stream_time.is_some());
}

#[tokio::test]
async fn invalid_bodies_and_unknown_tasks_are_refused() {
    let h = zego_harness().await;
    let answer = call(&h, &signed(START_ACTION), &json!({"RoomId": "r", "EventId": "party"})).await;
    assert_eq!(answer["Code"], simulator::api::ZEGO_INVALID_PARAMETER);
    let message = answer["Message"].as_str().unwrap();
    assert!(
        message.contains("EventId") && message.contains("AudioLanguage"),
        "{message}"
    );
    let answer = call(
        &h,
        &signed(STOP_ACTION),
        &json!({"TaskId": "0123456789abcdef0123456789abcdef"}),
    )
    .await;
    assert_eq!(answer["Code"], simulator::api::ZEGO_INVALID_PARAMETER);
}

#[tokio::test]
async fn zego_retries_five_times_then_drops_the_callback() {
    let h = zego_harness().await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}], "streams": [{"durationSecs": 10}]}))
        .await;
    let mut body = start_body(&h, "room-down");
    body.as_object_mut().unwrap().remove("StatusCallbackUrl");
    h.receiver.answer_next(std::iter::repeat_n(500, 10));
    call(&h, &signed(START_ACTION), &body).await;
    let deliveries = h.wait_items("deliveries", "btId=room-down&gaveUp=true", 1).await;
    assert_eq!(
        deliveries[0]["attempts"].as_array().unwrap().len(),
        6,
        "one attempt and five retries"
    );
}

#[tokio::test]
async fn any_2xx_acknowledges_a_zego_callback() {
    let h = zego_harness().await;
    h.put_scenario(json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}], "streams": [{"durationSecs": 10}]}))
        .await;
    h.receiver.answer_next([204]);
    let mut body = start_body(&h, "room-204");
    body.as_object_mut().unwrap().remove("StatusCallbackUrl");
    call(&h, &signed(START_ACTION), &body).await;
    let deliveries = h.wait_items("deliveries", "btId=room-204&acknowledged=true", 1).await;
    assert_eq!(deliveries[0]["acknowledgedOn"], 1);
}

#[tokio::test]
async fn zego_faults_answer_zego_codes() {
    let h = zego_harness().await;
    h.add_fault(json!({"fault": "code", "code": 50009, "api": "zego", "times": 1}))
        .await;
    assert_eq!(
        call(&h, &signed(START_ACTION), &start_body(&h, "room-1")).await["Code"],
        50009
    );
    assert_eq!(
        call(&h, &signed(START_ACTION), &start_body(&h, "room-1")).await["Code"],
        0
    );
}

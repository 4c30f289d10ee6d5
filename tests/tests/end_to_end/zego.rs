//! End to end with Zego as the provider, against the simulator's Zego side:
//! start and stop through Zego's signed server API, signed callbacks into the
//! same queue and the same task states; forged, stale and replayed callbacks.

use e2e::{Options, Stack, ZEGO_APP_ID, ZEGO_CALLBACK_SECRET, stack, stack_with};
use reqwest::Method;
use serde_json::{Value, json};
use streamguard_core::providers::zego;
use streamguard_wire::event::EventBody;
use streamguard_wire::zego::CallbackAuth;

fn zego_start(bt_id: &str) -> Value {
    json!({"provider": "zego", "eventId": "audio_room", "type": "DIRTY_POLITY", "data": {"btId": bt_id, "lang": "en"}})
}

async fn started(stack: &Stack, bt_id: &str) -> Value {
    let (status, task) = stack.start(&zego_start(bt_id)).await;
    assert_eq!(status, 201, "{task}");
    task
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A result callback for `task` as Zego would send it, signed with `secret` at `timestamp`.
fn result_body(task_id: &str, n: u32, level: &str, secret: &str, timestamp: i64) -> Value {
    let mut body = json!({
        "Event": "censor_audio_v2_result", "Code": 0, "Message": "success", "TaskId": task_id,
        "ResultTaskId": format!("{task_id}_{n}"),
        "Detail": {"RiskLevel": level, "AudioText": "words", "RiskLabel1": "abuse"},
        "AuxInfo": {"RoomId": "room-z"}
    });
    let auth = CallbackAuth::sign(ZEGO_APP_ID, secret, timestamp, &format!("nonce{n}"));
    body.as_object_mut()
        .unwrap()
        .extend(serde_json::to_value(auth).unwrap().as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn a_zego_room_is_moderated_stopped_and_ended_through_the_same_queue() {
    let stack = stack().await;
    stack
        .scenario(json!({"segments": [{"btId": "room-z", "segment": 2, "riskLevel": "REJECT", "text": "rude"}]}))
        .await;
    let task = started(&stack, "room-z").await;
    assert_eq!(task["provider"], "zego");
    let task_id = task["requestId"].as_str().unwrap().to_owned();
    let zego_tasks = stack
        .sim_wait("tasks", &format!("requestId={task_id}&kind=running"), 1)
        .await;
    assert_eq!(zego_tasks[0]["provider"], "zego", "the simulator's Zego side runs it");
    let starts = stack.sim_wait("requests", "kind=zegoStart", 1).await;
    assert_eq!(starts[0]["code"], 0);

    stack
        .sim_wait("deliveries", &format!("callbackId={task_id}_2&acknowledged=true"), 1)
        .await;
    let (status, closed) = stack.close("room-z").await;
    assert_eq!(status, 200, "{closed}");
    stack.sim_wait("requests", "kind=zegoStop", 1).await;
    stack
        .sim_wait("deliveries", "btId=room-z&kind=streamEnd&acknowledged=true", 1)
        .await;

    let (_, stored) = stack.get("room-z").await;
    assert_eq!(stored["status"], "ENDED");
    assert_eq!(stored["endReason"], "FINISHED");
    assert_eq!(stored["rejectCount"], 1);
    let events = stack.drain().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|event| event.provider == "zego" && event.bt_id.as_deref() == Some("room-z"))
    );
    let EventBody::Segment(segment) = &events
        .iter()
        .find(|e| matches!(e.body, EventBody::Segment(_)))
        .unwrap()
        .body
    else {
        unreachable!()
    };
    assert_eq!(segment.segment_id, format!("{task_id}_2"));
    assert_eq!(segment.audio_text.as_deref(), Some("rude"));
    assert!(
        events
            .iter()
            .any(|event| event.event_id == format!("zego:{task_id}:end"))
    );
}

#[tokio::test]
async fn zego_can_be_the_deployment_s_provider() {
    let stack = stack_with(Options {
        env: vec![("PROVIDER", "zego".into())],
        ..Options::default()
    })
    .await;
    let (status, task) = stack.start(&json!({"type": "DIRTY", "data": {"btId": "room-z"}})).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["provider"], "zego");
    let (status, task) = stack
        .start(
            &e2e::agora("room-d")
                .as_object()
                .cloned()
                .map(|mut body| {
                    body.insert("provider".into(), "deepcleer".into());
                    Value::Object(body)
                })
                .unwrap(),
        )
        .await;
    assert_eq!(status, 201, "a start can still name DeepCleer: {task}");
    assert_eq!(task["provider"], "deepcleer");
}

#[tokio::test]
async fn forged_stale_and_replayed_callbacks() {
    let stack = stack().await;
    let task = started(&stack, "room-z").await;
    let task_id = task["requestId"].as_str().unwrap();
    let url = format!(
        "{}/callbacks/{}",
        stack.api,
        stack.token_for(zego::ID, "room-z", task["taskId"].as_str().unwrap())
    );
    let post = |body: Value| {
        let http = stack.http.clone();
        let url = url.clone();
        async move { http.post(url).json(&body).send().await.unwrap().status().as_u16() }
    };
    let items_before = stack.items_for("room-z").await;
    assert_eq!(
        post(result_body(task_id, 7, "REJECT", "not-the-secret", now())).await,
        401,
        "forged signature"
    );
    assert_eq!(
        post(result_body(task_id, 7, "REJECT", ZEGO_CALLBACK_SECRET, now() - 3600)).await,
        401,
        "stale timestamp"
    );
    let mut unsigned = result_body(task_id, 7, "REJECT", ZEGO_CALLBACK_SECRET, now());
    unsigned.as_object_mut().unwrap().remove("Signature");
    assert_eq!(post(unsigned).await, 401, "no signature");
    assert_eq!(stack.items_for("room-z").await, items_before, "nothing written");
    assert!(stack.drain().await.is_empty());

    for _ in 0..5 {
        assert_eq!(
            post(result_body(task_id, 8, "REJECT", ZEGO_CALLBACK_SECRET, now())).await,
            200,
            "replays are acknowledged"
        );
    }
    let events = stack.drain().await;
    assert_eq!(events.len(), 1, "a replayed ResultTaskId is one event");
    assert_eq!(events[0].event_id, format!("zego:{task_id}_8"));
}

#[tokio::test]
async fn url_encoded_callbacks_are_accepted() {
    let stack = stack().await;
    let task = started(&stack, "room-z").await;
    let task_id = task["requestId"].as_str().unwrap();
    let url = format!(
        "{}/callbacks/{}",
        stack.api,
        stack.token_for(zego::ID, "room-z", task["taskId"].as_str().unwrap())
    );
    let json = result_body(task_id, 3, "REJECT", ZEGO_CALLBACK_SECRET, now()).to_string();
    let encoded: String = json
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            b' ' => "+".into(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let response = stack
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encoded)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(stack.drain().await.len(), 1);
}

#[tokio::test]
async fn zego_codes_become_clear_answers() {
    let stack = stack().await;
    stack
        .fault(json!({"fault": "code", "code": 50009, "api": "zego", "times": 1}))
        .await;
    let response = stack
        .http
        .post(format!("{}/streams", stack.api))
        .json(&zego_start("room-z"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["retry-after"], "300");
    assert_eq!(stack.get("room-z").await.1["status"], "FAILED");

    stack
        .fault(json!({"fault": "code", "code": 50117, "api": "zego", "times": 1}))
        .await;
    let (status, answer) = stack.start(&zego_start("room-z")).await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], "ZEGO_CONFIGURATION");
    assert_eq!(answer["error"]["provider"], "zego");

    let (status, answer) = stack
        .start(&json!({"provider": "zego", "type": "COPYRIGHTSONGS", "data": {"btId": "room-y"}}))
        .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["problems"][0]["rule"]
            .as_str()
            .unwrap()
            .contains("not available through Zego")
    );
    let (status, answer) = stack
        .start(&json!({"provider": "tencent", "type": "DIRTY", "data": {"btId": "room-y"}}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["problems"][0]["field"], "provider");
}

#[tokio::test]
async fn a_wrong_server_secret_is_a_configuration_error() {
    let stack = stack_with(Options {
        env: vec![("ZEGO_SERVER_SECRET", "wrong".into())],
        ..Options::default()
    })
    .await;
    let (status, answer) = stack.start(&zego_start("room-z")).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(answer["error"]["providerCode"], 100000005);
    assert!(!answer.to_string().contains("wrong"), "the secret is never shown");
    let (status, _) = stack.send(Method::GET, "/streams/room-z", None).await;
    assert_eq!(status, 200);
}

//! End to end over HTTP: provider callbacks into SQS, exactly once, through
//! retries, forgeries and outages of DynamoDB and SQS.

use e2e::{Options, Stack, agora, stack, stack_with};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use streamguard_wire::event::EventBody;

async fn started(stack: &Stack, bt_id: &str) -> Value {
    let (status, task) = stack.start(&agora(bt_id)).await;
    assert_eq!(status, 201, "{task}");
    task
}

#[tokio::test]
async fn a_scripted_reject_becomes_exactly_one_queue_event() {
    let stack = stack().await;
    stack.scenario(json!({"segments": [{"btId": "room-1", "segment": 3, "riskLevel": "REJECT", "riskLabel1": "abuse", "text": "you idiot"}]})).await;
    let task = started(&stack, "room-1").await;
    let request_id = task["requestId"].as_str().unwrap();
    stack
        .sim_wait("deliveries", &format!("callbackId={request_id}_3&acknowledged=true"), 1)
        .await;
    let events = stack.drain().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.event_id, format!("deepcleer:{request_id}_3"));
    assert_eq!(event.bt_id.as_deref(), Some("room-1"));
    assert_eq!(event.request_id, request_id);
    assert!(event.task_known);
    let EventBody::Segment(segment) = &event.body else {
        panic!("a segment event")
    };
    assert_eq!(segment.risk_label1.as_deref(), Some("abuse"));
    assert_eq!(segment.audio_text.as_deref(), Some("you idiot"));
    assert_eq!(segment.segment_index, Some(3));
    let (_, stored) = stack.get("room-1").await;
    assert_eq!(stored["rejectCount"], 1);
    assert!(stored["segmentsSeen"].as_u64().unwrap() >= 3, "{stored}");
}

#[tokio::test]
async fn queue_messages_are_grouped_by_stream_and_carry_no_secret() {
    let stack = stack().await;
    let rejects = json!({"segments": [{"segment": 1, "riskLevel": "REJECT"}, {"segment": 2, "riskLevel": "REJECT"}]});
    stack.scenario(rejects).await;
    let task = started(&stack, "room-1").await;
    stack
        .sim_wait("deliveries", "btId=room-1&kind=segment&acknowledged=true", 2)
        .await;
    let output = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queue_url)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();
    let message = &output.messages()[0];
    let group = message.attributes().unwrap()[&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId].clone();
    assert_eq!(group, "room-1");
    let body = message.body().unwrap();
    assert!(
        !body.contains(e2e::ACCESS_KEY) && !body.contains("agora-secret"),
        "{body}"
    );
    assert!(body.contains(task["requestId"].as_str().unwrap()));
}

#[tokio::test]
async fn twenty_deliveries_of_one_reject_yield_one_event() {
    let stack = stack().await;
    stack
        .scenario(json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT"}]}))
        .await;
    let task = started(&stack, "room-1").await;
    let request_id = task["requestId"].as_str().unwrap();
    let delivery = stack
        .sim_wait("deliveries", &format!("callbackId={request_id}_2&acknowledged=true"), 1)
        .await
        .remove(0);
    let target = delivery["target"].as_str().unwrap();
    for _ in 0..19 {
        let response = stack.http.post(target).json(&delivery["body"]).send().await.unwrap();
        assert_eq!(response.status(), 200, "a retried delivery is acknowledged");
    }
    let events = stack.drain().await;
    let rejects: Vec<_> = events
        .iter()
        .filter(|e| e.event_id == format!("deepcleer:{request_id}_2"))
        .collect();
    assert_eq!(rejects.len(), 1);
    assert_eq!(stack.get("room-1").await.1["rejectCount"], 1);
}

#[tokio::test]
async fn a_forged_callback_is_401_and_writes_nothing() {
    let stack = stack().await;
    let task = started(&stack, "room-1").await;
    let body = json!({"requestId": format!("{}_9", task["requestId"].as_str().unwrap()), "btId": "room-1",
                      "code": 1100, "audioDetail": {"riskLevel": "REJECT"}});
    let items_before = stack.items_for("room-1").await;
    let genuine = stack.token("room-1", task["taskId"].as_str().unwrap());
    let other_key =
        streamguard_core::domain::CallbackKey::new(b"someone-else's-key-000", streamguard_core::providers::REGISTERED)
            .unwrap();
    let forged_tokens = [
        "no-token".to_owned(),
        format!("{}x", &genuine[..genuine.len() - 1]),
        other_key.sign(
            &streamguard_core::domain::TaskRef {
                provider: streamguard_core::providers::deepcleer::ID,
                bt_id: "room-1".into(),
                task_id: task["taskId"].as_str().unwrap().into(),
            },
            time::OffsetDateTime::now_utc() + e2e::TOKEN_LIFETIME,
        ),
        // Genuine, but expired.
        stack.key.sign(
            &streamguard_core::domain::TaskRef {
                provider: streamguard_core::providers::deepcleer::ID,
                bt_id: "room-1".into(),
                task_id: task["taskId"].as_str().unwrap().into(),
            },
            time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(1),
        ),
    ];
    for token in forged_tokens {
        let response = stack
            .http
            .post(format!("{}/callbacks/{token}", stack.api))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{token}");
    }
    let response = stack
        .http
        .post(format!("{}/callbacks", stack.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(stack.items_for("room-1").await, items_before, "nothing written");
    assert!(stack.drain().await.is_empty(), "nothing queued");
}

#[tokio::test]
async fn bodies_too_large_or_malformed_are_refused() {
    let stack = stack().await;
    let task = started(&stack, "room-1").await;
    let url = format!(
        "{}/callbacks/{}",
        stack.api,
        stack.token("room-1", task["taskId"].as_str().unwrap())
    );
    let huge = format!(
        r#"{{"requestId": "x_1", "padding": "{}"}}"#,
        "a".repeat(streamguard_core::http::MAX_CALLBACK_BYTES)
    );
    let response = stack.http.post(&url).body(huge).send().await.unwrap();
    assert_eq!(response.status(), 413);
    let response = stack.http.post(&url).body("{ not json").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let largest_legitimate = json!({"requestId": format!("{}_1", task["requestId"].as_str().unwrap()), "btId": "room-1",
        "requestParams": {"data": {"passThrough": {"blob": "b".repeat(1024 * 1024)}}}, "audioDetail": {"riskLevel": "PASS"}});
    let response = stack.http.post(&url).json(&largest_legitimate).send().await.unwrap();
    assert_eq!(response.status(), 200, "a callback echoing 1 MB of request data fits");
}

#[tokio::test]
async fn a_reject_for_a_task_missing_from_the_table_is_still_published() {
    let stack = stack().await;
    let token = stack.token("room-ghost", &"0".repeat(32));
    let body = json!({"requestId": "ffffffffffffffffffffffffffffffff_4", "btId": "room-ghost", "code": 1100, "audioDetail": {"riskLevel": "REJECT"}});
    let response = stack
        .http
        .post(format!("{}/callbacks/{token}", stack.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = stack.drain().await;
    assert_eq!(events.len(), 1);
    assert!(!events[0].task_known);
    assert_eq!(events[0].bt_id.as_deref(), Some("room-ghost"));
}

#[tokio::test]
async fn a_stream_end_with_3005_ends_the_task_and_is_published() {
    let stack = stack().await;
    stack
        .scenario(json!({"streams": [{"btId": "room-1", "durationSecs": 25, "endCode": 3005}]}))
        .await;
    let task = started(&stack, "room-1").await;
    stack
        .sim_wait("deliveries", "btId=room-1&kind=streamEnd&acknowledged=true", 1)
        .await;
    let (_, stored) = stack.get("room-1").await;
    assert_eq!(stored["status"], "ENDED");
    assert_eq!(stored["endCode"], 3005);
    assert_eq!(stored["endReason"], "TOKEN_INVALID_OR_EXPIRED");
    assert_eq!(stored["streamTime"], 25);
    let events = stack.drain().await;
    let ends: Vec<_> = events
        .iter()
        .filter(|event| matches!(event.body, EventBody::StreamEnd(_)))
        .collect();
    assert_eq!(ends.len(), 1);
    assert_eq!(
        ends[0].event_id,
        format!("deepcleer:{}:end", task["requestId"].as_str().unwrap())
    );
    let EventBody::StreamEnd(end) = &ends[0].body else {
        unreachable!()
    };
    assert_eq!(
        (end.end_code, end.end_reason.as_str()),
        (Some(3005), "TOKEN_INVALID_OR_EXPIRED")
    );
}

/// Takes `operation` down for the callback function, lets one REJECT
/// (segment 2) arrive during the outage, brings it back once the provider
/// has retried that REJECT, closes the stream, and checks: every segment
/// delivery was eventually acknowledged and the REJECT became exactly one
/// event.
///
/// One REJECT, not many: a REJECT retried against a refusing service is the
/// costly path, and a stream of them would load the stack in proportion to
/// how slow the machine is. The retries are 1 s apart (20 of them), so the
/// outage ends long before the provider would give up, however slow the
/// machine.
async fn outage_then_recovery(operation: &str) {
    let stack = stack_with(Options {
        simulator: Box::new(|config| config.callback_backoff = Duration::from_secs(600)),
        ..Options::default()
    })
    .await;
    stack.chaos.take_down(operation);
    stack
        .scenario(json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT"}]}))
        .await;
    let task = started(&stack, "room-1").await;
    let request_id = task["requestId"].as_str().unwrap().to_owned();
    let reject = format!("{request_id}_2");
    stack
        .sim_wait("deliveries", &format!("callbackId={reject}&minAttempts=2"), 1)
        .await;
    stack.chaos.bring_up();
    let recovered = stack
        .sim_wait("deliveries", &format!("callbackId={reject}&acknowledged=true"), 1)
        .await;
    assert_eq!(
        recovered[0]["attempts"][0]["status"], 503,
        "the first attempt was refused: {}",
        recovered[0]
    );
    stack.close("room-1").await;
    stack
        .sim_wait("deliveries", "btId=room-1&kind=streamEnd&acknowledged=true", 1)
        .await;
    let (_, all) = stack.sim("deliveries?btId=room-1&kind=segment").await;
    let segments = all["items"].as_array().unwrap().len();
    let acknowledged = stack
        .sim_wait("deliveries", "btId=room-1&kind=segment&acknowledged=true", segments)
        .await;
    let rejects: Vec<&Value> = acknowledged
        .iter()
        .filter(|delivery| delivery["body"]["audioDetail"]["riskLevel"] == "REJECT")
        .collect();
    assert_eq!(rejects.len(), 1, "segment 2 only");
    let events = stack.drain().await;
    let ids: Vec<&str> = events.iter().map(|event| event.event_id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "no event twice: {ids:?}");
    for delivery in &rejects {
        let id = format!("deepcleer:{}", delivery["callbackId"].as_str().unwrap());
        assert!(unique.contains(id.as_str()), "{id} was acknowledged but not published");
    }
    assert!(unique.contains(format!("deepcleer:{request_id}:end").as_str()));
    assert_eq!(events.len(), rejects.len() + 1, "each REJECT once, and the stream end");
}

#[tokio::test]
async fn dynamodb_down_during_callbacks_then_exactly_one_event_each() {
    outage_then_recovery("DynamoDB_").await;
}

#[tokio::test]
async fn sqs_down_during_callbacks_then_exactly_one_event_each() {
    outage_then_recovery("AmazonSQS").await;
}

#[tokio::test]
async fn a_record_write_failing_after_the_send_does_not_duplicate_the_event() {
    // The half-done case: the message went out, remembering it failed.
    outage_then_recovery("DynamoDB_20120810.PutItem").await;
}

/// The key a rotation moves to (the stack's `CALLBACK_KEY` is the one it moves from).
const NEW_KEY: &str = "e2e-rotated-callback-token-key-42";

#[tokio::test]
async fn a_key_rotation_loses_no_callback_and_then_retires_the_old_key() {
    let reject = |task: &Value, n: u32| {
        json!({"requestId": format!("{}_{n}", task["requestId"].as_str().unwrap()), "btId": "room-1",
               "code": 1100, "audioDetail": {"riskLevel": "REJECT"}})
    };
    let post = |stack: &Stack, token: String, body: Value| {
        let http = stack.http.clone();
        let url = format!("{}/callbacks/{token}", stack.api);
        async move { http.post(url).json(&body).send().await.unwrap().status().as_u16() }
    };
    // Before: a task whose callback URL the old key signed.
    let before = stack().await;
    let task = started(&before, "room-1").await;
    let old_token = before.token("room-1", task["taskId"].as_str().unwrap());

    // During: the new key signs, the old one still verifies.
    let during = stack_with(Options {
        env: vec![
            ("CALLBACK_TOKEN_KEY", NEW_KEY.into()),
            ("CALLBACK_TOKEN_PREVIOUS_KEY", e2e::CALLBACK_KEY.into()),
        ],
        ..Options::default()
    })
    .await;
    let moved = started(&during, "room-2").await;
    assert_eq!(
        post(&during, old_token.clone(), reject(&task, 1)).await,
        200,
        "the old key's token"
    );
    let new_key =
        streamguard_core::domain::CallbackKey::new(NEW_KEY.as_bytes(), streamguard_core::providers::REGISTERED)
            .unwrap();
    let new_token = new_key.sign(
        &streamguard_core::domain::TaskRef {
            provider: streamguard_core::providers::deepcleer::ID,
            bt_id: "room-2".into(),
            task_id: moved["taskId"].as_str().unwrap().into(),
        },
        time::OffsetDateTime::now_utc() + e2e::TOKEN_LIFETIME,
    );
    assert_eq!(
        post(&during, new_token.clone(), reject(&moved, 1)).await,
        200,
        "the new key's token"
    );
    assert_eq!(during.drain().await.len(), 2, "both published");

    // After: the old key is gone; its tokens are refused, the new key's are not.
    let after = stack_with(Options {
        env: vec![("CALLBACK_TOKEN_KEY", NEW_KEY.into())],
        ..Options::default()
    })
    .await;
    assert_eq!(post(&after, old_token, reject(&task, 2)).await, 401);
    assert_eq!(post(&after, new_token, reject(&moved, 2)).await, 200);
}

//! The AWS calls each function makes in a full lifecycle, recorded by a proxy
//! in front of each function, are exactly the actions its role grants
//! (`streamguard_core::app::*_ACTIONS`, which the template test holds to
//! `template.yaml`): nothing the role lacks, nothing it grants unused.

use e2e::{ACCESS_KEY, Options, agora, stack_with};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use streamguard_core::app::{
    ARCHIVER_ACTIONS, CALLBACK_ACTIONS, CLOSE_ACTIONS, HISTORY_ACTIONS, START_ACTIONS, WATCHDOG_ACTIONS,
    delegated_actions,
};
use streamguard_core::functions::Function;

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|action| action.to_string()).collect()
}

/// The actions a function's role holds that its own code calls (the rest
/// are used with the role by AWS: the stream's reads, the KMS key, links).
fn called(function: Function, actions: &[&str]) -> BTreeSet<String> {
    set(actions)
        .into_iter()
        .filter(|action| !delegated_actions(function).contains(&action.as_str()))
        .collect()
}

#[tokio::test]
async fn each_function_calls_exactly_what_its_role_allows() {
    let stack = stack_with(Options {
        env: e2e::secrets_in_ssm(ACCESS_KEY, e2e::CALLBACK_KEY).await,
        ..Options::default()
    })
    .await;
    stack
        .scenario(json!({
            "segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT"}],
            "streams": [{"btId": "room-2", "withholdEnd": true}]
        }))
        .await;
    let (status, task) = stack.start(&agora("room-1")).await;
    assert_eq!(status, 201);
    let request_id = task["requestId"].as_str().unwrap();
    stack
        .sim_wait("deliveries", &format!("callbackId={request_id}_2&acknowledged=true"), 1)
        .await;
    assert_eq!(stack.get("room-1").await.0, 200);
    assert_eq!(stack.close("room-1").await.0, 200);
    stack
        .sim_wait("deliveries", "btId=room-1&kind=streamEnd&acknowledged=true", 1)
        .await;
    let (status, _) = stack
        .send(Method::POST, &format!("/requests/{request_id}/close"), None)
        .await;
    assert_eq!(status, 200);
    // A second start for room-1 replaces its ended task (a transaction).
    assert_eq!(stack.start(&agora("room-1")).await.0, 201);
    // Another btId on room-1's stream: refused, its claim undone.
    let mut same_stream = agora("room-3");
    same_stream["data"]["agoraParam"] = agora("room-1")["data"]["agoraParam"].clone();
    assert_eq!(stack.start(&same_stream).await.0, 409);
    // room-2's end never comes: the watchdog ends it and publishes that.
    assert_eq!(stack.start(&agora("room-2")).await.0, 201);
    assert_eq!(stack.close("room-2").await.0, 200);
    assert_eq!(stack.list("status=CLOSED").await.0, 200);
    let report = stack.watchdog_after(Duration::from_secs(3600)).await;
    assert_eq!(report.ended, 1, "{report:?}");
    // The REJECT's evidence is archived, and the history lists it.
    assert!(stack.archive().await >= 1);
    assert_eq!(stack.send(Method::GET, "/streams/room-1/events", None).await.0, 200);

    let [start, close, callback, watchdog, archiver, history] = &stack.proxies;
    assert_eq!(start.actions(), set(START_ACTIONS), "start");
    assert_eq!(close.actions(), set(CLOSE_ACTIONS), "close");
    assert_eq!(callback.actions(), set(CALLBACK_ACTIONS), "callback");
    assert_eq!(watchdog.actions(), set(WATCHDOG_ACTIONS), "watchdog");
    assert_eq!(
        archiver.actions(),
        called(Function::Archiver, ARCHIVER_ACTIONS),
        "archiver"
    );
    assert_eq!(history.actions(), called(Function::History, HISTORY_ACTIONS), "history");
}

/// Calls made, as `action×count`, for the report and the assertions.
fn calls(counts: &std::collections::BTreeMap<String, u32>) -> Vec<String> {
    counts
        .iter()
        .map(|(action, count)| format!("{action}×{count}"))
        .collect()
}

#[tokio::test]
async fn aws_calls_per_event_are_few_and_counted() {
    let stack = stack_with(Options {
        env: vec![("PROGRESS_INTERVAL_SECS", "60".into())],
        ..Options::default()
    })
    .await;
    let [start, close, callback, ..] = &stack.proxies;
    start.take_counts();

    // A silent stream (no scripted REJECT, returnAllText 0): the simulator calls back nothing on its own.
    let mut body = agora("room-1");
    body["data"]["returnAllText"] = json!(0);
    let (status, task) = stack.start(&body).await;
    assert_eq!(status, 201);
    assert_eq!(
        calls(&start.take_counts()),
        ["dynamodb:PutItem×2", "dynamodb:UpdateItem×1"],
        "a start: claim, the provider task's owner, activate"
    );

    let request_id = task["requestId"].as_str().unwrap().to_owned();
    let url = format!(
        "{}/callbacks/{}",
        stack.api,
        stack.token("room-1", task["taskId"].as_str().unwrap())
    );
    // Deliveries from the simulator would interleave: post the callbacks directly.
    let segment = |n: u32, level: &str| {
        json!({"requestId": format!("{request_id}_{n}"), "btId": "room-1", "code": 1100,
                                               "audioDetail": {"riskLevel": level}})
    };
    let post = |body: serde_json::Value| {
        let http = stack.http.clone();
        let url = url.clone();
        async move { assert_eq!(http.post(url).json(&body).send().await.unwrap().status(), 200) }
    };
    callback.take_counts();

    post(segment(901, "PASS")).await;
    assert_eq!(
        calls(&callback.take_counts()),
        ["dynamodb:UpdateItem×1"],
        "the first PASS of the minute: one progress write"
    );
    for n in 902..=905 {
        post(segment(n, "PASS")).await;
    }
    assert!(
        callback.take_counts().is_empty(),
        "further PASS segments within the minute: no call at all"
    );
    post(segment(906, "REJECT")).await;
    assert_eq!(
        calls(&callback.take_counts()),
        ["dynamodb:GetItem×2", "dynamodb:PutItem×1", "sqs:SendMessage×1"],
        "a REJECT: task and dedup reads, one send, one conditional write"
    );
    post(segment(906, "REJECT")).await;
    assert_eq!(
        calls(&callback.take_counts()),
        ["dynamodb:GetItem×2"],
        "a retried REJECT: two reads, nothing sent"
    );
    post(
        json!({"requestId": request_id, "btId": "room-1", "code": 1100, "statCode": 1, "auxInfo": {"streamTime": 60}}),
    )
    .await;
    assert_eq!(
        calls(&callback.take_counts()),
        [
            "dynamodb:GetItem×2",
            "dynamodb:PutItem×1",
            "dynamodb:UpdateItem×1",
            "sqs:SendMessage×1"
        ],
        "a stream end: reads, one send, the record, the task ENDED"
    );
    close.take_counts();
    let (status, _) = stack.close("room-1").await;
    assert_eq!(status, 200);
    assert_eq!(
        calls(&close.take_counts()),
        ["dynamodb:GetItem×1"],
        "closing an ended task: one read, no provider call"
    );
}

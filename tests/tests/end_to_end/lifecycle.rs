//! The lifecycle end to end (docs/lifecycle.md): through the local stack
//! (moto, the simulator, the functions over HTTP, the watchdog on a moved
//! clock), every way a btId used to get stuck, a stream held by another
//! btId, stray provider tasks, what the watchdog finds, the listing, and
//! callbacks of odd shapes.

use e2e::{Stack, agora, stack};
use serde_json::{Value, json};
use std::time::Duration;
use streamguard_wire::event::{EventBody, QueueEvent};

const GRACE: Duration = Duration::from_secs(600);

fn zego_start(bt_id: &str) -> Value {
    json!({"provider": "zego", "eventId": "audio_room", "type": "DIRTY_POLITY", "data": {"btId": bt_id, "lang": "en"}})
}

async fn started(stack: &Stack, body: &Value) -> Value {
    let (status, task) = stack.start(body).await;
    assert_eq!(status, 201, "{task}");
    task
}

fn request_id(task: &Value) -> String {
    task["requestId"].as_str().unwrap().to_owned()
}

fn kinds(events: &[QueueEvent]) -> Vec<&'static str> {
    events.iter().map(|event| event.body.kind()).collect()
}

#[tokio::test]
async fn a_close_without_an_end_asked_for_frees_the_btid() {
    let stack = stack().await;
    let mut body = agora("room-1");
    body["data"]["returnFinishInfo"] = json!(0);
    let first = started(&stack, &body).await;
    let (status, closed) = stack.close("room-1").await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["task"]["status"], "ENDED");
    assert_eq!(closed["task"]["endReason"], "CLOSED");
    let second = started(&stack, &body).await;
    assert_ne!(second["taskId"], first["taskId"], "a new task is submitted");
    assert_ne!(second["requestId"], first["requestId"]);
    assert_eq!(
        stack.sim("requests?kind=start").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_end_that_never_comes_frees_the_btid_and_is_reported_by_the_watchdog() {
    let stack = stack().await;
    stack
        .scenario(json!({"streams": [{"btId": "room-1", "withholdEnd": true}]}))
        .await;
    let first = started(&stack, &agora("room-1")).await;
    let (_, closed) = stack.close("room-1").await;
    assert_eq!(closed["task"]["status"], "CLOSED");
    stack
        .sim_wait("tasks", &format!("requestId={}&kind=ended", request_id(&first)), 1)
        .await;

    // The room reopens at once: a new task, while the old one awaits its end.
    let second = started(&stack, &agora("room-1")).await;
    let report = stack.watchdog_after(GRACE - Duration::from_secs(60)).await;
    assert_eq!(report.ended, 0, "{report:?}");
    let report = stack.watchdog_after(GRACE + Duration::from_secs(60)).await;
    assert_eq!(report.ended, 1, "{report:?}");
    let events = stack.drain().await;
    assert_eq!(kinds(&events), ["streamEnd"]);
    let EventBody::StreamEnd(end) = &events[0].body else {
        unreachable!()
    };
    assert_eq!(end.end_reason, "END_NOT_RECEIVED");
    assert_eq!(events[0].request_id, request_id(&first), "on its own task");
    let (_, current) = stack.get("room-1").await;
    assert_eq!(current["taskId"], second["taskId"]);
    assert_eq!(current["status"], "ACTIVE", "the current task is untouched");
    assert_eq!(stack.watchdog_after(GRACE * 2).await.ended, 0, "once");
}

#[tokio::test]
async fn a_late_end_after_a_restart_lands_on_its_own_task() {
    let stack = stack().await;
    let first = started(&stack, &agora("room-1")).await;
    assert_eq!(stack.close("room-1").await.0, 200);
    let second = started(&stack, &agora("room-1")).await;
    stack
        .sim_wait(
            "deliveries",
            &format!("callbackId={}:end&acknowledged=true", request_id(&first)),
            1,
        )
        .await;
    let (_, current) = stack.get("room-1").await;
    assert_eq!(current["taskId"], second["taskId"]);
    assert_eq!(current["status"], "ACTIVE");
    let events = stack.drain().await;
    assert_eq!(kinds(&events), ["streamEnd"]);
    assert_eq!(events[0].request_id, request_id(&first));
    assert!(!events[0].stray_provider_task);
}

#[tokio::test]
async fn a_stream_moderated_for_another_btid_is_refused_and_nothing_is_closed() {
    let stack = stack().await;
    let held = started(&stack, &agora("room-1")).await;
    let mut same_stream = agora("room-2");
    same_stream["data"]["agoraParam"] = agora("room-1")["data"]["agoraParam"].clone();
    let (status, refused) = stack.start(&same_stream).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "STREAM_HELD");
    assert_eq!(refused["error"]["btId"], "room-1");
    assert_eq!(stack.get("room-2").await.0, 404, "nothing is written for room-2");
    assert_eq!(stack.items_for("room-2").await, 0);
    let (_, holder) = stack.get("room-1").await;
    assert_eq!(holder["status"], "ACTIVE");
    assert_eq!(holder["requestId"], held["requestId"]);
    assert!(
        stack.sim("requests?kind=close").await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    stack
        .sim_wait("tasks", &format!("requestId={}&kind=running", request_id(&held)), 1)
        .await;

    // Once room-1 is closed, room-2 may have the stream.
    assert_eq!(stack.close("room-1").await.0, 200);
    started(&stack, &same_stream).await;
}

/// A stray copy of `task`'s provider task calls back a REJECT: published
/// flagged, the task unchanged; the watchdog stops the copy once.
async fn a_stray_is_published_and_stopped(stack: &Stack, bt_id: &str, task: &Value, stop_kind: &str) {
    let stray = stack.stray(&request_id(task)).await;
    stack
        .sim_wait("deliveries", &format!("callbackId={stray}_2&acknowledged=true"), 1)
        .await;
    let events = stack.drain().await;
    let flagged: Vec<&QueueEvent> = events.iter().filter(|event| event.request_id == stray).collect();
    assert_eq!(flagged.len(), 1, "{events:?}");
    assert!(flagged[0].stray_provider_task);
    assert!(
        events
            .iter()
            .filter(|event| event.request_id != stray)
            .all(|event| !event.stray_provider_task)
    );
    let (_, stored) = stack.get(bt_id).await;
    assert_eq!(stored["status"], "ACTIVE");
    assert_eq!(stored["requestId"], task["requestId"], "no task state changes");

    let report = stack.watchdog_after(Duration::from_secs(60)).await;
    assert_eq!(report.strays_stopped, 1, "{report:?}");
    stack
        .sim_wait("tasks", &format!("requestId={stray}&kind=ended"), 1)
        .await;
    let stops = stack.sim(&format!("requests?kind={stop_kind}")).await.1;
    assert_eq!(stops["items"].as_array().unwrap().len(), 1, "{stops}");
    assert_eq!(
        stops["items"][0]["requestId"],
        stray.as_str(),
        "only the stray is stopped"
    );
    assert_eq!(
        stack.watchdog_after(Duration::from_secs(120)).await.strays_stopped,
        0,
        "once"
    );
    let running = stack
        .sim(&format!("tasks?requestId={}&kind=running", request_id(task)))
        .await
        .1;
    assert_eq!(running["items"].as_array().unwrap().len(), 1, "the live task runs on");
}

#[tokio::test]
async fn a_stray_deepcleer_task_is_published_flagged_and_stopped_once() {
    let stack = stack().await;
    stack
        .scenario(json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT"}]}))
        .await;
    let task = started(&stack, &agora("room-1")).await;
    stack
        .sim_wait(
            "deliveries",
            &format!("callbackId={}_2&acknowledged=true", request_id(&task)),
            1,
        )
        .await;
    a_stray_is_published_and_stopped(&stack, "room-1", &task, "close").await;
}

#[tokio::test]
async fn a_stray_zego_task_is_published_flagged_and_stopped_once() {
    let stack = stack().await;
    stack
        .scenario(json!({"segments": [{"btId": "room-z", "segment": 2, "riskLevel": "REJECT"}]}))
        .await;
    let task = started(&stack, &zego_start("room-z")).await;
    stack
        .sim_wait(
            "deliveries",
            &format!("callbackId={}_2&acknowledged=true", request_id(&task)),
            1,
        )
        .await;
    a_stray_is_published_and_stopped(&stack, "room-z", &task, "zegoStop").await;
}

#[tokio::test]
async fn a_silent_stream_is_reported_stale_and_an_overlong_one_closed() {
    let stack = stack().await;
    stack
        .scenario(json!({"streams": [{"btId": "room-s", "silent": true}]}))
        .await;
    let mut every_segment = agora("room-s");
    every_segment["data"]["returnAllText"] = json!(1);
    started(&stack, &every_segment).await;
    started(&stack, &zego_start("room-z")).await;

    let report = stack.watchdog_after(Duration::from_secs(200)).await;
    assert_eq!(
        report.stale, 1,
        "only the stream that reports every segment: {report:?}"
    );
    let events = stack.drain().await;
    assert_eq!(kinds(&events), ["streamStale"]);
    assert_eq!(events[0].bt_id.as_deref(), Some("room-s"));
    assert_eq!(
        stack.watchdog_after(Duration::from_secs(260)).await.stale,
        0,
        "once per silence"
    );

    let report = stack.watchdog_after(Duration::from_secs(86_400 + 60)).await;
    assert_eq!(report.max_duration, 2, "{report:?}");
    for bt_id in ["room-s", "room-z"] {
        let (_, task) = stack.get(bt_id).await;
        assert_eq!(task["closeReason"], "MAX_DURATION", "{task}");
        assert!(matches!(task["status"].as_str(), Some("CLOSED" | "ENDED")), "{task}");
    }
    let events = stack.drain().await;
    let closed: Vec<&QueueEvent> = events
        .iter()
        .filter(|event| matches!(event.body, EventBody::StreamClosed(_)))
        .collect();
    assert_eq!(closed.len(), 2, "{events:?}");
    assert_eq!(
        stack.sim("tasks?kind=running").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn a_close_the_provider_failed_is_retried_by_the_watchdog() {
    let stack = stack().await;
    started(&stack, &agora("room-1")).await;
    stack
        .fault(json!({"fault": "code", "code": 1903, "api": "close", "times": 3}))
        .await;
    let (status, failed) = stack.close("room-1").await;
    assert_eq!(status, 502, "{failed}");
    let (_, task) = stack.get("room-1").await;
    assert_eq!(task["status"], "ACTIVE");
    assert!(
        task["closeRequestedAt"].is_string() && task["closeError"].is_string(),
        "{task}"
    );
    let report = stack.watchdog_after(Duration::from_secs(60)).await;
    assert_eq!(report.closes_retried, 1, "{report:?}");
    let (_, task) = stack.get("room-1").await;
    assert!(matches!(task["status"].as_str(), Some("CLOSED" | "ENDED")), "{task}");
    started(&stack, &agora("room-1")).await;
}

#[tokio::test]
async fn the_watchdog_survives_dynamodb_and_sqs_failing_and_catches_up() {
    let stack = stack().await;
    stack
        .scenario(json!({"streams": [{"btId": "room-1", "withholdEnd": true}]}))
        .await;
    started(&stack, &agora("room-1")).await;
    assert_eq!(stack.close("room-1").await.0, 200);
    let watchdog = &stack.proxies[3];

    watchdog.take_down("DynamoDB_");
    let failed = streamguard_core::scheduled::watchdog_function(&stack.watchdog).await;
    assert!(
        failed.is_err(),
        "a run that cannot read the table fails, and the next retries"
    );
    watchdog.bring_up();

    watchdog.take_down("AmazonSQS");
    let report = stack.watchdog_after(GRACE * 2).await;
    assert_eq!((report.ended, report.failures), (0, 1), "{report:?}");
    assert_eq!(
        stack.get("room-1").await.1["status"],
        "CLOSED",
        "nothing is lost: still awaited"
    );
    watchdog.bring_up();

    let report = stack.watchdog_after(GRACE * 2).await;
    assert_eq!(report.ended, 1, "{report:?}");
    let events = stack.drain().await;
    assert_eq!(kinds(&events), ["streamEnd"], "published once");
}

#[tokio::test]
async fn operators_list_open_tasks_a_page_at_a_time() {
    let stack = stack().await;
    // room-0 stays CLOSED (its end never comes); room-done ends at its close.
    stack
        .scenario(json!({"streams": [{"btId": "room-0", "withholdEnd": true}]}))
        .await;
    for n in 0..5 {
        started(&stack, &agora(&format!("room-{n}"))).await;
    }
    let mut body = agora("room-done");
    body["data"]["returnFinishInfo"] = json!(0);
    started(&stack, &body).await;
    assert_eq!(stack.close("room-done").await.0, 200);
    assert_eq!(stack.close("room-0").await.0, 200);

    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (status, page) = stack.list(&query).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|task| task["btId"].as_str().unwrap().to_owned()));
        match page["cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={}", encoded(cursor)),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["room-0", "room-1", "room-2", "room-3", "room-4"]);
    let (_, closed) = stack.list("status=CLOSED").await;
    let closed: Vec<&str> = closed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["btId"].as_str().unwrap())
        .collect();
    assert_eq!(closed, ["room-0"]);
    for (query, field) in [
        ("status=ENDED", "status"),
        ("limit=500", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let (status, error) = stack.list(query).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["error"]["problems"][0]["field"], field, "{error}");
    }
}

fn encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn an_authenticated_reject_of_any_shape_is_published_and_bounded() {
    let stack = stack().await;
    let mut body = agora("room-1");
    body["data"]["passThrough"] = json!({"blob": "x".repeat(300 * 1024)});
    let (status, refused) = stack.start(&body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["problems"][0]["field"], "data.passThrough");
    assert!(
        refused["error"]["problems"][0]["rule"]
            .as_str()
            .unwrap()
            .contains("65536")
    );

    body["data"]["passThrough"] = json!({"blob": "x".repeat(60 * 1024)});
    let task = started(&stack, &body).await;
    let url = format!(
        "{}/callbacks/{}",
        stack.api,
        stack.token("room-1", task["taskId"].as_str().unwrap())
    );
    let rid = request_id(&task);
    let segment = |n: u32, detail: Value| {
        json!({"requestId": format!("{rid}_{n}"), "btId": "room-1", "code": 1100, "audioDetail": detail,
               "auxInfo": {"passThrough": {"blob": "x".repeat(60 * 1024)}}})
    };
    for (n, detail) in [
        (
            1,
            json!({"riskLevel": "REJECT", "riskLabel1": 7, "businessLabels": {"odd": true}}),
        ),
        (
            2,
            json!({"riskLevel": " reject ", "audioText": "言".repeat(200 * 1024)}),
        ),
        (3, json!({"riskLevel": "SEVERE"})),
    ] {
        let answer = stack.http.post(&url).json(&segment(n, detail)).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{n}: {}", answer.text().await.unwrap());
    }
    let answer = stack.http.post(&url).body("{ not json").send().await.unwrap();
    assert_eq!(answer.status(), 400);
    let events = stack.drain().await;
    assert_eq!(events.len(), 3, "{:?}", kinds(&events));
    for event in &events {
        assert!(serde_json::to_vec(event).unwrap().len() <= 256 * 1024);
    }
    assert!(
        events[0]
            .unread_fields
            .iter()
            .any(|field| field.ends_with("businessLabels")),
        "{:?}",
        events[0]
    );
    assert!(
        events[1].truncated_fields.contains(&"audioText".to_owned()),
        "{:?}",
        events[1].truncated_fields
    );
    let EventBody::Segment(unknown) = &events[2].body else {
        unreachable!()
    };
    assert_eq!(unknown.risk_level.as_str(), "SEVERE");
    assert!(!unknown.risk_level_recognised);
}

#[tokio::test]
async fn a_zego_take_over_after_a_lost_answer_stops_the_orphan_and_keeps_the_live_task() {
    let stack = e2e::stack_with(e2e::Options {
        env: vec![("PROVIDER_START_TIMEOUT_MS", "300".into())],
        ..e2e::Options::default()
    })
    .await;
    // A REJECT every third segment for the first minutes (simulated) of each task: the
    // orphan keeps calling back after the take-over, without flooding the table.
    let rejects: Vec<Value> = (1..=100)
        .map(|n| json!({"btId": "room-z", "segment": n * 3, "riskLevel": "REJECT"}))
        .collect();
    stack.scenario(json!({ "segments": rejects })).await;
    // Zego starts the task but its answer never arrives.
    stack
        .fault(json!({"fault": "dropResponse", "api": "zego", "times": 1, "holdMillis": 1000}))
        .await;
    let (status, lost) = stack.start(&zego_start("room-z")).await;
    assert_eq!(status, 504, "{lost}");
    let orphan = stack.sim_wait("tasks", "btId=room-z&kind=running", 1).await;
    let orphan = orphan[0]["requestId"].as_str().unwrap().to_owned();

    // The retried start takes the task over on Zego, which starts a second task.
    let live = started(&stack, &zego_start("room-z")).await;
    assert_eq!(live["provider"], "zego");
    assert_ne!(request_id(&live), orphan);
    // One more of the orphan's REJECTs, answered after the take-over.
    let query = format!("requestId={orphan}&kind=segment&acknowledged=true");
    let before = stack.sim(&format!("deliveries?{query}")).await.1["items"]
        .as_array()
        .unwrap()
        .len();
    stack.sim_wait("deliveries", &query, before + 1).await;

    let report = stack.watchdog_after(Duration::from_secs(60)).await;
    assert_eq!(report.strays_stopped, 1, "{report:?}");
    stack
        .sim_wait("tasks", &format!("requestId={orphan}&kind=ended"), 1)
        .await;
    stack
        .sim_wait("deliveries", &format!("callbackId={orphan}:end&acknowledged=true"), 1)
        .await;
    let (_, current) = stack.get("room-z").await;
    assert_eq!(
        current["status"], "ACTIVE",
        "the orphan's end does not end the live task: {current}"
    );
    assert_eq!(current["requestId"], live["requestId"]);
    let events = stack.drain().await;
    let from_orphan: Vec<&QueueEvent> = events.iter().filter(|event| event.request_id == orphan).collect();
    assert!(
        from_orphan
            .iter()
            .any(|event| matches!(event.body, EventBody::StreamEnd(_)))
    );
    assert!(
        from_orphan.iter().any(|event| event.stray_provider_task),
        "{from_orphan:?}"
    );
    assert!(
        events
            .iter()
            .filter(|event| event.request_id == request_id(&live))
            .all(|event| !event.stray_provider_task)
    );
}

#[tokio::test]
async fn concurrent_starts_submit_one_task_whether_or_not_a_finished_one_is_replaced() {
    let stack = stack().await;
    let mut body = agora("room-1");
    body["data"]["returnFinishInfo"] = json!(0);
    for round in 0..2 {
        let answers = futures_util::future::join_all((0..8).map(|_| stack.start(&body))).await;
        let created: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == 201)
            .map(|(_, task)| task)
            .collect();
        assert_eq!(created.len(), 1, "round {round}: {answers:?}");
        for (status, answer) in &answers {
            assert!(
                *status == 201 || *status == 200 || (*status == 409 && answer["error"]["code"] == "CONFLICT"),
                "round {round}: {status} {answer}"
            );
        }
        let starts = stack.sim("requests?kind=start").await.1;
        assert_eq!(
            starts["items"].as_array().unwrap().len(),
            round + 1,
            "round {round}: one submission"
        );
        // Ended at once (no end asked for): the next round replaces it.
        assert_eq!(stack.close("room-1").await.1["task"]["status"], "ENDED");
    }
}

//! The domain with in-memory ports: idempotent start, take-over of stale
//! starts, close, and exactly-once publishing under failures.

use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use streamguard::adapters::memory::{ManualClock, MemoryQueue, MemoryStore, ScriptedProvider};
use streamguard::domain::callback::Outcome;
use streamguard::domain::{ApiError, CallbackKey, Policy, Secret, Streamguard, TaskRef, TaskStatus};
use streamguard::ports::ProviderError;
use time::OffsetDateTime;
use wire::deepcleer::{CloseResponse, DetailCode, MediaKind, ResponseCode, ResponseDetail, SyncResponse};
use wire::event::{EventBody, Provider};

type Service = Streamguard<MemoryStore, MemoryQueue, ScriptedProvider, ManualClock>;

const BASE: &str = "https://api.example.com";

fn service() -> Service {
    let key = CallbackKey::new(b"a-test-key-of-enough-length").unwrap();
    let mut policy = Policy::new(Secret::new("AK-123"), key);
    policy.default_app_id = Some("default".into());
    policy.default_event_id = Some("liveAudio".into());
    let clock = ManualClock::at(OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap());
    Streamguard::new(
        MemoryStore::default(),
        MemoryQueue::default(),
        ScriptedProvider::default(),
        clock,
        policy,
    )
}

fn body(bt_id: &str) -> String {
    json!({"type": "POLITY_DIRTY", "data": {"tokenId": "u1", "btId": bt_id, "streamType": "NORMAL", "url": "rtmp://live.example/a"}})
        .to_string()
}

fn started(request_id: &str) -> Result<SyncResponse, ProviderError> {
    Ok(SyncResponse {
        request_id: request_id.into(),
        code: ResponseCode::Success,
        message: "Success".into(),
        detail: None,
        error_code: None,
        dup_request_id: None,
        other: Default::default(),
    })
}

fn duplicate_of(running: &str) -> Result<SyncResponse, ProviderError> {
    let mut answer = started("fresh-id")?;
    answer.detail = Some(ResponseDetail {
        error_code: Some(DetailCode::DuplicateStream),
        dup_request_id: Some(running.into()),
        other: Default::default(),
    });
    Ok(answer)
}

fn refused(code: i64) -> Result<SyncResponse, ProviderError> {
    let mut answer = started("x")?;
    answer.code = ResponseCode::from_code(code);
    answer.message = "Invalid parameters: data.url".into();
    Ok(answer)
}

fn closed() -> Result<CloseResponse, ProviderError> {
    Ok(CloseResponse {
        request_id: "c".into(),
        code: ResponseCode::Success,
        message: "Success".into(),
        other: Default::default(),
    })
}

#[tokio::test]
async fn a_start_fills_in_what_the_bundle_owns_and_activates() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    let outcome = service.start(&body("room-1"), BASE).await.unwrap();
    assert!(outcome.created);
    assert_eq!(outcome.task.status, TaskStatus::Active);
    assert_eq!(outcome.task.request_id.as_deref(), Some("rid-1"));
    let sent = service.provider.sent_starts.lock().unwrap()[0].clone();
    assert_eq!(sent.access_key, "AK-123");
    assert_eq!(sent.app_id, "default");
    assert_eq!(sent.event_id, "liveAudio");
    assert_eq!(sent.data.return_finish_info, Some(1));
    let token = sent
        .callback
        .strip_prefix("https://api.example.com/callbacks/")
        .expect("the callback route");
    let reference = service.authenticate(token).unwrap();
    assert_eq!(
        reference,
        TaskRef {
            provider: Provider::Deepcleer,
            bt_id: "room-1".into(),
            task_id: outcome.task.task_id
        }
    );
}

#[tokio::test]
async fn a_caller_may_not_set_the_access_key_or_callback_and_hears_every_problem() {
    let service = service();
    let request =
        json!({"accessKey": "mine", "callback": "https://evil.example", "data": {"streamType": "NORMAL", "level": 9}});
    let ApiError::Invalid(problems) = service.start(&request.to_string(), BASE).await.unwrap_err() else {
        panic!()
    };
    for field in [
        "accessKey",
        "callback",
        "type",
        "data.btId",
        "data.tokenId",
        "data.url",
        "data.level",
    ] {
        assert!(problems.names(field), "{field}: {problems}");
    }
    assert!(problems.get("accessKey").unwrap().rule.contains("set by streamguard"));
    assert!(service.provider.sent_starts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_caller_may_keep_return_finish_info_off() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    let request = json!({"type": "POLITY", "data": {"tokenId": "u", "btId": "b", "streamType": "NORMAL", "url": "rtmp://x.example/y", "returnFinishInfo": 0}});
    service.start(&request.to_string(), BASE).await.unwrap();
    assert_eq!(
        service.provider.sent_starts.lock().unwrap()[0].data.return_finish_info,
        Some(0)
    );
}

#[tokio::test]
async fn a_start_for_a_live_btid_returns_it_without_a_second_submission() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    service.start(&body("room-1"), BASE).await.unwrap();
    let again = service.start(&body("room-1"), BASE).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.task.request_id.as_deref(), Some("rid-1"));
    assert_eq!(service.provider.sent_starts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_lost_acknowledgement_is_resubmitted_and_the_duplicate_adopted() {
    let service = service();
    service.provider.answer_start(Err(ProviderError::Timeout));
    service.provider.answer_start(duplicate_of("rid-original"));
    let outcome = service.start(&body("room-1"), BASE).await.unwrap();
    assert_eq!(outcome.task.request_id.as_deref(), Some("rid-original"));
    assert!(outcome.task.adopted_duplicate);
    let sent = service.provider.sent_starts.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1], "the retry carries the same payload");
}

#[tokio::test]
async fn no_answer_at_all_releases_the_btid_for_the_next_start_with_the_same_callback() {
    let service = service();
    service.provider.answer_start(Err(ProviderError::Timeout));
    service.provider.answer_start(Err(ProviderError::Timeout));
    assert!(matches!(
        service.start(&body("room-1"), BASE).await,
        Err(ApiError::ProviderTimeout)
    ));
    let stuck = service.store.tasks.lock().unwrap()["room-1"].clone();
    assert_eq!(stuck.status, TaskStatus::Starting);
    // The next start takes the task over at once and adopts what the provider has.
    service.provider.answer_start(duplicate_of("rid-original"));
    let outcome = service.start(&body("room-1"), BASE).await.unwrap();
    assert_eq!(
        outcome.task.task_id, stuck.task_id,
        "the same task, so its callback URL stays valid"
    );
    assert_eq!(outcome.task.request_id.as_deref(), Some("rid-original"));
    assert_eq!(outcome.task.start_attempts, 2);
    let sent = service.provider.sent_starts.lock().unwrap().clone();
    assert_eq!(sent[0].callback, sent[2].callback);
}

#[tokio::test]
async fn a_start_that_died_holds_the_btid_only_until_its_lease_ends() {
    let service = service();
    // An attempt wrote STARTING and died before calling the provider.
    let now = service.clock.0.lock().unwrap().to_owned();
    let dead = streamguard::domain::Task::starting("room-1", Provider::Deepcleer, now, now + Duration::from_secs(30));
    service
        .store
        .tasks
        .lock()
        .unwrap()
        .insert("room-1".into(), dead.clone());
    let during = service.start(&body("room-1"), BASE).await.unwrap();
    assert_eq!(
        during.task.status,
        TaskStatus::Starting,
        "within the lease the start in flight is returned"
    );
    assert!(service.provider.sent_starts.lock().unwrap().is_empty());
    service.clock.advance(Duration::from_secs(31));
    service.provider.answer_start(started("rid-2"));
    let after = service.start(&body("room-1"), BASE).await.unwrap();
    assert_eq!(after.task.task_id, dead.task_id);
    assert_eq!(after.task.status, TaskStatus::Active);
}

#[tokio::test]
async fn refusals_free_the_btid_and_map_to_clear_errors() {
    let service = service();
    for (code, status) in [(1902, 400), (1901, 429), (1903, 502), (1904, 502), (9101, 500)] {
        service.provider.answer_start(refused(code));
        let error = service.start(&body("room-1"), BASE).await.unwrap_err();
        assert_eq!(error.status(), status, "{code}");
        let task = service.store.tasks.lock().unwrap()["room-1"].clone();
        assert_eq!(task.status, TaskStatus::Failed);
        assert!(task.failure.unwrap().contains(&code.to_string()));
    }
    service.provider.answer_start(started("rid-9"));
    assert!(
        service.start(&body("room-1"), BASE).await.unwrap().created,
        "a failed start does not block the next"
    );
}

#[tokio::test]
async fn a_new_start_after_the_end_begins_a_new_task() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    let first = service.start(&body("room-1"), BASE).await.unwrap().task;
    service.store.tasks.lock().unwrap().get_mut("room-1").unwrap().status = TaskStatus::Ended;
    service.provider.answer_start(started("rid-2"));
    let second = service.start(&body("room-1"), BASE).await.unwrap();
    assert!(second.created);
    assert_ne!(second.task.task_id, first.task_id);
}

#[tokio::test]
async fn storage_failure_before_submitting_submits_nothing() {
    let service = service();
    service.store.down.store(true, Ordering::SeqCst);
    assert_eq!(service.start(&body("room-1"), BASE).await.unwrap_err().status(), 503);
    assert!(service.provider.sent_starts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn close_by_btid_by_request_id_and_for_video() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    service.start(&body("room-1"), BASE).await.unwrap();
    service.provider.answer_close(Err(ProviderError::Timeout));
    service.provider.answer_close(closed());
    let outcome = service.close_stream("room-1").await.unwrap();
    assert_eq!(outcome.task.unwrap().status, TaskStatus::Closing);
    assert_eq!(
        service.provider.sent_closes.lock().unwrap().len(),
        2,
        "a timeout is retried"
    );

    service.provider.answer_close(closed());
    let by_request = service.close_request("rid-1", MediaKind::Audio).await.unwrap();
    assert_eq!(by_request.task.unwrap().bt_id, "room-1");

    service.provider.answer_close(closed());
    let video = service.close_request("video-9", MediaKind::Video).await.unwrap();
    assert!(video.task.is_none());
    assert_eq!(
        service.provider.sent_closes.lock().unwrap().last().unwrap(),
        &("video-9".to_owned(), MediaKind::Video)
    );

    assert_eq!(service.close_stream("nobody").await.unwrap_err().status(), 404);
    service.store.tasks.lock().unwrap().get_mut("room-1").unwrap().status = TaskStatus::Ended;
    let calls = service.provider.sent_closes.lock().unwrap().len();
    let noop = service.close_stream("room-1").await.unwrap();
    assert!(!noop.provider_called);
    assert_eq!(
        service.provider.sent_closes.lock().unwrap().len(),
        calls,
        "closing an ended task calls nobody"
    );
}

#[tokio::test]
async fn close_gives_up_after_its_attempts() {
    let service = service();
    service.provider.answer_start(started("rid-1"));
    service.start(&body("room-1"), BASE).await.unwrap();
    for _ in 0..3 {
        service.provider.answer_close(Err(ProviderError::Timeout));
    }
    assert_eq!(service.close_stream("room-1").await.unwrap_err().status(), 504);
    assert_eq!(service.store.tasks.lock().unwrap()["room-1"].status, TaskStatus::Active);
}

async fn active(service: &Service, bt_id: &str, request_id: &str) -> TaskRef {
    service.provider.answer_start(started(request_id));
    let task = service.start(&body(bt_id), BASE).await.unwrap().task;
    TaskRef {
        provider: Provider::Deepcleer,
        bt_id: bt_id.into(),
        task_id: task.task_id,
    }
}

fn segment(request_id: &str, n: u64, level: &str) -> Vec<u8> {
    json!({"requestId": format!("{request_id}_{n}"), "btId": "room-1", "code": 1100, "statCode": 0,
           "requestParams": {"accessKey": "AK-123"}, "audioDetail": {"riskLevel": level, "audioText": "words"}})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_reject_is_published_once_however_often_it_is_delivered() {
    let service = service();
    let task = active(&service, "room-1", "rid-1").await;
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        outcomes.push(
            service
                .deepcleer_callback(&task, &segment("rid-1", 3, "REJECT"))
                .await
                .unwrap(),
        );
    }
    assert_eq!(outcomes[0], Outcome::Published);
    assert!(outcomes[1..].iter().all(|outcome| *outcome == Outcome::Duplicate));
    let events = service.queue.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, "deepcleer:rid-1_3");
    assert!(events[0].task_known);
    assert!(!serde_json::to_string(&events[0]).unwrap().contains("AK-123"));
}

#[tokio::test]
async fn a_queue_failure_answers_5xx_and_the_retry_publishes_once() {
    let service = service();
    let task = active(&service, "room-1", "rid-1").await;
    service.queue.down.store(true, Ordering::SeqCst);
    assert_eq!(
        service
            .deepcleer_callback(&task, &segment("rid-1", 2, "REJECT"))
            .await
            .unwrap_err()
            .status(),
        503
    );
    service.queue.down.store(false, Ordering::SeqCst);
    assert_eq!(
        service
            .deepcleer_callback(&task, &segment("rid-1", 2, "REJECT"))
            .await
            .unwrap(),
        Outcome::Published
    );
    assert_eq!(service.queue.events.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_storage_failure_answers_5xx_and_the_retry_publishes_once() {
    let service = service();
    let task = active(&service, "room-1", "rid-1").await;
    service.store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        service
            .deepcleer_callback(&task, &segment("rid-1", 2, "REJECT"))
            .await
            .unwrap_err()
            .status(),
        503
    );
    service.store.down.store(false, Ordering::SeqCst);
    service
        .deepcleer_callback(&task, &segment("rid-1", 2, "REJECT"))
        .await
        .unwrap();
    service
        .deepcleer_callback(&task, &segment("rid-1", 2, "REJECT"))
        .await
        .unwrap();
    assert_eq!(service.queue.events.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn pass_and_review_are_counted_with_at_most_one_write_a_minute() {
    let service = service();
    let task = active(&service, "room-1", "rid-1").await;
    let before = service.store.writes.load(Ordering::SeqCst);
    for n in 1..=6 {
        let level = if n == 4 { "REVIEW" } else { "PASS" };
        assert_eq!(
            service
                .deepcleer_callback(&task, &segment("rid-1", n, level))
                .await
                .unwrap(),
            Outcome::Counted
        );
        service.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(
        service.store.writes.load(Ordering::SeqCst) - before,
        1,
        "six segments in a minute: one write"
    );
    service
        .deepcleer_callback(&task, &segment("rid-1", 7, "PASS"))
        .await
        .unwrap();
    assert_eq!(service.store.writes.load(Ordering::SeqCst) - before, 2);
    assert_eq!(service.store.tasks.lock().unwrap()["room-1"].segments_seen, 7);
    assert!(service.queue.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_stream_end_ends_the_task_and_is_published_once() {
    let service = service();
    let task = active(&service, "room-1", "rid-1").await;
    let end = json!({"requestId": "rid-1", "btId": "room-1", "code": 1100, "statCode": 1, "auxInfo": {"errorCode": 3005, "streamTime": 600}});
    for _ in 0..3 {
        service
            .deepcleer_callback(&task, end.to_string().as_bytes())
            .await
            .unwrap();
    }
    let stored = service.store.tasks.lock().unwrap()["room-1"].clone();
    assert_eq!(stored.status, TaskStatus::Ended);
    assert_eq!(stored.end_code, Some(3005));
    assert_eq!(stored.end_reason.as_deref(), Some("TOKEN_INVALID_OR_EXPIRED"));
    assert_eq!(stored.stream_time, Some(600));
    let events = service.queue.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0].body, EventBody::StreamEnd(end) if end.end_reason == "TOKEN_INVALID_OR_EXPIRED"));
}

#[tokio::test]
async fn a_reject_for_an_unknown_task_is_still_published_and_flagged() {
    let service = service();
    let unknown = TaskRef {
        provider: Provider::Deepcleer,
        bt_id: "room-x".into(),
        task_id: "f".repeat(32),
    };
    assert_eq!(
        service
            .deepcleer_callback(&unknown, &segment("rid-x", 1, "REJECT"))
            .await
            .unwrap(),
        Outcome::Published
    );
    let events = service.queue.events.lock().unwrap().clone();
    assert!(!events[0].task_known);
    assert_eq!(events[0].bt_id.as_deref(), Some("room-x"));
}

#[tokio::test]
async fn published_levels_are_configurable() {
    let mut service = service();
    service.policy.published_levels.push(wire::deepcleer::RiskLevel::Review);
    let task = active(&service, "room-1", "rid-1").await;
    assert_eq!(
        service
            .deepcleer_callback(&task, &segment("rid-1", 1, "REVIEW"))
            .await
            .unwrap(),
        Outcome::Published
    );
    assert_eq!(
        service
            .deepcleer_callback(&task, &segment("rid-1", 2, "PASS"))
            .await
            .unwrap(),
        Outcome::Counted
    );
}

#[tokio::test]
async fn malformed_and_forged_callbacks_are_refused_before_any_io() {
    let service = service();
    assert_eq!(
        service.authenticate("v1.deepcleer.x.y.forged").unwrap_err().status(),
        401
    );
    let task = active(&service, "room-1", "rid-1").await;
    service.store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        service
            .deepcleer_callback(&task, b"{not json")
            .await
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(
        service
            .deepcleer_callback(&task, br#"{"audioDetail": {}}"#)
            .await
            .unwrap_err()
            .status(),
        400
    );
}

//! Callbacks into events, for every provider: exactly once under retries and
//! failures, progress without a write per segment, stream ends, unknown
//! tasks, forged and malformed bodies.

use crate::world::{ACCESS_KEY, BOTH, Kind, World, ZEGO_CALLBACK_SECRET, keys, signed};
use std::sync::atomic::Ordering;
use std::time::Duration;
use streamguard_core::domain::callback::Outcome;
use streamguard_core::domain::policy::CallbackPolicy;
use streamguard_core::domain::{Error, TaskRef, TaskStatus};
use streamguard_core::http::errors;
use streamguard_wire::event::{EventBody, RiskLevel};

#[tokio::test]
async fn a_reject_is_published_once_however_often_it_is_delivered() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            let body = kind.segment("rid-1", 3, "REJECT", world.now());
            outcomes.push(world.deliver(&task, &body).await.unwrap());
        }
        assert_eq!(outcomes[0], Outcome::Published);
        assert!(outcomes[1..].iter().all(|outcome| *outcome == Outcome::Duplicate));
        let events = world.queue.events.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{kind:?}");
        let event = &events[0];
        assert_eq!(event.event_id, kind.event_id("rid-1", 3));
        assert_eq!(event.provider, kind.id().as_str());
        assert_eq!(event.request_id, "rid-1");
        assert_eq!(
            event.bt_id.as_deref(),
            Some("room-1"),
            "the task's btId wins over an echoed one"
        );
        assert!(event.task_known);
        let EventBody::Segment(segment) = &event.body else {
            panic!()
        };
        assert_eq!(
            (segment.segment_index, segment.risk_level.clone()),
            (Some(3), RiskLevel::Reject)
        );
        assert_eq!(segment.risk_label1.as_deref(), Some("abuse"));
        assert_eq!(segment.audio_text.as_deref(), Some("words"));
        let text = serde_json::to_string(event).unwrap();
        assert!(
            !text.contains(ACCESS_KEY) && !text.contains(ZEGO_CALLBACK_SECRET),
            "{text}"
        );
        let view = world.starter.view("room-1").await.unwrap();
        assert_eq!(view.reject_count, Some(1), "{kind:?}: counted by the event ids' prefix");
    }
}

#[tokio::test]
async fn a_queue_failure_answers_5xx_and_the_retry_publishes_once() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        world.queue.down.store(true, Ordering::SeqCst);
        let error = world
            .deliver(&task, &kind.segment("rid-1", 2, "REJECT", world.now()))
            .await
            .unwrap_err();
        assert_eq!(errors::status(&error), 503);
        world.queue.down.store(false, Ordering::SeqCst);
        let outcome = world
            .deliver(&task, &kind.segment("rid-1", 2, "REJECT", world.now()))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Published);
        assert_eq!(world.queue.events.lock().unwrap().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_storage_failure_answers_5xx_and_the_retry_publishes_once() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        world.store.down.store(true, Ordering::SeqCst);
        let error = world
            .deliver(&task, &kind.segment("rid-1", 2, "REJECT", world.now()))
            .await
            .unwrap_err();
        assert_eq!(errors::status(&error), 503);
        world.store.down.store(false, Ordering::SeqCst);
        for _ in 0..2 {
            world
                .deliver(&task, &kind.segment("rid-1", 2, "REJECT", world.now()))
                .await
                .unwrap();
        }
        assert_eq!(world.queue.events.lock().unwrap().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn pass_and_review_are_counted_with_at_most_one_write_a_minute() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let before = world.store.writes.load(Ordering::SeqCst);
        for n in 1..=6 {
            let level = if n == 4 { "REVIEW" } else { "PASS" };
            let outcome = world
                .deliver(&task, &kind.segment("rid-1", n, level, world.now()))
                .await
                .unwrap();
            assert_eq!(outcome, Outcome::Counted);
            world.clock.advance(Duration::from_secs(10));
        }
        assert_eq!(
            world.store.writes.load(Ordering::SeqCst) - before,
            1,
            "{kind:?}: six segments in a minute, one write"
        );
        world
            .deliver(&task, &kind.segment("rid-1", 7, "PASS", world.now()))
            .await
            .unwrap();
        assert_eq!(world.store.writes.load(Ordering::SeqCst) - before, 2);
        assert_eq!(world.stored("room-1").segments_seen, 7);
        assert!(world.queue.events.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_end_ends_the_task_and_is_published_once() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        for _ in 0..3 {
            world.deliver(&task, &kind.end("rid-1", world.now())).await.unwrap();
        }
        let stored = world.stored("room-1");
        assert_eq!(stored.status, TaskStatus::Ended);
        assert_eq!(stored.end_code, Some(3005));
        assert_eq!(stored.end_reason.as_deref(), Some("TOKEN_INVALID_OR_EXPIRED"));
        assert_eq!(stored.stream_time, Some(600));
        let events = world.queue.events.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{kind:?}");
        assert_eq!(events[0].event_id, format!("{}:rid-1:end", kind.id()));
        assert!(matches!(&events[0].body, EventBody::StreamEnd(end) if end.end_reason == "TOKEN_INVALID_OR_EXPIRED"));
    }
}

#[tokio::test]
async fn a_reject_for_an_unknown_task_is_still_published_and_flagged() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let unknown = TaskRef {
            provider: kind.id(),
            bt_id: "room-x".into(),
            task_id: "f".repeat(32),
        };
        let outcome = world
            .deliver(&unknown, &kind.segment("rid-x", 1, "REJECT", world.now()))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Published);
        let events = world.queue.events.lock().unwrap().clone();
        assert!(!events[0].task_known);
        assert_eq!(events[0].bt_id.as_deref(), Some("room-x"));
    }
}

#[tokio::test]
async fn published_levels_are_configurable() {
    for kind in BOTH {
        let mut policy = CallbackPolicy::default();
        policy.published_levels.push(RiskLevel::Review);
        let world = World::with(kind, policy, &BOTH).await;
        let task = world.active("room-1", "rid-1").await;
        let review = world
            .deliver(&task, &kind.segment("rid-1", 1, "REVIEW", world.now()))
            .await
            .unwrap();
        assert_eq!(review, Outcome::Published);
        let pass = world
            .deliver(&task, &kind.segment("rid-1", 2, "PASS", world.now()))
            .await
            .unwrap();
        assert_eq!(pass, Outcome::Counted);
    }
}

#[tokio::test]
async fn malformed_and_forged_callbacks_are_refused_before_any_io() {
    for kind in BOTH {
        let world = World::new(kind).await;
        assert!(matches!(
            world.callbacks.authenticate("v1.deepcleer.x.y.forged"),
            Err(Error::Unauthorized)
        ));
        let task = world.active("room-1", "rid-1").await;
        world.store.down.store(true, Ordering::SeqCst);
        world.queue.down.store(true, Ordering::SeqCst);
        let status = |result: Result<Outcome, Error>| errors::status(&result.unwrap_err());
        assert_eq!(
            status(world.callbacks.handle(&task, b"{not json").await),
            400,
            "{kind:?}"
        );
        let no_identity = match kind {
            Kind::DeepCleer => serde_json::json!({"audioDetail": {}}),
            Kind::Zego => signed(
                serde_json::json!({"Event": "censor_audio_v2_result"}),
                ZEGO_CALLBACK_SECRET,
                world.now(),
            ),
        };
        assert_eq!(status(world.deliver(&task, &no_identity).await), 400, "{kind:?}");
    }
}

#[tokio::test]
async fn zego_callbacks_must_carry_zego_s_signature_and_a_fresh_timestamp() {
    let world = World::new(Kind::Zego).await;
    let task = world.active("room-1", "rid-1").await;
    let now = world.now();
    let genuine = Kind::Zego.segment("rid-1", 7, "REJECT", now);
    let mut forged = genuine.clone();
    forged["Signature"] = "0".repeat(40).into();
    let stale = signed(genuine.clone(), ZEGO_CALLBACK_SECRET, now - Duration::from_secs(3600));
    let other_secret = signed(genuine.clone(), "not-the-secret", now);
    let mut unsigned = genuine.clone();
    unsigned.as_object_mut().unwrap().remove("Signature");
    for body in [forged, stale, other_secret, unsigned] {
        assert!(
            matches!(world.deliver(&task, &body).await, Err(Error::Unauthorized)),
            "{body}"
        );
    }
    assert!(world.queue.events.lock().unwrap().is_empty(), "nothing published");
    assert_eq!(world.deliver(&task, &genuine).await.unwrap(), Outcome::Published);
}

#[tokio::test]
async fn a_token_for_a_provider_whose_callbacks_cannot_be_read_is_a_configuration_error() {
    use std::sync::Arc;
    use streamguard_core::domain::CallbackHandler;
    use streamguard_core::ports::Readers;
    use streamguard_core::providers::{REGISTERED, deepcleer::DeepCleerCallbacks};
    let world = World::new(Kind::Zego).await;
    let task = world.active("room-1", "rid-1").await;
    let only_deepcleer = CallbackHandler::new(
        world.store.clone(),
        world.queue.clone(),
        world.clock.clone(),
        Readers::new(REGISTERED[0], REGISTERED, vec![Arc::new(DeepCleerCallbacks)]),
        keys(),
        CallbackPolicy::default(),
    );
    let body = Kind::Zego.segment("rid-1", 1, "REJECT", world.now());
    let error = only_deepcleer
        .handle(&task, body.to_string().as_bytes())
        .await
        .unwrap_err();
    assert_eq!(errors::status(&error), 500);
    assert!(error.to_string().contains("zego"), "{error}");
}

#[tokio::test]
async fn a_callback_without_a_result_is_acknowledged_and_ignored() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let body = match kind {
            Kind::DeepCleer => serde_json::json!({"requestId": "rid-1_4", "code": 1903, "message": "Service failure"}),
            Kind::Zego => signed(
                serde_json::json!({"Event": "censor_audio_v2_status", "TaskId": "rid-1", "Status": 1}),
                ZEGO_CALLBACK_SECRET,
                world.now(),
            ),
        };
        assert_eq!(world.deliver(&task, &body).await.unwrap(), Outcome::Ignored, "{kind:?}");
        assert!(world.queue.events.lock().unwrap().is_empty());
        assert_eq!(world.stored("room-1").status, TaskStatus::Active);
    }
}

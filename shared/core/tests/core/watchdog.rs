//! The watchdog, for every provider, driven through the clock: silent
//! streams, overlong streams, ends that never come, closes that failed,
//! starts left behind; each finding acted on once.

use crate::lifecycle::no_answer_to_the_start;
use crate::world::{BOTH, Kind, World, timeout};
use serde_json::json;
use std::time::Duration;
use streamguard_core::domain::task::{close_reason, end_reason};
use streamguard_core::domain::{TaskRef, TaskStatus};
use streamguard_core::ports::TaskStore;
use streamguard_wire::event::{EventBody, QueueEvent};

const MINUTE: Duration = Duration::from_secs(60);

fn events(world: &World) -> Vec<QueueEvent> {
    world.queue.events.lock().unwrap().clone()
}

/// An ACTIVE task for `bt_id` that reports every segment (`returnAllText` 1).
async fn reporting_every_segment(world: &World, bt_id: &str, provider_task_id: &str) -> TaskRef {
    let mut body = world.kind.body(bt_id);
    body["data"]["returnAllText"] = json!(1);
    world.transport.answer(world.kind.accepted(provider_task_id));
    let task = world.start(&body).await.unwrap().task;
    assert!(task.reports_every_segment);
    world.task_ref(&task)
}

#[tokio::test]
async fn a_silent_stream_gets_one_stale_event_per_silence() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = reporting_every_segment(&world, "room-1", "rid-1").await;
        world.active("room-2", "rid-2").await; // reports only REJECTs: silence is normal

        world.clock.advance(Duration::from_secs(179));
        assert_eq!(world.watchdog.run().await.unwrap().stale, 0, "{kind:?}: not yet");
        world.clock.advance(Duration::from_secs(2));
        assert_eq!(world.watchdog.run().await.unwrap().stale, 1, "{kind:?}");
        world.clock.advance(MINUTE);
        assert_eq!(
            world.watchdog.run().await.unwrap().stale,
            0,
            "{kind:?}: once per silence"
        );
        let stale = events(&world);
        assert_eq!(stale.len(), 1);
        let EventBody::StreamStale(body) = &stale[0].body else {
            panic!("{:?}", stale[0].body)
        };
        assert_eq!(stale[0].bt_id.as_deref(), Some("room-1"));
        assert_eq!(body.silent_secs, 181);

        // It speaks again, then falls silent again: a second event.
        world
            .deliver(&task, &kind.segment("rid-1", 25, "PASS", world.now()))
            .await
            .unwrap();
        world.clock.advance(Duration::from_secs(181));
        assert_eq!(world.watchdog.run().await.unwrap().stale, 1, "{kind:?}: a new silence");
        let ids: Vec<String> = events(&world).into_iter().map(|event| event.event_id).collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        assert!(world.sent_stops().is_empty(), "a silent stream is reported, not closed");
    }
}

#[tokio::test]
async fn a_stream_open_too_long_is_closed_with_an_event() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.clock.advance(Duration::from_secs(86_399));
        assert_eq!(world.watchdog.run().await.unwrap().max_duration, 0);
        world.clock.advance(Duration::from_secs(1));
        world.transport.answer(kind.stopped());
        assert_eq!(world.watchdog.run().await.unwrap().max_duration, 1, "{kind:?}");
        let task = world.stored("room-1");
        assert_eq!(task.status, TaskStatus::Closed);
        assert_eq!(task.close_reason.as_deref(), Some(close_reason::MAX_DURATION));
        assert_eq!(
            world.starter.view("room-1").await.unwrap().task.close_reason,
            task.close_reason
        );
        let closed = events(&world);
        assert_eq!(closed.len(), 1);
        let EventBody::StreamClosed(body) = &closed[0].body else {
            panic!("{:?}", closed[0].body)
        };
        assert_eq!(body.close_reason, close_reason::MAX_DURATION);
        assert_eq!(body.open_secs, 86_400);
        assert_eq!(world.sent_stops().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_maximum_of_zero_never_closes() {
    let world = World::new(Kind::DeepCleer).await;
    let mut world = world;
    world.watchdog.policy.max_stream = None;
    world.active("room-1", "rid-1").await;
    world.clock.advance(Duration::from_secs(30 * 86_400));
    world.watchdog.run().await.unwrap();
    assert_eq!(world.stored("room-1").status, TaskStatus::Active);
    assert!(world.sent_stops().is_empty());
}

#[tokio::test]
async fn a_closed_task_whose_end_never_comes_ends_after_the_grace_period() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        world.transport.answer(kind.stopped());
        world.closer.close_stream("room-1").await.unwrap();
        world.clock.advance(Duration::from_secs(599));
        assert_eq!(world.watchdog.run().await.unwrap().ended, 0);
        world.clock.advance(Duration::from_secs(1));
        assert_eq!(world.watchdog.run().await.unwrap().ended, 1, "{kind:?}");
        let ended = world.stored("room-1");
        assert_eq!(ended.status, TaskStatus::Ended);
        assert_eq!(ended.end_reason.as_deref(), Some(end_reason::END_NOT_RECEIVED));
        let published = events(&world);
        assert_eq!(published.len(), 1);
        let EventBody::StreamEnd(end) = &published[0].body else {
            panic!("{:?}", published[0].body)
        };
        assert_eq!(end.end_reason, end_reason::END_NOT_RECEIVED);
        assert_eq!(world.watchdog.run().await.unwrap().ended, 0, "once");

        // The real end arrives after all: published, and it replaces the guess.
        world.deliver(&task, &kind.end("rid-1", world.now())).await.unwrap();
        let ended = world.stored("room-1");
        assert_eq!(ended.end_code, Some(3005), "{kind:?}");
        assert_ne!(ended.end_reason.as_deref(), Some(end_reason::END_NOT_RECEIVED));
        assert_eq!(events(&world).len(), 2);
    }
}

#[tokio::test]
async fn a_failed_close_is_retried_and_given_up_after_the_retry_period() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        for _ in 0..3 {
            world.transport.fail(timeout());
        }
        world.closer.close_stream("room-1").await.unwrap_err();
        let task = world.stored("room-1");
        assert_eq!(task.status, TaskStatus::Active, "{kind:?}");
        assert!(task.close_requested_at.is_some() && task.close_error.is_some());

        world.transport.answer(kind.stopped());
        world.clock.advance(MINUTE);
        assert_eq!(world.watchdog.run().await.unwrap().closes_retried, 1, "{kind:?}");
        let task = world.stored("room-1");
        assert_eq!(task.status, TaskStatus::Closed);
        assert_eq!(task.close_reason.as_deref(), Some(close_reason::REQUESTED));

        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        for _ in 0..3 {
            world.transport.fail(timeout());
        }
        world.closer.close_stream("room-1").await.unwrap_err();
        world.transport.fail(timeout());
        world.clock.advance(MINUTE);
        let report = world.watchdog.run().await.unwrap();
        assert_eq!((report.closes_retried, report.failures), (0, 1), "{kind:?}: {report:?}");
        assert_eq!(world.stored("room-1").status, TaskStatus::Active);
        world.transport.fail(timeout());
        world.clock.advance(Duration::from_secs(3600));
        assert_eq!(world.watchdog.run().await.unwrap().closes_given_up, 1, "{kind:?}");
        assert_eq!(
            world.stored("room-1").status,
            TaskStatus::Closed,
            "the btId is not held forever"
        );
        world.transport.answer(kind.accepted("rid-2"));
        assert!(world.start(&kind.body("room-1")).await.unwrap().created);
    }
}

#[tokio::test]
async fn a_start_left_behind_fails_and_its_provider_task_is_stopped_as_a_stray() {
    for kind in BOTH {
        let world = World::new(kind).await;
        no_answer_to_the_start(&world);
        world.start(&kind.body("room-1")).await.unwrap_err();
        let left = world.stored("room-1");
        let reference = world.task_ref(&left);
        world.clock.advance(Duration::from_secs(599));
        assert_eq!(
            world.watchdog.run().await.unwrap().abandoned,
            0,
            "{kind:?}: within the grace period"
        );
        world.clock.advance(Duration::from_secs(1));
        assert_eq!(world.watchdog.run().await.unwrap().abandoned, 1, "{kind:?}");
        let failed = world.stored("room-1");
        assert_eq!(failed.status, TaskStatus::Failed);

        // The provider had started it after all: its callbacks are strays, published and stopped.
        world
            .deliver(&reference, &kind.segment("rid-lost", 3, "REJECT", world.now()))
            .await
            .unwrap();
        assert!(events(&world)[0].stray_provider_task, "{kind:?}");
        world.transport.answer(kind.stopped());
        assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 1);
        assert!(world.sent_stops()[0].body.to_string().contains("rid-lost"));

        world.transport.answer(kind.accepted("rid-2"));
        let next = world.start(&kind.body("room-1")).await.unwrap();
        assert!(next.created, "{kind:?}: the btId is free");
    }
}

#[tokio::test]
async fn the_watchdog_reads_every_page_and_a_failing_finding_does_not_stop_the_run() {
    let world = World::new(Kind::DeepCleer).await;
    for n in 0..130 {
        world.active(&format!("room-{n}"), &format!("rid-{n}")).await;
    }
    // Every task is overdue; the first stop fails, the others succeed.
    world.clock.advance(Duration::from_secs(86_400));
    world.transport.fail(timeout());
    for _ in 1..130 {
        world.transport.answer(Kind::DeepCleer.stopped());
    }
    let report = world.watchdog.run().await.unwrap();
    assert_eq!(report.open, 130);
    assert_eq!((report.max_duration, report.failures), (129, 1), "{report:?}");
    // The one that failed is retried on the next run, as a failed close.
    world.transport.answer(Kind::DeepCleer.stopped());
    let report = world.watchdog.run().await.unwrap();
    assert_eq!(report.closes_retried, 1, "{report:?}");
    let open = world.store.open(
        streamguard_core::ports::OpenFilter::Status(TaskStatus::Active),
        None,
        100,
    );
    assert!(open.await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_take_over_that_renewed_a_start_wins_over_the_watchdog_s_snapshot() {
    for kind in BOTH {
        let world = World::new(kind).await;
        no_answer_to_the_start(&world);
        world.start(&kind.body("room-1")).await.unwrap_err();
        // What the watchdog read from the index: the start left behind.
        let snapshot = world.stored("room-1");
        world.clock.advance(Duration::from_secs(3600));
        // A take-over renews its lease before the watchdog acts on what it read.
        world
            .store
            .tasks
            .lock()
            .unwrap()
            .current_mut("room-1")
            .unwrap()
            .starting_expires_at = Some(world.now() + Duration::from_secs(30));
        let failed = world
            .store
            .fail(
                &snapshot,
                "abandoned",
                Some(world.now() - Duration::from_secs(600)),
                world.now(),
                world.now(),
            )
            .await
            .unwrap();
        assert_eq!(failed, None, "{kind:?}: the renewed start is not failed");
        assert_eq!(world.stored("room-1").status, TaskStatus::Starting);
    }
}

#[tokio::test]
async fn an_end_that_arrived_is_never_replaced_by_the_guess_that_none_came() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let task = world.active("room-1", "rid-1").await;
    world.transport.answer(kind.stopped());
    world.closer.close_stream("room-1").await.unwrap();
    world.clock.advance(Duration::from_secs(601));
    // The end arrives late, after the grace period but before the run.
    world.deliver(&task, &kind.end("rid-1", world.now())).await.unwrap();
    let report = world.watchdog.run().await.unwrap();
    assert_eq!(report.ended, 0);
    let kinds: Vec<String> = events(&world).iter().map(|event| event.event_id.clone()).collect();
    assert_eq!(kinds.len(), 1, "only the real end: {kinds:?}");
    assert_eq!(world.stored("room-1").end_code, Some(3005));
}

#[tokio::test]
async fn a_task_whose_provider_is_no_longer_configured_is_let_go_in_time() {
    // Started on Zego; the deployment then loses Zego's credentials.
    let world = World::with(Kind::DeepCleer, Default::default(), &BOTH).await;
    let mut zego = Kind::Zego.body("room-z");
    zego["provider"] = "zego".into();
    world.transport.answer(Kind::Zego.accepted("zid-1"));
    world.start(&zego).await.unwrap();
    let mut world = world;
    let only_deepcleer = World::with(Kind::DeepCleer, Default::default(), &[Kind::DeepCleer]).await;
    world.watchdog.providers = only_deepcleer.watchdog.providers;
    world.clock.advance(Duration::from_secs(86_400));
    let report = world.watchdog.run().await.unwrap();
    assert_eq!(report.failures, 1, "{report:?}");
    world.clock.advance(Duration::from_secs(3600));
    let report = world.watchdog.run().await.unwrap();
    assert_eq!(report.closes_given_up, 1, "{report:?}");
    assert_eq!(world.stored("room-z").status, TaskStatus::Closed, "the btId is free");
}

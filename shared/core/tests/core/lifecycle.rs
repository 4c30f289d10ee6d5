//! The task lifecycle (docs/lifecycle.md), for every provider: a closed or
//! ended task frees its btId, a late end lands on its own task, another
//! btId's running task is never adopted, and a provider task that is not a
//! task's current one is published as a stray and stopped.

use crate::world::{BOTH, Kind, World};
use serde_json::json;
use streamguard_core::domain::TaskStatus;
use streamguard_core::domain::callback::Outcome;
use streamguard_core::domain::task::end_reason;
use streamguard_core::http::errors;
use streamguard_core::ports::{OpenFilter, TaskStore};
use streamguard_wire::event::EventBody;

/// A start body asking for no stream end (`returnFinishInfo` 0).
fn without_end(kind: Kind, bt_id: &str) -> serde_json::Value {
    let mut body = kind.body(bt_id);
    body["data"]["returnFinishInfo"] = json!(0);
    body
}

/// The provider does the work but no answer comes back, to every attempt.
pub fn no_answer_to_the_start(world: &World) {
    // DeepCleer recognises a resubmission, so the start is tried twice; Zego once.
    let attempts = if world.kind == Kind::DeepCleer { 2 } else { 1 };
    for _ in 0..attempts {
        world.transport.fail(crate::world::timeout());
    }
}

#[tokio::test]
async fn a_close_without_an_end_asked_for_ends_the_task_and_frees_the_btid() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.transport.answer(kind.accepted("rid-1"));
        let first = world.start(&without_end(kind, "room-1")).await.unwrap().task;
        assert!(!first.reports_stream_end, "{kind:?}");
        world.transport.answer(kind.stopped());
        let closed = world.closer.close_stream("room-1").await.unwrap();
        let closed = closed.task.unwrap().task;
        assert_eq!(closed.status, TaskStatus::Ended, "{kind:?}: no end will come");
        assert_eq!(closed.end_reason.as_deref(), Some(end_reason::CLOSED));

        world.transport.answer(kind.accepted("rid-2"));
        let second = world.start(&without_end(kind, "room-1")).await.unwrap();
        assert!(second.created, "{kind:?}: the next start submits a new task");
        assert_ne!(second.task.task_id, first.task_id);
        assert_eq!(second.task.request_id.as_deref(), Some("rid-2"));
        assert_eq!(world.sent_starts().len(), 2);
    }
}

#[tokio::test]
async fn a_closed_task_frees_the_btid_and_its_late_end_lands_on_it() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let first = world.active("room-1", "rid-1").await;
        world.transport.answer(kind.stopped());
        let closed = world.closer.close_stream("room-1").await.unwrap().task.unwrap().task;
        assert_eq!(closed.status, TaskStatus::Closed, "{kind:?}: the end is awaited");

        // The room reopens before the first task's end arrives.
        let second = world.active("room-1", "rid-2").await;
        assert_ne!(second.task_id, first.task_id, "{kind:?}: a new task");
        let outcome = world.deliver(&first, &kind.end("rid-1", world.now())).await.unwrap();
        assert_eq!(outcome, Outcome::Published);
        let ended = world.store.task(&first.bt_id, &first.task_id).await.unwrap().unwrap();
        assert_eq!((ended.status, ended.end_code), (TaskStatus::Ended, Some(3005)));
        assert_eq!(
            world.stored("room-1").status,
            TaskStatus::Active,
            "the current task is untouched"
        );
        let events = world.queue.events.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0].body, EventBody::StreamEnd(_)));
        assert_eq!(events[0].request_id, "rid-1");
        assert!(!events[0].stray_provider_task);
    }
}

#[tokio::test]
async fn another_btids_running_task_is_never_adopted() {
    let world = World::new(Kind::DeepCleer).await;
    world.active("room-1", "rid-1").await;
    // room-2 had an earlier, ended task: refusing the new start must leave it current.
    world.transport.answer(Kind::DeepCleer.accepted("rid-0"));
    world.start(&Kind::DeepCleer.body("room-2")).await.unwrap();
    world.store.tasks.lock().unwrap().current_mut("room-2").unwrap().status = TaskStatus::Ended;
    let before = world.stored("room-2");

    // room-2 on room-1's stream: the provider answers with room-1's task.
    world.transport.answer(Kind::duplicate_of("rid-1"));
    let error = world.start(&Kind::DeepCleer.body("room-2")).await.unwrap_err();
    assert_eq!(errors::status(&error), 409);
    assert_eq!(errors::code(&error), "STREAM_HELD");
    assert_eq!(errors::body(&error)["error"]["btId"], "room-1", "the holder is named");
    assert!(error.to_string().contains("room-1"), "{error}");
    assert_eq!(world.stored("room-2"), before, "nothing is written for room-2");
    assert_eq!(world.stored("room-1").status, TaskStatus::Active);
    assert!(world.sent_stops().is_empty(), "nothing is closed");

    // A btId with no task at all: nothing remains of the attempt.
    world.transport.answer(Kind::duplicate_of("rid-1"));
    world.start(&Kind::DeepCleer.body("room-3")).await.unwrap_err();
    assert!(world.store.tasks.lock().unwrap().current("room-3").is_none());
}

#[tokio::test]
async fn a_duplicate_the_table_does_not_know_is_adopted() {
    let world = World::new(Kind::DeepCleer).await;
    world.transport.answer(Kind::duplicate_of("rid-unknown"));
    let started = world.start(&Kind::DeepCleer.body("room-1")).await.unwrap();
    assert!(started.task.adopted_duplicate);
    assert_eq!(started.task.request_id.as_deref(), Some("rid-unknown"));
    assert_eq!(started.task.provider_task_ids, ["rid-unknown"]);
}

#[tokio::test]
async fn a_take_over_keeps_its_provider_and_another_provider_is_refused() {
    for kind in BOTH {
        let other = if kind == Kind::Zego {
            Kind::DeepCleer
        } else {
            Kind::Zego
        };
        let mut elsewhere = other.body("room-1");
        elsewhere["provider"] = other.id().as_str().into();
        let world = World::new(kind).await;
        no_answer_to_the_start(&world);
        world.start(&kind.body("room-1")).await.unwrap_err();
        assert_eq!(world.stored("room-1").status, TaskStatus::Starting);

        let error = world.start(&elsewhere).await.unwrap_err();
        assert_eq!(errors::code(&error), "PROVIDER_MISMATCH", "{kind:?}");
        assert_eq!(errors::status(&error), 409);
        let starts = world.sent_starts().len();

        world.transport.answer(kind.accepted("rid-1"));
        let taken = world.start(&kind.body("room-1")).await.unwrap();
        assert_eq!(taken.task.provider, kind.id());
        assert_eq!(
            world.sent_starts().len(),
            starts + 1,
            "{kind:?}: resubmitted to its provider"
        );

        let error = world.start(&elsewhere).await.unwrap_err();
        assert_eq!(
            errors::code(&error),
            "PROVIDER_MISMATCH",
            "{kind:?}: an ACTIVE task too"
        );
    }
}

#[tokio::test]
async fn a_stray_is_published_flagged_changes_nothing_and_is_stopped_once() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-2").await;
        let before = world.stored("room-1");
        let now = world.now();
        // "rid-1" calls back on the task's URL: an orphan of an earlier attempt.
        let outcome = world
            .deliver(&task, &kind.segment("rid-1", 4, "REJECT", now))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Published, "{kind:?}: never dropped");
        world
            .deliver(&task, &kind.segment("rid-1", 5, "PASS", now))
            .await
            .unwrap();
        world.deliver(&task, &kind.end("rid-1", now)).await.unwrap();
        let events = world.queue.events.lock().unwrap().clone();
        assert_eq!(events.len(), 2, "{kind:?}: the REJECT and the stray's end");
        assert!(
            events.iter().all(|event| event.stray_provider_task),
            "{kind:?}: flagged"
        );
        assert_eq!(world.stored("room-1"), before, "{kind:?}: no task state changes");

        world.transport.answer(kind.stopped());
        let report = world.watchdog.run().await.unwrap();
        assert_eq!(report.strays_stopped, 1, "{kind:?}");
        let stops = world.sent_stops();
        assert_eq!(stops.len(), 1);
        assert!(stops[0].body.to_string().contains("rid-1"), "{kind:?}: {:?}", stops[0]);
        assert!(
            !stops[0].body.to_string().contains("rid-2"),
            "the live task is left alone"
        );
        // It calls back again before the stop took effect: nothing more is stopped.
        world
            .deliver(&task, &kind.segment("rid-1", 6, "REJECT", now))
            .await
            .unwrap();
        let report = world.watchdog.run().await.unwrap();
        assert_eq!(report.strays_stopped, 0, "{kind:?}: once");
        assert_eq!(world.sent_stops().len(), 1);
        assert_eq!(world.stored("room-1").status, TaskStatus::Active);
    }
}

#[tokio::test]
async fn a_callback_of_the_current_provider_task_is_not_a_stray() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        world
            .deliver(&task, &kind.segment("rid-1", 1, "REJECT", world.now()))
            .await
            .unwrap();
        let events = world.queue.events.lock().unwrap().clone();
        assert!(!events[0].stray_provider_task, "{kind:?}");
        let strays = world.store.open(OpenFilter::All, None, 10).await.unwrap().items.len();
        assert_eq!(strays, 1, "{kind:?}: only the task is open, no stray");
    }
}

#[tokio::test]
async fn a_stop_refused_as_unknown_closes_the_task() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    world.active("room-1", "rid-1").await;
    // 1902: the provider has no such running task (it ended already).
    world.transport.answer(kind.refused(1902));
    let closed = world.closer.close_stream("room-1").await.unwrap();
    assert_eq!(closed.task.unwrap().task.status, TaskStatus::Closed);
    world.transport.answer(kind.accepted("rid-2"));
    assert!(world.start(&kind.body("room-1")).await.unwrap().created);
}

#[tokio::test]
async fn a_pass_through_over_its_limit_is_refused_naming_the_field_and_the_limit() {
    use streamguard_core::domain::events::PASS_THROUGH_LIMIT;
    for kind in BOTH {
        let world = World::new(kind).await;
        let mut body = kind.body("room-1");
        body["data"]["passThrough"] = json!({"blob": "x".repeat(PASS_THROUGH_LIMIT - 11)});
        world.transport.answer(kind.accepted("rid-1"));
        assert!(world.start(&body).await.is_ok(), "{kind:?}: at the limit");

        let mut body = kind.body("room-2");
        body["data"]["passThrough"] = json!({"blob": "x".repeat(PASS_THROUGH_LIMIT - 10)});
        let error = world.start(&body).await.unwrap_err();
        let streamguard_core::domain::Error::Invalid(problems) = &error else {
            panic!("{kind:?}: {error}")
        };
        let problem = problems.get("data.passThrough").expect("the field is named");
        assert!(
            problem.rule.contains(&PASS_THROUGH_LIMIT.to_string()),
            "{}",
            problem.rule
        );
        assert!(
            world.store.tasks.lock().unwrap().current("room-2").is_none(),
            "nothing written"
        );
    }
}

#[tokio::test]
async fn the_listing_pages_through_open_tasks_and_names_bad_parameters() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    for n in 0..5 {
        world.active(&format!("room-{n}"), &format!("rid-{n}")).await;
    }
    world.transport.answer(kind.stopped());
    world.closer.close_stream("room-0").await.unwrap();
    // An ended task is not open.
    world.transport.answer(kind.accepted("rid-x"));
    world.start(&without_end(kind, "room-9")).await.unwrap();
    world.transport.answer(kind.stopped());
    world.closer.close_stream("room-9").await.unwrap();
    assert_eq!(world.stored("room-9").status, TaskStatus::Ended);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = world.starter.list(None, Some("2"), cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|view| view.task.bt_id));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["room-0", "room-1", "room-2", "room-3", "room-4"],
        "open tasks only, each once"
    );
    let closed = world.starter.list(Some("CLOSED"), None, None).await.unwrap();
    assert_eq!(closed.items.len(), 1);
    assert_eq!(closed.items[0].task.bt_id, "room-0");
    assert_eq!(closed.cursor, None, "no cursor on the last page");

    for (status, limit, cursor, field) in [
        (Some("ENDED"), None, None, "status"),
        (Some("active"), None, None, "status"),
        (None, Some("0"), None, "limit"),
        (None, Some("101"), None, "limit"),
        (None, Some("ten"), None, "limit"),
        (None, None, Some("not-a-cursor"), "cursor"),
    ] {
        let error = world.starter.list(status, limit, cursor).await.unwrap_err();
        let streamguard_core::domain::Error::Invalid(problems) = &error else {
            panic!("{field}: {error}")
        };
        assert!(problems.get(field).is_some(), "{field}: {problems}");
        assert_eq!(errors::status(&error), 400);
    }
}

#[tokio::test]
async fn a_restart_that_adopts_a_left_start_s_provider_task_takes_its_callbacks() {
    // The first start's answer is lost; the watchdog gives it up; the next
    // start adopts the provider task, whose callbacks still come to the
    // first task's URL: they are the new task's, not a stray to stop.
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    no_answer_to_the_start(&world);
    world.start(&kind.body("room-1")).await.unwrap_err();
    let left = world.task_ref(&world.stored("room-1"));
    world.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(world.watchdog.run().await.unwrap().abandoned, 1);
    world.transport.answer(Kind::duplicate_of("rid-lost"));
    let adopter = world.start(&kind.body("room-1")).await.unwrap().task;
    assert_eq!(adopter.request_id.as_deref(), Some("rid-lost"));
    assert_ne!(adopter.task_id, left.task_id);

    let now = world.now();
    world
        .deliver(&left, &kind.segment("rid-lost", 7, "REJECT", now))
        .await
        .unwrap();
    world
        .deliver(&left, &kind.segment("rid-lost", 8, "PASS", now))
        .await
        .unwrap();
    let events = world.queue.events.lock().unwrap().clone();
    assert!(!events[0].stray_provider_task, "the adopter's own provider task");
    assert_eq!(world.stored("room-1").segments_seen, 8, "progress lands on the adopter");
    assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 0);
    assert!(
        world.sent_stops().is_empty(),
        "the live task's provider task is never stopped"
    );
    world.deliver(&left, &kind.end("rid-lost", now)).await.unwrap();
    assert_eq!(
        world.stored("room-1").status,
        TaskStatus::Ended,
        "its end ends the adopter"
    );
}

#[tokio::test]
async fn two_btids_never_own_one_provider_task() {
    // room-2's start is answered with room-1's provider task before room-1
    // has recorded it (the provider answered room-1 first): whoever records
    // ownership first has it; the other is refused and nothing of it remains.
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let owner = streamguard_core::domain::task::Owner {
        provider: kind.id(),
        provider_task_id: "rid-shared".into(),
        bt_id: "room-1".into(),
        task_id: "task-of-room-1".into(),
    };
    world
        .store
        .owners
        .lock()
        .unwrap()
        .insert((kind.id(), "rid-shared".into()), owner);
    world.transport.answer(kind.accepted("rid-shared"));
    let error = world.start(&kind.body("room-2")).await.unwrap_err();
    assert_eq!(errors::code(&error), "STREAM_HELD");
    assert_eq!(errors::body(&error)["error"]["btId"], "room-1");
    assert!(world.store.tasks.lock().unwrap().current("room-2").is_none());
    world.transport.answer(Kind::duplicate_of("rid-shared"));
    let error = world.start(&kind.body("room-3")).await.unwrap_err();
    assert_eq!(errors::code(&error), "STREAM_HELD", "a duplicate of it too");
    assert!(world.sent_stops().is_empty());
}

/// A provider that, while it starts a task, sees streamguard's task given
/// up (the watchdog failing it): the start's answer comes too late.
struct GivenUpMeanwhile {
    store: streamguard_core::memory::MemoryStore,
}

impl streamguard_core::providers::transport::Transport for GivenUpMeanwhile {
    fn post_json<'a>(
        &'a self,
        _url: String,
        _body: Vec<u8>,
        _timeout: std::time::Duration,
    ) -> streamguard_core::ports::BoxFuture<
        'a,
        Result<streamguard_core::providers::transport::Answer, streamguard_core::ports::ProviderError>,
    > {
        Box::pin(async move {
            self.store.tasks.lock().unwrap().current_mut("room-1").unwrap().status = TaskStatus::Failed;
            Ok(streamguard_core::providers::transport::Answer {
                status: 200,
                body: Kind::DeepCleer.accepted("rid-orphan").to_string().into(),
            })
        })
    }
}

#[tokio::test]
async fn a_provider_task_accepted_for_a_task_given_up_meanwhile_is_stopped() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let sdk = aws_config::SdkConfig::builder().build();
    let secrets = streamguard_core::init::Secrets::new(&sdk);
    let late = std::sync::Arc::new(GivenUpMeanwhile {
        store: world.store.clone(),
    });
    let starter = streamguard_core::domain::Starter {
        store: world.store.clone(),
        clock: world.clock.clone(),
        providers: streamguard_core::providers::starts(&crate::world::environment(kind, &BOTH), &secrets, late)
            .await
            .unwrap(),
        callbacks: world.starter.callbacks.clone(),
        policy: world.starter.policy.clone(),
    };
    let error = starter
        .start(&kind.body("room-1").to_string(), Some(crate::world::BASE))
        .await
        .unwrap_err();
    assert_eq!(errors::code(&error), "CONFLICT", "{error}");
    assert_eq!(
        world.stored("room-1").status,
        TaskStatus::Failed,
        "not moved back to ACTIVE"
    );
    // The provider task runs for no task: the watchdog stops it.
    world.transport.answer(kind.stopped());
    assert_eq!(world.watchdog.run().await.unwrap().strays_stopped, 1);
    assert!(world.sent_stops()[0].body.to_string().contains("rid-orphan"));
    // And the btId is free.
    world.transport.answer(kind.accepted("rid-2"));
    assert!(world.start(&kind.body("room-1")).await.unwrap().created);
}

#[tokio::test]
async fn closing_by_provider_task_id_stops_it_even_when_the_table_thinks_it_closed() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    world.active("room-1", "rid-1").await;
    world.store.tasks.lock().unwrap().current_mut("room-1").unwrap().status = TaskStatus::Closed;
    world.transport.answer(kind.stopped());
    let closed = world
        .closer
        .close_request("rid-1", streamguard_core::domain::provider::Media::Audio, None)
        .await
        .unwrap();
    assert!(
        closed.provider_called,
        "a close let go unconfirmed can be finished by hand"
    );
    assert_eq!(world.sent_stops().len(), 1);
    // A provider that no longer has it: done all the same.
    world.transport.answer(kind.refused(1902));
    let again = world
        .closer
        .close_request("rid-1", streamguard_core::domain::provider::Media::Audio, None)
        .await
        .unwrap();
    assert!(again.provider_called);
}

#[tokio::test]
async fn a_deepcleer_result_with_an_odd_code_is_still_published() {
    let kind = Kind::DeepCleer;
    let world = World::new(kind).await;
    let task = world.active("room-1", "rid-1").await;
    let mut body = kind.segment("rid-1", 3, "REJECT", world.now());
    body["code"] = json!(1903);
    assert_eq!(world.deliver(&task, &body).await.unwrap(), Outcome::Published);
}

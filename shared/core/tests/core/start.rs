//! Idempotent start, for every provider: what the bundle adds, live btIds,
//! lost acknowledgements, take-over of stale starts, refusals.

use crate::world::{ACCESS_KEY, BASE, BOTH, Kind, World, timeout};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use streamguard_core::domain::{Error, Task, TaskStatus};
use streamguard_core::http::errors;
use streamguard_core::metrics;
use streamguard_core::ports::ProviderError;

#[tokio::test]
async fn a_start_fills_in_what_the_bundle_owns_and_activates() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.transport.answer(kind.accepted("rid-1"));
        let outcome = world.start(&kind.body("room-1")).await.unwrap();
        assert!(outcome.created);
        assert_eq!(outcome.task.status, TaskStatus::Active);
        assert_eq!(outcome.task.provider, kind.id());
        assert_eq!(outcome.task.request_id.as_deref(), Some("rid-1"));
        let sent = world.sent_starts().remove(0);
        match kind {
            Kind::DeepCleer => {
                assert_eq!(sent.url, "https://deepcleer.test/audiostream/v4");
                assert_eq!(sent.body["accessKey"], ACCESS_KEY);
                assert_eq!(sent.body["appId"], "default");
                assert_eq!(sent.body["eventId"], "liveAudio");
                assert_eq!(sent.body["data"]["returnFinishInfo"], 1);
                assert_eq!(sent.timeout, Duration::from_secs(5));
            }
            Kind::Zego => {
                assert!(
                    sent.url
                        .starts_with("https://zego.test/?Action=StartCensorAudioV2&AppId=12345&")
                );
                assert!(sent.url.contains("&Signature=") && sent.url.contains("SignatureVersion=2.0"));
                assert_eq!(sent.body["RoomId"], "room-1", "the btId names the room");
                assert_eq!(sent.body["ReturnFinishInfo"], 1);
                assert_eq!(sent.body["ResultCallbackUrl"], sent.body["StatusCallbackUrl"]);
                assert_eq!(sent.timeout, Duration::from_secs(5));
                assert!(!sent.body.to_string().contains("provider"), "the choice is not sent on");
            }
        }
        let url = kind.callback_url(&sent);
        let token = url
            .strip_prefix(&format!("{BASE}/callbacks/"))
            .expect("the callback route");
        let reference = world.callbacks.authenticate(token).unwrap().task;
        assert_eq!(reference, world.task_ref(&outcome.task), "{kind:?}");
    }
}

#[tokio::test]
async fn a_caller_may_not_set_the_access_key_or_callback_and_hears_every_problem() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let mut body = json!({"accessKey": "mine", "callback": "https://evil.example", "type": "COPYRIGHTSONGS",
                              "data": {"streamType": "NORMAL", "level": 9}});
        if kind == Kind::Zego {
            body["provider"] = "zego".into();
        }
        let Err(Error::Invalid(problems)) = world.start(&body).await else {
            panic!("{kind:?}: invalid")
        };
        let expected: &[&str] = match kind {
            Kind::DeepCleer => &[
                "accessKey",
                "callback",
                "data.btId",
                "data.tokenId",
                "data.url",
                "data.level",
            ],
            Kind::Zego => &["accessKey", "callback", "data.btId", "type"],
        };
        for field in expected {
            assert!(problems.names(field), "{kind:?} {field}: {problems}");
        }
        assert!(problems.get("accessKey").unwrap().rule.contains("set by streamguard"));
        assert!(world.sent().is_empty(), "nothing invalid reaches the provider");
        assert!(world.store.tasks.lock().unwrap().is_empty(), "nothing is written");
    }
}

#[tokio::test]
async fn a_caller_may_keep_the_stream_end_callback_off() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.transport.answer(kind.accepted("rid-1"));
        let mut body = kind.body("b");
        body["data"]["returnFinishInfo"] = json!(0);
        world.start(&body).await.unwrap();
        let sent = &world.sent_starts()[0].body;
        let flag = match kind {
            Kind::DeepCleer => &sent["data"]["returnFinishInfo"],
            Kind::Zego => &sent["ReturnFinishInfo"],
        };
        assert_eq!(flag, 0, "{kind:?}");
    }
}

#[tokio::test]
async fn a_start_for_a_live_btid_returns_it_without_a_second_submission() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        let again = world.start(&kind.body("room-1")).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.task.request_id.as_deref(), Some("rid-1"));
        assert_eq!(world.sent_starts().len(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_lost_acknowledgement_is_resubmitted_only_where_the_provider_recognises_it() {
    // DeepCleer answers a resubmitted stream with 1001 and the running task: adopted.
    let world = World::new(Kind::DeepCleer).await;
    world.transport.fail(timeout());
    world.transport.answer(Kind::duplicate_of("rid-original"));
    let outcome = world.start(&Kind::DeepCleer.body("room-1")).await.unwrap();
    assert_eq!(outcome.task.request_id.as_deref(), Some("rid-original"));
    assert!(outcome.task.adopted_duplicate);
    let sent = world.sent_starts();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, sent[1].body, "the retry carries the same payload");

    // Zego would start a second task: one attempt, the btId released for the next start.
    let world = World::new(Kind::Zego).await;
    world.transport.fail(timeout());
    let error = world.start(&Kind::Zego.body("room-1")).await.unwrap_err();
    assert!(matches!(error, Error::ProviderTimeout { .. }), "{error:?}");
    assert_eq!(world.sent_starts().len(), 1, "no automatic resubmission");
    assert_eq!(world.stored("room-1").status, TaskStatus::Starting);
}

#[tokio::test]
async fn no_answer_at_all_releases_the_btid_for_the_next_start_with_the_same_callback() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let attempts = if kind == Kind::DeepCleer { 2 } else { 1 };
        for _ in 0..attempts {
            world.transport.fail(timeout());
        }
        let error = world.start(&kind.body("room-1")).await.unwrap_err();
        assert_eq!(errors::status(&error), 504, "{kind:?}");
        assert_eq!(world.sent_starts().len(), attempts);
        let stuck = world.stored("room-1");
        assert_eq!(stuck.status, TaskStatus::Starting);
        // The next start takes the task over at once.
        let answer = match kind {
            Kind::DeepCleer => Kind::duplicate_of("rid-original"),
            Kind::Zego => kind.accepted("rid-original"),
        };
        world.transport.answer(answer);
        let outcome = world.start(&kind.body("room-1")).await.unwrap();
        assert_eq!(
            outcome.task.task_id, stuck.task_id,
            "the same task, so its callback URL stays valid"
        );
        assert_eq!(outcome.task.request_id.as_deref(), Some("rid-original"));
        assert_eq!(outcome.task.start_attempts, 2);
        let starts = world.sent_starts();
        assert_eq!(
            kind.callback_url(&starts[0]),
            kind.callback_url(starts.last().unwrap()),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_start_that_died_holds_the_btid_only_until_its_lease_ends() {
    for kind in BOTH {
        let world = World::new(kind).await;
        // An attempt wrote STARTING and died before calling the provider.
        let now = world.now();
        let dead = Task::starting("room-1", kind.id(), now, now + Duration::from_secs(30));
        world.store.tasks.lock().unwrap().put(dead.clone());
        let during = world.start(&kind.body("room-1")).await.unwrap();
        assert_eq!(
            during.task.status,
            TaskStatus::Starting,
            "within the lease the start in flight is returned"
        );
        assert!(world.sent().is_empty());
        world.clock.advance(Duration::from_secs(31));
        world.transport.answer(kind.accepted("rid-2"));
        let after = world.start(&kind.body("room-1")).await.unwrap();
        assert_eq!(after.task.task_id, dead.task_id);
        assert_eq!(after.task.status, TaskStatus::Active);
    }
}

#[tokio::test]
async fn refusals_free_the_btid_and_map_to_clear_errors() {
    for kind in BOTH {
        let world = World::new(kind).await;
        for (code, status) in kind.codes() {
            world.transport.answer(kind.refused(code));
            let error = world.start(&kind.body("room-1")).await.unwrap_err();
            assert_eq!(errors::status(&error), status, "{kind:?} {code}");
            assert_eq!(errors::body(&error)["error"]["providerCode"], code);
            assert_eq!(errors::body(&error)["error"]["provider"], kind.id().as_str());
            let task = world.stored("room-1");
            assert_eq!(task.status, TaskStatus::Failed);
            assert!(task.failure.unwrap().contains(&code.to_string()));
        }
        world.transport.answer(kind.accepted("rid-9"));
        assert!(
            world.start(&kind.body("room-1")).await.unwrap().created,
            "a failed start does not block the next"
        );
    }
}

#[tokio::test]
async fn every_failed_provider_call_is_counted_by_provider_and_code() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let (code, _) = kind.codes()[2];
        world.transport.answer(kind.refused(code));
        let (_, lines) = metrics::captured(world.start(&kind.body("room-1"))).await;
        assert_eq!(lines.len(), 1, "{kind:?}: {lines:?}");
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["ProviderErrors"], 1.0);
        assert_eq!(line["Provider"], kind.id().as_str());
        assert_eq!(line["Code"], code.to_string());
        assert_eq!(line["Function"], "start");
    }
}

#[tokio::test]
async fn a_new_start_after_the_end_begins_a_new_task() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let first = world.active("room-1", "rid-1").await;
        world.store.tasks.lock().unwrap().current_mut("room-1").unwrap().status = TaskStatus::Ended;
        world.transport.answer(kind.accepted("rid-2"));
        let second = world.start(&kind.body("room-1")).await.unwrap();
        assert!(second.created);
        assert_ne!(second.task.task_id, first.task_id);
    }
}

#[tokio::test]
async fn storage_failure_before_submitting_submits_nothing() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.store.down.store(true, Ordering::SeqCst);
        let error = world.start(&kind.body("room-1")).await.unwrap_err();
        assert_eq!(errors::status(&error), 503);
        assert!(world.sent().is_empty());
    }
}

#[tokio::test]
async fn a_start_names_its_provider_or_gets_the_deployment_s() {
    let world = World::new(Kind::DeepCleer).await;
    world.transport.answer(Kind::Zego.accepted("zego-task"));
    let zego = world.start(&Kind::Zego.body("room-z")).await.unwrap();
    assert_eq!(zego.task.provider, Kind::Zego.id());
    world.transport.answer(Kind::DeepCleer.accepted("dc-task"));
    let default = world.start(&Kind::DeepCleer.body("room-d")).await.unwrap();
    assert_eq!(default.task.provider, Kind::DeepCleer.id());
    for (provider, rule) in [("tencent", "not a provider"), ("DeepCleer", "not a provider")] {
        let mut body = Kind::DeepCleer.body("room-x");
        body["provider"] = provider.into();
        let Err(Error::Invalid(problems)) = world.start(&body).await else {
            panic!("{provider}")
        };
        assert!(problems.get("provider").unwrap().rule.contains(rule), "{problems}");
    }
}

#[tokio::test]
async fn a_provider_without_credentials_is_refused_naming_it() {
    let world = World::with(Kind::DeepCleer, Default::default(), &[Kind::DeepCleer]).await;
    let Err(Error::Invalid(problems)) = world.start(&Kind::Zego.body("room-z")).await else {
        panic!()
    };
    assert!(
        problems.get("provider").unwrap().rule.contains("not configured"),
        "{problems}"
    );
    assert!(world.sent().is_empty());
    assert!(world.store.tasks.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_answer_without_a_task_id_is_not_a_start() {
    let world = World::new(Kind::Zego).await;
    world
        .transport
        .answer(json!({"Code": 0, "Message": "success", "RequestId": "r"}));
    let error = world.start(&Kind::Zego.body("room-z")).await.unwrap_err();
    assert_eq!(errors::status(&error), 502, "{error:?}");
    assert_eq!(errors::code(&error), "ZEGO_FAILURE");
    assert_eq!(
        world.stored("room-z").status,
        TaskStatus::Failed,
        "the btId is free again"
    );
    let world = World::new(Kind::DeepCleer).await;
    world
        .transport
        .fail(ProviderError::BadAnswer("HTTP 502: <html>".into()));
    assert_eq!(
        errors::status(&world.start(&Kind::DeepCleer.body("room-1")).await.unwrap_err()),
        502
    );
}

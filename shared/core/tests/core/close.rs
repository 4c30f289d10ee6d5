//! Close, for every provider: by btId, by provider task id, video, bounded
//! retries, and the failures counted.

use crate::world::{BOTH, Kind, World, timeout};
use std::time::Duration;
use streamguard_core::domain::provider::Media;
use streamguard_core::domain::{Error, TaskStatus};
use streamguard_core::http::errors;
use streamguard_core::metrics;

#[tokio::test]
async fn close_by_btid_retries_a_timeout_and_marks_the_task_closing() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.transport.fail(timeout());
        world.transport.answer(kind.stopped());
        let outcome = world.closer.close_stream("room-1").await.unwrap();
        assert_eq!(outcome.task.unwrap().task.status, TaskStatus::Closed);
        assert_eq!(outcome.request_id.as_deref(), Some("rid-1"));
        let stops = world.sent_stops();
        assert_eq!(stops.len(), 2, "{kind:?}: a timeout is retried");
        match kind {
            Kind::DeepCleer => {
                assert_eq!(stops[0].url, "https://deepcleer.test/finish_audiostream/v4");
                assert_eq!(stops[0].body["requestId"], "rid-1");
            }
            Kind::Zego => {
                assert!(stops[0].url.starts_with("https://zego.test/?Action=StopCensorAudioV2&"));
                assert_eq!(stops[0].body["TaskId"], "rid-1");
            }
        }
        assert_eq!(
            stops[0].timeout,
            Duration::from_secs(1),
            "{kind:?}: a stop waits as long as a stop may, not as long as a start"
        );
    }
}

#[tokio::test]
async fn close_by_provider_task_id_finds_the_task() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.transport.answer(kind.stopped());
        let by_request = world.closer.close_request("rid-1", Media::Audio, None).await.unwrap();
        assert_eq!(by_request.task.unwrap().task.bt_id, "room-1");
    }
}

#[tokio::test]
async fn a_foreign_task_is_stopped_at_the_named_or_default_provider() {
    let world = World::new(Kind::DeepCleer).await;
    world.transport.answer(Kind::DeepCleer.stopped());
    let video = world.closer.close_request("video-9", Media::Video, None).await.unwrap();
    assert!(video.task.is_none());
    let sent = world.sent_stops().pop().unwrap();
    assert_eq!(sent.url, "https://video.deepcleer.test/finish_videostream/v4");
    assert_eq!(sent.body["requestId"], "video-9");
    assert_eq!(sent.timeout, Duration::from_secs(7));

    world.transport.answer(Kind::Zego.stopped());
    world
        .closer
        .close_request("zego-foreign", Media::Audio, Some("zego"))
        .await
        .unwrap();
    assert!(world.sent().last().unwrap().url.contains("Action=StopCensorAudioV2"));

    let error = world
        .closer
        .close_request("zego-video", Media::Video, Some("zego"))
        .await
        .unwrap_err();
    assert_eq!(errors::status(&error), 400, "Zego has no video task: {error:?}");
    let error = world
        .closer
        .close_request("x", Media::Audio, Some("tencent"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Invalid(problems) if problems.names("provider")));
}

#[tokio::test]
async fn closing_an_ended_task_calls_nobody_and_an_unknown_btid_is_404() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.store.tasks.lock().unwrap().current_mut("room-1").unwrap().status = TaskStatus::Ended;
        let noop = world.closer.close_stream("room-1").await.unwrap();
        assert!(!noop.provider_called);
        assert!(world.sent_stops().is_empty());
        assert_eq!(
            errors::status(&world.closer.close_stream("nobody").await.unwrap_err()),
            404
        );
    }
}

#[tokio::test]
async fn close_gives_up_after_its_attempts_and_counts_each_failure() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        for _ in 0..3 {
            world.transport.fail(timeout());
        }
        let (outcome, lines) = metrics::captured(world.closer.close_stream("room-1")).await;
        assert_eq!(errors::status(&outcome.unwrap_err()), 504);
        assert_eq!(world.stored("room-1").status, TaskStatus::Active);
        assert_eq!(lines.len(), 3, "{kind:?}: every failed attempt is counted");
        for line in lines {
            let line: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(
                (line["Function"].as_str(), line["Code"].as_str()),
                (Some("close"), Some("TIMEOUT"))
            );
        }
    }
}

#[tokio::test]
async fn a_transient_refusal_is_retried_and_a_final_one_is_not() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        world.transport.answer(kind.refused(kind.transient_code()));
        world.transport.answer(kind.stopped());
        world.closer.close_stream("room-1").await.unwrap();
        assert_eq!(world.sent_stops().len(), 2, "{kind:?}");

        let world = World::new(kind).await;
        world.active("room-1", "rid-1").await;
        let (code, status) = kind.codes()[3];
        world.transport.answer(kind.refused(code));
        let error = world.closer.close_stream("room-1").await.unwrap_err();
        assert_eq!(errors::status(&error), status, "{kind:?}: configuration is not retried");
        assert_eq!(world.sent_stops().len(), 1);
    }
}

#[tokio::test]
async fn a_starting_task_cannot_be_closed_yet() {
    for kind in BOTH {
        let world = World::new(kind).await;
        world.transport.fail(timeout());
        world.transport.fail(timeout());
        let _ = world.start(&kind.body("room-1")).await;
        assert_eq!(
            errors::status(&world.closer.close_stream("room-1").await.unwrap_err()),
            409
        );
    }
}

//! The evidence archive over in-memory ports: a published segment is
//! archived once, with its audio; fetches are retried only when worth it and
//! only over https (unless allowed); a failing archive is an error to retry;
//! the history lists events newest first with links.

use crate::world::{BOTH, World};
use std::time::Duration;
use streamguard_core::domain::evidence::{Archived, prefix};
use streamguard_core::domain::policy::EvidencePolicy;
use streamguard_core::domain::task::EvidenceState;
use streamguard_core::domain::{Archiver, History, TaskRef};
use streamguard_core::http::errors;
use streamguard_core::memory::{ManualClock, MemoryArchive, MemoryStore, ScriptedFetcher};
use streamguard_core::ports::{FetchError, Fetched};

const AUDIO: &str = "https://cdn.provider.test/a/rid-1_2.mp3";

fn policy(allow_http: bool) -> EvidencePolicy {
    EvidencePolicy {
        fetch_attempts: 3,
        fetch_backoff: Duration::ZERO,
        fetch_timeout: Duration::from_secs(1),
        max_bytes: 1024,
        allow_http,
    }
}

fn audio() -> Fetched {
    Fetched {
        bytes: b"ID3 audio".to_vec(),
        content_type: Some("audio/mpeg".into()),
    }
}

fn archiver_for(
    world: &World,
    fetcher: ScriptedFetcher,
) -> Archiver<MemoryStore, MemoryArchive, ScriptedFetcher, ManualClock> {
    Archiver {
        store: world.store.clone(),
        archive: MemoryArchive::default(),
        fetcher,
        clock: world.clock.clone(),
        policy: policy(false),
    }
}

/// room-1 active on rid-1 with a REJECT at segment 2 published; its event id.
async fn published(world: &World, task: &TaskRef, audio_url: &str) -> String {
    let mut body = world.kind.segment("rid-1", 2, "REJECT", world.now());
    match world.kind {
        crate::world::Kind::DeepCleer => body["audioDetail"]["audioUrl"] = audio_url.into(),
        crate::world::Kind::Zego => {
            body["Detail"]["AudioUrl"] = audio_url.into();
            body = crate::world::signed(
                {
                    let mut plain = body.clone();
                    for field in ["AppId", "Timestamp", "Nonce", "Signature"] {
                        plain.as_object_mut().unwrap().remove(field);
                    }
                    plain
                },
                crate::world::ZEGO_CALLBACK_SECRET,
                world.now(),
            );
        }
    }
    world.deliver(task, &body).await.unwrap();
    world.kind.event_id("rid-1", 2)
}

#[tokio::test]
async fn a_published_segment_is_archived_once_with_its_audio() {
    for kind in BOTH {
        let world = World::new(kind).await;
        let task = world.active("room-1", "rid-1").await;
        let event_id = published(&world, &task, AUDIO).await;
        let fetcher = ScriptedFetcher::default();
        fetcher.answer(AUDIO, Ok(audio()));
        let archiver = archiver_for(&world, fetcher);
        let Archived::Done(evidence) = archiver.archive("room-1", &event_id).await.unwrap() else {
            panic!("{kind:?}: archived")
        };
        assert_eq!(evidence.state, EvidenceState::Archived);
        let keys: Vec<String> = evidence.objects.iter().map(|object| object.key.clone()).collect();
        let prefix = prefix("room-1", &event_id);
        assert_eq!(
            keys,
            [format!("{prefix}event.json"), format!("{prefix}audio.mp3")],
            "{kind:?}"
        );
        let objects = archiver.archive.objects.lock().unwrap().clone();
        assert_eq!(objects[&format!("{prefix}audio.mp3")].0, b"ID3 audio");
        let document: serde_json::Value = serde_json::from_slice(&objects[&format!("{prefix}event.json")].0).unwrap();
        assert_eq!(document["event"]["eventId"], event_id.as_str());
        assert!(
            document["providerResult"].is_object(),
            "{kind:?}: what the provider sent"
        );
        let text = document.to_string();
        assert!(!text.contains(crate::world::ACCESS_KEY), "{kind:?}: no accessKey");
        assert!(!text.contains("Signature"), "{kind:?}: no signature fields");

        assert_eq!(
            archiver.archive("room-1", &event_id).await.unwrap(),
            Archived::AlreadyDone,
            "{kind:?}: a redelivery does nothing"
        );
        assert_eq!(archiver.fetcher.fetched().len(), 1, "{kind:?}: fetched once");
        assert_eq!(
            archiver.archive("room-1", "no-such-event").await.unwrap(),
            Archived::Nothing
        );
    }
}

#[tokio::test]
async fn a_fetch_is_retried_while_worth_it_and_its_failure_marked() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Err(FetchError::Transient("HTTP 503".into())));
    fetcher.answer(AUDIO, Ok(audio()));
    let archiver = archiver_for(&world, fetcher);
    let Archived::Done(evidence) = archiver.archive("room-1", &event_id).await.unwrap() else {
        panic!("archived")
    };
    assert_eq!(evidence.state, EvidenceState::Archived, "the second attempt succeeded");
    assert_eq!(archiver.fetcher.fetched().len(), 2);

    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Err(FetchError::Permanent("HTTP 404".into())));
    let archiver = archiver_for(&world, fetcher);
    let Archived::Done(evidence) = archiver.archive("room-1", &event_id).await.unwrap() else {
        panic!("archived")
    };
    assert_eq!(evidence.state, EvidenceState::AudioFailed);
    assert!(evidence.failure.as_deref().unwrap().contains("404"));
    assert_eq!(evidence.objects.len(), 1, "the event archived anyway");
    assert_eq!(archiver.fetcher.fetched().len(), 1, "a 404 is not retried");
    let stored = world.store.published.lock().unwrap().values().next().cloned().unwrap();
    assert_eq!(stored.evidence, Some(evidence), "marked on the record");
}

#[tokio::test]
async fn only_https_links_are_fetched_unless_the_deployment_allows_http() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let plain = "http://cdn.provider.test/a.mp3";
    let event_id = published(&world, &task, plain).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(plain, Ok(audio()));
    let archiver = archiver_for(&world, fetcher);
    let Archived::Done(evidence) = archiver.archive("room-1", &event_id).await.unwrap() else {
        panic!("archived")
    };
    assert_eq!(evidence.state, EvidenceState::AudioFailed);
    assert!(archiver.fetcher.fetched().is_empty(), "never fetched");
}

#[tokio::test]
async fn an_archive_that_fails_is_an_error_and_the_retry_completes_it() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Ok(audio()));
    let archiver = archiver_for(&world, fetcher);
    archiver.archive.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let error = archiver.archive("room-1", &event_id).await.unwrap_err();
    assert_eq!(errors::status(&error), 503);
    archiver.archive.down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(
        archiver.archive("room-1", &event_id).await.unwrap(),
        Archived::Done(_)
    ));
}

#[tokio::test]
async fn the_history_lists_events_newest_first_with_links() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Ok(audio()));
    let archiver = archiver_for(&world, fetcher);
    archiver.archive("room-1", &event_id).await.unwrap();
    world.clock.advance(Duration::from_secs(10));
    world
        .deliver(&task, &crate::world::Kind::DeepCleer.end("rid-1", world.now()))
        .await
        .unwrap();
    let history = History {
        store: world.store.clone(),
        archive: archiver.archive.clone(),
        link_validity: Duration::from_secs(900),
    };
    let page = history.events("room-1", None, None).await.unwrap();
    let kinds: Vec<&str> = page.items.iter().map(|item| item.kind.as_str()).collect();
    assert_eq!(kinds, ["streamEnd", "segment"], "newest first");
    assert_eq!(page.items[0].evidence_state, "PENDING");
    let segment = &page.items[1];
    assert_eq!(segment.evidence_state, "ARCHIVED");
    assert_eq!(segment.objects.len(), 2);
    assert!(segment.objects.iter().all(|object| object.url.contains("valid=900")));
    for (limit, field) in [(Some("0"), "limit"), (Some("x"), "limit")] {
        let error = history.events("room-1", limit, None).await.unwrap_err();
        assert!(error.to_string().contains(field), "{error}");
    }
    let error = history.events("room-1", None, Some("forged")).await.unwrap_err();
    assert_eq!(errors::status(&error), 400);
    for bt_id in [String::new(), "b".repeat(129)] {
        let error = history.events(&bt_id, None, None).await.unwrap_err();
        assert_eq!(errors::status(&error), 400);
        assert!(error.to_string().contains("btId"), "{error}");
    }
}

#[tokio::test]
async fn a_retry_keeps_what_an_earlier_attempt_archived_without_fetching_again() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    // The first attempt wrote the audio, then failed before recording it;
    // by the retry, the provider's link has expired.
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Err(FetchError::Permanent("HTTP 403 (expired)".into())));
    let archiver = archiver_for(&world, fetcher);
    let audio_key = format!("{}audio.mp3", prefix("room-1", &event_id));
    archiver
        .archive
        .objects
        .lock()
        .unwrap()
        .insert(audio_key.clone(), (b"ID3 audio".to_vec(), "audio/mpeg".into()));
    let Archived::Done(evidence) = archiver.archive("room-1", &event_id).await.unwrap() else {
        panic!("archived")
    };
    assert_eq!(evidence.state, EvidenceState::Archived, "{evidence:?}");
    let audio = evidence
        .objects
        .iter()
        .find(|object| object.role == "audio")
        .expect("listed");
    assert_eq!((audio.key.as_str(), audio.bytes), (audio_key.as_str(), 9));
    assert!(archiver.fetcher.fetched().is_empty(), "not fetched again");
}

#[tokio::test]
async fn secrets_echoed_anywhere_in_a_result_are_not_kept() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let mut body = world.kind.segment("rid-1", 2, "REJECT", world.now());
    body["auxInfo"]["echo"] = serde_json::json!({"accessKey": crate::world::ACCESS_KEY, "token": "rtc-token-1"});
    world.deliver(&task, &body).await.unwrap();
    let event_id = world.kind.event_id("rid-1", 2);
    let archiver = archiver_for(&world, ScriptedFetcher::default());
    archiver.archive("room-1", &event_id).await.unwrap();
    let objects = archiver.archive.objects.lock().unwrap().clone();
    let document = String::from_utf8(objects[&format!("{}event.json", prefix("room-1", &event_id))].0.clone()).unwrap();
    assert!(document.contains("\"echo\""), "the rest is kept: {document}");
    for secret in [crate::world::ACCESS_KEY, "rtc-token-1"] {
        assert!(!document.contains(secret), "{secret}: {document}");
    }
}

#[tokio::test]
async fn a_batch_hands_back_what_might_not_fit_in_the_invocation() {
    let world = World::new(crate::world::Kind::DeepCleer).await;
    let task = world.active("room-1", "rid-1").await;
    let event_id = published(&world, &task, AUDIO).await;
    let fetcher = ScriptedFetcher::default();
    fetcher.answer(AUDIO, Ok(audio()));
    let archiver = archiver_for(&world, fetcher);
    let events: Vec<_> = ["1", "2", "3"]
        .iter()
        .map(|sequence| {
            streamguard_core::aws::streams::new_event(
                sequence,
                true,
                "STREAM#room-1",
                &format!("EVENT#{event_id}"),
                Some("segment"),
            )
            .unwrap()
        })
        .collect();
    let longest = archiver.policy.longest_event();
    let handed_back = streamguard_core::archiving::archiver_function(&archiver, &events, Some(longest)).await;
    assert_eq!(handed_back, ["2", "3"], "the first is always begun");
    assert_eq!(archiver.fetcher.fetched().len(), 1);
    let handed_back = streamguard_core::archiving::archiver_function(&archiver, &events, Some(longest * 4)).await;
    assert!(handed_back.is_empty(), "all fit: {handed_back:?}");
    assert_eq!(archiver.fetcher.fetched().len(), 1, "archived once");
}

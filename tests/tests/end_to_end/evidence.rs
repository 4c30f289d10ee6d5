//! The evidence archive end to end: a REJECT published by the callback is
//! archived from the table's stream (moto's) into the bucket (moto's S3),
//! once however often the stream delivers it; a fetch that keeps failing is
//! retried, then marked and counted, the text and labels archived anyway;
//! nothing secret reaches `event.json`; the history lists the event with
//! links that work.

use e2e::{ACCESS_KEY, Stack, agora, stack};
use reqwest::Method;
use serde_json::{Value, json};

const RTC_TOKEN: &str = "agora-rtc-token-of-the-room-77";

/// Starts room-1 (asking for the audio before each segment too) with a
/// REJECT at segment 2, and waits until that REJECT is acknowledged; the
/// REJECT's event id.
async fn rejected(stack: &Stack) -> String {
    stack
        .scenario(json!({"segments": [{"btId": "room-1", "segment": 2, "riskLevel": "REJECT", "text": "bad words"}]}))
        .await;
    let mut body = agora("room-1");
    body["data"]["returnPreAudio"] = json!(1);
    body["data"]["agoraParam"]["token"] = json!(RTC_TOKEN);
    body["data"]["agoraParam"]["uid"] = json!(7);
    let (status, task) = stack.start(&body).await;
    assert_eq!(status, 201, "{task}");
    let segment = format!("{}_2", task["requestId"].as_str().unwrap());
    stack
        .sim_wait("deliveries", &format!("callbackId={segment}&acknowledged=true"), 1)
        .await;
    format!("deepcleer:{segment}")
}

async fn object(stack: &Stack, key: &str) -> Vec<u8> {
    stack
        .s3
        .get_object()
        .bucket(&stack.evidence_bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|error| panic!("{key}: {error:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

#[tokio::test]
async fn a_reject_is_archived_once_however_often_the_stream_delivers_it() {
    let stack = stack().await;
    let event_id = rejected(&stack).await;
    let prefix = streamguard_core::domain::evidence::prefix("room-1", &event_id);

    // The first delivery fails after the objects are written (the record of
    // the evidence cannot be written): the stream delivers it again.
    let archiver = &stack.proxies[4];
    archiver.take_down("DynamoDB_20120810.UpdateItem");
    assert_eq!(stack.archive().await, 1);
    archiver.bring_up();
    assert_eq!(stack.archive().await, 1, "delivered again");
    // A redelivery long after (a new reader of the whole stream) finds it done.
    let stack_again = stack.archive_from_the_start().await;
    assert!(stack_again >= 1);

    let archived = stack.archived().await;
    let ours: Vec<(&String, &usize)> = archived.iter().filter(|(key, _)| key.starts_with(&prefix)).collect();
    let names: Vec<&str> = ours.iter().map(|(key, _)| key.trim_start_matches(&prefix)).collect();
    assert_eq!(names, ["audio.mp3", "event.json", "pre-audio.mp3"], "{archived:?}");
    assert!(
        ours.iter().all(|(_, versions)| **versions == 1),
        "each written once: {ours:?}"
    );
    let audio = object(&stack, &format!("{prefix}audio.mp3")).await;
    assert!(audio.starts_with(b"ID3"), "the segment's audio");
    let fetches = stack.sim("requests?kind=audio").await.1["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        fetches, 2,
        "each link fetched once: the second delivery finds what the first kept"
    );
}

#[tokio::test]
async fn nothing_secret_reaches_the_archive() {
    let stack = stack().await;
    let event_id = rejected(&stack).await;
    stack.archive().await;
    let prefix = streamguard_core::domain::evidence::prefix("room-1", &event_id);
    let document = String::from_utf8(object(&stack, &format!("{prefix}event.json")).await).unwrap();
    for secret in [ACCESS_KEY, RTC_TOKEN, e2e::CALLBACK_KEY] {
        assert!(!document.contains(secret), "{secret} in event.json: {document}");
    }
    assert!(!document.contains("/callbacks/"), "no callback token");
    let json: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(json["event"]["eventId"], event_id.as_str());
    assert_eq!(json["event"]["riskLevel"], "REJECT");
    assert_eq!(json["event"]["audioText"], "bad words");
    assert_eq!(
        json["providerResult"]["audioDetail"]["riskLevel"], "REJECT",
        "what the provider sent"
    );
    assert!(
        json["providerResult"].get("requestParams").is_none(),
        "its echo of the start is left out"
    );
}

#[tokio::test]
async fn a_fetch_that_keeps_failing_is_retried_then_marked_and_counted() {
    let stack = stack().await;
    stack
        .fault(json!({"fault": "code", "code": 503, "api": "audio", "times": 100}))
        .await;
    let event_id = rejected(&stack).await;
    let (_, lines) = streamguard_core::metrics::captured(stack.archive()).await;
    assert!(
        lines.iter().any(|line| line.contains("\"EvidenceFetchFailures\"")),
        "counted: {lines:?}"
    );
    let fetches = stack.sim("requests?kind=audio").await.1["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(fetches, 6, "two links, three attempts each");

    let (status, history) = stack.send(Method::GET, "/streams/room-1/events", None).await;
    assert_eq!(status, 200, "{history}");
    let item = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["eventId"] == event_id.as_str())
        .expect("listed");
    assert_eq!(item["evidenceState"], "AUDIO_FAILED");
    assert!(item["evidenceFailure"].as_str().unwrap().contains("503"), "{item}");
    let roles: Vec<&str> = item["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|object| object["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["event"], "the text and labels are archived anyway");
}

#[tokio::test]
async fn the_history_lists_events_newest_first_with_links_that_work() {
    let stack = stack().await;
    let event_id = rejected(&stack).await;
    let (status, before) = stack.send(Method::GET, "/streams/room-1/events", None).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["items"][0]["evidenceState"], "PENDING", "not archived yet");
    stack.archive().await;
    assert_eq!(stack.close("room-1").await.0, 200);
    stack
        .sim_wait("deliveries", "btId=room-1&kind=streamEnd&acknowledged=true", 1)
        .await;

    let (status, history) = stack.send(Method::GET, "/streams/room-1/events?limit=1", None).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["items"][0]["kind"], "streamEnd", "newest first");
    let cursor = history["cursor"].as_str().expect("more pages");
    let (_, next) = stack
        .send(
            Method::GET,
            &format!("/streams/room-1/events?limit=1&cursor={}", urlencoded(cursor)),
            None,
        )
        .await;
    crate::openapi::assert_fits("HistoryPage", &history);
    crate::openapi::assert_fits("HistoryPage", &next);
    let item = &next["items"][0];
    assert_eq!(item["eventId"], event_id.as_str());
    assert_eq!(item["evidenceState"], "ARCHIVED");
    for object in item["objects"].as_array().unwrap() {
        let url = object["url"].as_str().unwrap();
        let answer = stack.http.get(url).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{url}");
        let bytes = answer.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, object["bytes"].as_u64().unwrap(), "{url}");
    }
    let (status, error) = stack
        .send(Method::GET, "/streams/room-1/events?cursor=forged", None)
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["problems"][0]["field"], "cursor");
    crate::openapi::assert_fits("Error", &error);
}

fn urlencoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

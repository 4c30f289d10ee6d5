//! `demo`: drives one stream through a running local stack and shows each
//! step (what `scripts/local demo` runs once the stack is up). Reads
//! API_URL, QUEUE_URL and SIMULATOR_URL from the environment.

use serde_json::{Value, json};
use simulator::ControlClient;
use std::time::Duration;
use streamguard_wire::event::{EventBody, QueueEvent};

/// How long the simulator may take to deliver what a step waits for.
const WAIT: Duration = Duration::from_secs(60);

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let api = env("API_URL")?;
    let queue_url = env("QUEUE_URL")?;
    let simulator = env("SIMULATOR_URL")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build()?;
    let control = ControlClient::new(simulator, http.clone());
    let sqs = aws_sdk_sqs::Client::new(&streamguard_core::app::aws_config().await);
    let bt_id = format!("demo-room-{}", std::process::id());

    step(1, "the simulated DeepCleer will hear a violation in segment 3");
    let scenario = json!({"segments": [{"btId": bt_id, "segment": 3, "riskLevel": "REJECT", "riskLabel1": "abuse",
                                        "riskLabel2": "insult", "text": "you are an idiot"}]});
    control.put_scenario(&scenario).await?;

    step(2, &format!("POST {api}/streams (btId {bt_id}, an Agora room)"));
    let body = json!({"type": "POLITY_DIRTY", "data": {"tokenId": "user-42", "btId": bt_id, "streamType": "AGORA",
                      "returnAllText": 1, "agoraParam": {"appId": "agora-app", "channel": "demo-channel"}}});
    let response = http.post(format!("{api}/streams")).json(&body).send().await?;
    let status = response.status();
    let task: Value = response.json().await?;
    println!("   {status}: status {} requestId {}", task["status"], task["requestId"]);
    if status != 201 {
        return Err(format!("start answered {status}: {task}").into());
    }
    let request_id = task["requestId"].as_str().unwrap_or_default().to_owned();

    step(3, "segments arrive at the callback function, one every 10 s of stream");
    let deliveries = control
        .wait_items(
            "deliveries",
            &format!("btId={bt_id}&kind=segment&acknowledged=true"),
            4,
            WAIT,
        )
        .await?;
    let mut segments: Vec<&Value> = deliveries.iter().collect();
    segments.sort_by_key(|delivery| {
        delivery["callbackId"]
            .as_str()
            .and_then(|id| id.rsplit('_').next()?.parse::<u32>().ok())
    });
    for delivery in segments.iter().take(4) {
        let detail = &delivery["body"]["audioDetail"];
        println!(
            "   {} {:<6} {} (acknowledged on attempt {})",
            delivery["callbackId"].as_str().unwrap_or_default(),
            detail["riskLevel"].as_str().unwrap_or_default(),
            detail["audioText"],
            delivery["acknowledgedOn"]
        );
    }

    step(4, "the REJECT, read back from the SQS queue");
    let event = receive_one(&sqs, &queue_url).await?;
    let EventBody::Segment(segment) = &event.body else {
        return Err("expected a segment event".into());
    };
    println!(
        "   eventId {}  btId {}  riskLevel {}  labels {:?}/{:?}",
        event.event_id,
        event.bt_id.as_deref().unwrap_or("-"),
        segment.risk_level,
        segment.risk_label1.as_deref().unwrap_or("-"),
        segment.risk_label2.as_deref().unwrap_or("-")
    );
    println!(
        "   text {:?}  audio {}",
        segment.audio_text.as_deref().unwrap_or(""),
        segment.audio_url.as_deref().unwrap_or("-")
    );
    if event.event_id != format!("deepcleer:{request_id}_3") {
        return Err(format!("unexpected event {}", event.event_id).into());
    }

    step(5, &format!("POST {api}/streams/{bt_id}/close"));
    let response = http.post(format!("{api}/streams/{bt_id}/close")).send().await?;
    let status = response.status();
    let closed: Value = response.json().await?;
    println!("   {status}: status {}", closed["task"]["status"]);

    step(6, "the stream-end callback ends the task and is published too");
    control
        .wait_items(
            "deliveries",
            &format!("btId={bt_id}&kind=streamEnd&acknowledged=true"),
            1,
            WAIT,
        )
        .await?;
    let end = receive_one(&sqs, &queue_url).await?;
    if let EventBody::StreamEnd(end_event) = &end.body {
        println!(
            "   eventId {}  endReason {}  streamTime {:?}",
            end.event_id, end_event.end_reason, end_event.stream_time
        );
    }
    let stored: Value = http.get(format!("{api}/streams/{bt_id}")).send().await?.json().await?;
    println!(
        "   GET /streams/{bt_id}: status {} rejectCount {} segmentsSeen {}",
        stored["status"], stored["rejectCount"], stored["segmentsSeen"]
    );
    if stored["status"] != "ENDED" || stored["rejectCount"] != 1 {
        return Err(format!("unexpected final state {stored}").into());
    }

    step(
        7,
        "the REJECT's evidence, archived from the table's stream into the bucket",
    );
    let archived = archived_evidence(&http, &api, &bt_id, &event.event_id).await?;
    for object in archived["objects"].as_array().into_iter().flatten() {
        let url = object["url"].as_str().unwrap_or_default();
        let fetched = http.get(url).send().await?;
        let status = fetched.status();
        let bytes = fetched.bytes().await?.len();
        println!(
            "   {:<9} {}  ({} bytes; its link answers {status} with {bytes})",
            object["role"].as_str().unwrap_or_default(),
            object["key"].as_str().unwrap_or_default(),
            object["bytes"]
        );
        if !status.is_success() {
            return Err(format!("the link to {} answered {status}", object["key"]).into());
        }
    }
    println!("\ndemo complete: one stream, one REJECT on the queue and in the archive, closed and ended.");
    Ok(())
}

/// The history's entry for `event_id` once the archiver (fed by the dev
/// server every second) has archived it; the archiver works in the
/// background, so this asks the history every quarter second, up to WAIT.
async fn archived_evidence(
    http: &reqwest::Client,
    api: &str,
    bt_id: &str,
    event_id: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let history: Value = http
            .get(format!("{api}/streams/{bt_id}/events"))
            .send()
            .await?
            .json()
            .await?;
        let entry = history["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["eventId"] == event_id)
            .cloned();
        match entry {
            Some(entry) if entry["evidenceState"] == "ARCHIVED" => return Ok(entry),
            Some(entry) if entry["evidenceState"] != "PENDING" => {
                return Err(format!("the evidence was not archived whole: {entry}").into());
            }
            _ if tokio::time::Instant::now() > deadline => {
                return Err(format!("no evidence for {event_id} within {WAIT:?}: {history}").into());
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn step(number: u32, what: &str) {
    println!("\n{number}. {what}");
}

/// Receives (long-polling) and deletes one event.
async fn receive_one(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<QueueEvent, Box<dyn std::error::Error>> {
    for _ in 0..10 {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(2)
            .send()
            .await?;
        if let Some(message) = output.messages().first() {
            let event: QueueEvent = serde_json::from_str(message.body().unwrap_or_default())?;
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
            return Ok(event);
        }
    }
    Err("no message arrived on the queue".into())
}

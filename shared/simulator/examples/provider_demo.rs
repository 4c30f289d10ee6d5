//! What `scripts/local demo` shows until the functions land: one stream
//! through the simulated DeepCleer, with one scripted REJECT, a close and the
//! stream end, as a backend's callback endpoint would see them.

use serde_json::json;
use simulator::receiver::CallbackReceiver;
use simulator::{Config, Simulator};
use std::time::Duration;
use wire::deepcleer::{Callback, CallbackKind};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::for_tests("local-access-key");
    config.time_scale = 60.0;
    config.scenario = serde_json::from_value(json!({
        "segments": [{"btId": "demo-room", "segment": 3, "riskLevel": "REJECT", "riskLabel1": "abuse", "text": "you are an idiot"}]
    }))?;
    let sim = Simulator::start(config).await?;
    let receiver = CallbackReceiver::start().await?;
    let http = reqwest::Client::new();
    println!(
        "1. simulated DeepCleer at {} (time × 60: a 10 s segment every ~170 ms)",
        sim.url()
    );

    let request = json!({
        "accessKey": "local-access-key", "appId": "default", "eventId": "liveAudio", "type": "POLITY_DIRTY",
        "callback": receiver.url("/callback"),
        "data": {"tokenId": "user-1", "btId": "demo-room", "streamType": "AGORA", "returnAllText": 1, "returnFinishInfo": 1,
                 "agoraParam": {"appId": "agora-app", "channel": "demo"}}
    });
    let started: serde_json::Value = http
        .post(format!("{}/audiostream/v4", sim.url()))
        .json(&request)
        .send()
        .await?
        .json()
        .await?;
    let request_id = started["requestId"].as_str().ok_or("no requestId")?.to_owned();
    println!("2. started: code {} requestId {request_id}", started["code"]);

    let segments = receiver
        .wait_for(4, WAIT, |r| r.body["statCode"] == 0)
        .await
        .map_err(|_| "no segments")?;
    for received in &segments {
        let callback: Callback = serde_json::from_value(received.body.clone())?;
        if let CallbackKind::Segment(detail) = callback.kind() {
            let text = detail.audio_text.as_deref().unwrap_or_default();
            println!("3. segment {}: {} {text:?}", callback.request_id, detail.risk_level);
        }
    }

    let closed: serde_json::Value = http
        .post(format!("{}/finish_audiostream/v4", sim.url()))
        .json(&json!({"accessKey": "local-access-key", "requestId": request_id}))
        .send()
        .await?
        .json()
        .await?;
    println!("4. closed: code {}", closed["code"]);
    let end = receiver
        .wait_for(1, WAIT, |r| r.body["statCode"] == 1)
        .await
        .map_err(|_| "no stream end")?;
    println!("5. stream end: {}", end[0].body["auxInfo"]);
    println!("The functions (start, close, callback on DynamoDB and SQS) join this demo with issue 4.");
    sim.shutdown().await;
    Ok(())
}

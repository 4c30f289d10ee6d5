//! The local stack under load: many concurrent simulated streams, each
//! calling back every segment (`returnAllText` 1) with a REJECT every N-th,
//! against the functions' handlers in-process, moto server (DynamoDB, SQS)
//! and the simulator. Reports callbacks per second, callback latency as the
//! provider sees it, and whether every acknowledged REJECT became exactly one
//! event.

use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamguard_wire::event::{EventBody, QueueEvent};

#[derive(Debug, Clone)]
pub struct Settings {
    pub streams: usize,
    pub minutes: f64,
    /// A REJECT every this many segments.
    pub reject_every: u64,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// moto's URL.
    pub aws_endpoint: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub settings: Settings,
    pub callbacks: usize,
    pub wall_seconds: f64,
    pub callbacks_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub failed_attempts: usize,
    pub rejects_acknowledged: usize,
    pub reject_events: usize,
    pub lost: usize,
    pub duplicated: usize,
}

const ACCESS_KEY: &str = "bench-access-key";

pub async fn run(settings: Settings) -> Result<Report, String> {
    let direct = crate::moto_sdk(&settings.aws_endpoint).await;
    let name = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let provisioned = streamguard_core::aws::provision::provision(&direct, &name, &name).await?;

    let mut sim_config = simulator::Config::for_tests(ACCESS_KEY);
    sim_config.time_scale = settings.time_scale;
    sim_config.callback_backoff = Duration::from_secs(60);
    sim_config.scenario = serde_json::from_value(json!({
        "segments": [{"every": settings.reject_every, "riskLevel": "REJECT"}],
        "streams": [{"durationSecs": settings.minutes * 60.0}]
    }))
    .map_err(|error| error.to_string())?;
    let sim = simulator::Simulator::start(sim_config)
        .await
        .map_err(|error| error.to_string())?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| error.to_string())?;
    let api = format!("http://{}", listener.local_addr().map_err(|error| error.to_string())?);
    let env = streamguard_core::config::Env::from_pairs([
        ("TABLE_NAME", provisioned.table_name.clone()),
        ("QUEUE_URL", provisioned.queue_url.clone()),
        ("EVIDENCE_BUCKET", provisioned.evidence_bucket.clone()),
        ("DEEPCLEER_BASE_URL", sim.url()),
        ("DEEPCLEER_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("CALLBACK_TOKEN_KEY", crate::cpu::CALLBACK_TOKEN_KEY.to_owned()),
        ("CALLBACK_BASE_URL", api.clone()),
        ("DEFAULT_APP_ID", "default".to_owned()),
        ("DEFAULT_EVENT_ID", "liveAudio".to_owned()),
    ]);
    let functions = devserver::Functions::build(&env, &direct)
        .await
        .map_err(|error| error.to_string())?;
    let router = devserver::in_process(Arc::new(functions));
    let server = tokio::spawn(async move { devserver::serve(listener, router).await });
    let http = reqwest::Client::new();

    let began = Instant::now();
    for stream in 0..settings.streams {
        let body = json!({"type": "POLITY_DIRTY", "data": {"tokenId": "u", "btId": format!("load-{stream}"), "streamType": "AGORA",
                          "returnAllText": 1, "agoraParam": {"appId": "a", "channel": format!("load-{stream}")}}});
        let response = http
            .post(format!("{api}/streams"))
            .json(&body)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if response.status() != 201 {
            return Err(format!("start {stream} answered {}", response.status()));
        }
    }
    let streams = settings.streams;
    let all_ended = |inner: &simulator::state::Inner| {
        inner
            .deliveries
            .iter()
            .filter(|delivery| delivery.kind == "streamEnd" && delivery.acknowledged_on.is_some())
            .count()
            >= streams
    };
    let budget = Duration::from_secs_f64(settings.minutes * 60.0 / settings.time_scale * 4.0 + 120.0);
    if !sim.state().wait_until(budget, all_ended).await {
        return Err("not every stream ended in time".into());
    }
    let wall_seconds = began.elapsed().as_secs_f64();

    let (mut latencies, failed_attempts, rejects_acknowledged, callbacks) = {
        let inner = sim.state().read();
        let attempts = inner.deliveries.iter().flat_map(|delivery| delivery.attempts.iter());
        let latencies: Vec<f64> = attempts
            .clone()
            .filter(|a| a.status == Some(200))
            .map(|a| a.latency_ms)
            .collect();
        let failed = attempts.filter(|a| a.status != Some(200)).count();
        let rejects: HashSet<String> = inner
            .deliveries
            .iter()
            .filter(|d| d.acknowledged_on.is_some() && d.body["audioDetail"]["riskLevel"] == "REJECT")
            .map(|d| format!("deepcleer:{}", d.callback_id))
            .collect();
        (latencies, failed, rejects, inner.deliveries.len())
    };
    let events = drain(&aws_sdk_sqs::Client::new(&direct), &provisioned.queue_url).await?;
    let reject_ids: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Segment(_)))
        .map(|e| e.event_id.as_str())
        .collect();
    let unique: HashSet<&str> = reject_ids.iter().copied().collect();
    let lost = rejects_acknowledged
        .iter()
        .filter(|id| !unique.contains(id.as_str()))
        .count();
    server.abort();
    Ok(Report {
        callbacks,
        wall_seconds,
        callbacks_per_second: callbacks as f64 / wall_seconds,
        p50_ms: crate::quantile(&mut latencies, 0.5),
        p99_ms: crate::quantile(&mut latencies, 0.99),
        max_ms: crate::quantile(&mut latencies, 1.0),
        failed_attempts,
        rejects_acknowledged: rejects_acknowledged.len(),
        reject_events: unique.len(),
        lost,
        duplicated: reject_ids.len() - unique.len(),
        settings,
    })
}

/// Receives and deletes every message.
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<Vec<QueueEvent>, String> {
    let mut events = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(120)
            .send()
            .await
            .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(error).to_string())?;
        if output.messages().is_empty() {
            return Ok(events);
        }
        for message in output.messages() {
            events.push(serde_json::from_str(message.body().unwrap_or_default()).map_err(|error| error.to_string())?);
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|error| aws_sdk_sqs::error::DisplayErrorContext(error).to_string())?;
            }
        }
    }
}

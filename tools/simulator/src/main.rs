//! `simulator`: a local DeepCleer and Zego for development and tests.
//! `cargo run -p simulator -- --help` documents the options.

use clap::Parser;
use simulator::{Config, Scenario, Simulator, ZegoCredentials};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A local DeepCleer (ISHUMEI) and ZEGOCLOUD speaking the real wire protocol.
///
/// DeepCleer: POST /audiostream/v4, /finish_audiostream/v4, /finish_videostream/v4.
/// Zego: POST /?Action=StartCensorAudioV2|StopCensorAudioV2 (signed common parameters).
/// Control (scenario, faults, tasks, deliveries, requests): /_sim/…, see the README.
#[derive(Debug, Parser)]
#[command(name = "simulator", version)]
struct Args {
    /// Address to listen on (loopback unless --allow-non-loopback).
    #[arg(long, default_value = "127.0.0.1:8710", env = "SIMULATOR_LISTEN")]
    listen: SocketAddr,
    /// DeepCleer accessKey to accept (repeatable); any other is answered 9101.
    #[arg(
        long = "access-key",
        required = true,
        env = "SIMULATOR_ACCESS_KEY",
        value_delimiter = ','
    )]
    access_keys: Vec<String>,
    /// Simulated seconds per real second (600: a 10-minute stream in a second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Requests per second before answering 1901 (unlimited when absent).
    #[arg(long)]
    max_qps: Option<u32>,
    /// Concurrent running streams before answering 1901 (unlimited when absent).
    #[arg(long)]
    max_streams: Option<usize>,
    /// DeepCleer callback retry interval, simulated milliseconds.
    #[arg(long, default_value_t = 1000)]
    callback_backoff_ms: u64,
    /// Timeout of one callback POST, real milliseconds.
    #[arg(long, default_value_t = 5000)]
    callback_timeout_ms: u64,
    /// Timeout of one stream fetch for NORMAL http(s) streams, real milliseconds.
    #[arg(long, default_value_t = 5000)]
    pull_timeout_ms: u64,
    /// Scenario JSON file: per-segment verdicts and per-stream outcomes.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Zego AppId accepted by the Zego side.
    #[arg(long, env = "SIMULATOR_ZEGO_APP_ID")]
    zego_app_id: Option<u32>,
    /// Zego ServerSecret (API signatures).
    #[arg(long, env = "SIMULATOR_ZEGO_SERVER_SECRET", hide_env_values = true)]
    zego_server_secret: Option<String>,
    /// Zego callback secret (callback signatures).
    #[arg(long, env = "SIMULATOR_ZEGO_CALLBACK_SECRET", hide_env_values = true)]
    zego_callback_secret: Option<String>,
    /// Allow listening on, fetching from and calling back to non-loopback addresses.
    #[arg(long)]
    allow_non_loopback: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use tracing_subscriber::{filter::Targets, prelude::*};
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|setting| setting.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("simulator: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let scenario: Scenario = match &args.scenario {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        None => Scenario::default(),
    };
    let zego = match (args.zego_app_id, args.zego_server_secret, args.zego_callback_secret) {
        (Some(app_id), Some(server_secret), Some(callback_secret)) => Some(ZegoCredentials {
            app_id,
            server_secret,
            callback_secret,
        }),
        (None, None, None) => None,
        _ => return Err("--zego-app-id, --zego-server-secret and --zego-callback-secret go together".into()),
    };
    let config = Config {
        listen: args.listen,
        access_keys: args.access_keys,
        time_scale: args.time_scale,
        max_qps: args.max_qps,
        max_streams: args.max_streams,
        callback_backoff: Duration::from_millis(args.callback_backoff_ms),
        callback_timeout: Duration::from_millis(args.callback_timeout_ms),
        pull_timeout: Duration::from_millis(args.pull_timeout_ms),
        zego,
        scenario,
        allow_non_loopback: args.allow_non_loopback,
    };
    let simulator = Simulator::start(config).await?;
    println!("SIMULATOR_URL={}", simulator.url());
    tracing::info!(url = %simulator.url(), "simulator listening");
    simulator
        .serve_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

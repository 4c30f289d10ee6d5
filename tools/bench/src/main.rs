//! `bench`: the benchmarks (see the library docs); `scripts/bench` runs them all.

use bench::{coldstart, cpu, throughput};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "bench", about = "streamguard's benchmarks")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Cold starts of function binaries behind a Lambda Runtime API emulator (needs moto at AWS_ENDPOINT_URL).
    Coldstart {
        /// Directory holding the start, close and callback binaries (e.g. target/release).
        #[arg(long)]
        binaries: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// The callback's CPU work (or its floor) in a loop, for callgrind.
    Cpu {
        #[arg(long, value_parser = ["work", "floor"])]
        mode: String,
        /// `reference` (the documents' callback example, as the project's fixture) or a size in bytes (it padded to it).
        #[arg(long, default_value = "reference")]
        payload: String,
        #[arg(long)]
        iterations: u64,
    },
    /// The local stack under many concurrent streams (needs moto at AWS_ENDPOINT_URL).
    Throughput {
        #[arg(long, default_value_t = 200)]
        streams: usize,
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        #[arg(long, default_value_t = 20)]
        reject_every: u64,
        #[arg(long, default_value_t = 20.0)]
        time_scale: f64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn endpoint() -> Result<String, String> {
    std::env::var("AWS_ENDPOINT_URL").map_err(|_| "AWS_ENDPOINT_URL (moto server) is not set".to_owned())
}

async fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Coldstart { binaries, runs } => coldstarts(&binaries, runs).await,
        Command::Cpu {
            mode,
            payload,
            iterations,
        } => {
            let body = match payload.as_str() {
                "reference" => cpu::REFERENCE_CALLBACK.to_owned(),
                size => cpu::padded_callback(
                    cpu::REFERENCE_CALLBACK,
                    size.parse().map_err(|_| format!("{size} is not a size"))?,
                ),
            };
            let (key, token) = cpu::key_and_token();
            let now = time::OffsetDateTime::now_utc();
            let mut checksum = 0usize;
            for _ in 0..iterations {
                checksum = checksum.wrapping_add(match mode.as_str() {
                    "work" => cpu::callback_work(&key, std::hint::black_box(&token), std::hint::black_box(&body), now),
                    _ => cpu::floor(std::hint::black_box(&body)),
                });
            }
            println!(
                "mode={mode} payload_bytes={} iterations={iterations} checksum={checksum}",
                body.len()
            );
            Ok(())
        }
        Command::Throughput {
            streams,
            minutes,
            reject_every,
            time_scale,
        } => {
            let report = throughput::run(throughput::Settings {
                streams,
                minutes,
                reject_every,
                time_scale,
                aws_endpoint: endpoint()?,
            })
            .await?;
            println!(
                "| streams | minutes | callbacks | wall s | callbacks/s | p50 ms | p99 ms | max ms | failed attempts | REJECT acked | REJECT events | lost | duplicated |"
            );
            println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            println!(
                "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
                report.settings.streams,
                report.settings.minutes,
                report.callbacks,
                report.wall_seconds,
                report.callbacks_per_second,
                report.p50_ms,
                report.p99_ms,
                report.max_ms,
                report.failed_attempts,
                report.rejects_acknowledged,
                report.reject_events,
                report.lost,
                report.duplicated
            );
            if report.lost > 0 || report.duplicated > 0 {
                return Err(format!("{} REJECT lost, {} duplicated", report.lost, report.duplicated));
            }
            Ok(())
        }
    }
}

async fn coldstarts(binaries: &std::path::Path, runs: usize) -> Result<(), String> {
    let env = coldstart::environment(&endpoint()?).await?;
    let (_, token) = cpu::key_and_token();
    println!(
        "| function | first request | runs | ready p50 ms | ready max ms | of which AWS warm-up p50 ms | ready without warm-up p50 ms | first response p50 ms | peak RSS p50 MB | status |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for case in coldstart::cases(&token) {
        let (function, what) = (case.function, case.what);
        let binary = binaries.join(function);
        let mut ready = Vec::new();
        let mut warm_up = Vec::new();
        let mut own = Vec::new();
        let mut first = Vec::new();
        let mut rss = Vec::new();
        let mut status = 0;
        for run in 0..runs {
            let measured = coldstart::measure(&binary, &env, case.event(run)).await?;
            ready.push(measured.ready_ms);
            let warm_up_ms = measured
                .warm_up_ms
                .ok_or_else(|| format!("{function} logged no warm_up_ms"))?;
            warm_up.push(warm_up_ms);
            own.push(measured.ready_ms - warm_up_ms);
            first.push(measured.first_response_ms);
            rss.push(measured.peak_rss_kb as f64 / 1024.0);
            status = measured.status;
        }
        let ready_max = bench::quantile(&mut ready, 1.0);
        println!(
            "| {function} | {what} | {runs} | {:.1} | {ready_max:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {status} |",
            bench::quantile(&mut ready, 0.5),
            bench::quantile(&mut warm_up, 0.5),
            bench::quantile(&mut own, 0.5),
            bench::quantile(&mut first, 0.5),
            bench::quantile(&mut rss, 0.5)
        );
    }
    Ok(())
}

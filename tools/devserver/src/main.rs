//! `devserver`: the bundle's API on one local port (see the library docs).
//! Configuration comes from the same environment variables as the functions.

use clap::Parser;
use std::net::SocketAddr;
use std::sync::Arc;
use streamguard_core::config::Env;
use streamguard_core::ports::SystemClock;

/// The bundle's HTTP API locally: POST /streams, GET /streams/{btId},
/// POST /streams/{btId}/close, POST /requests/{requestId}/close, POST /callbacks/{token},
/// GET /streams, GET /streams/{btId}/events; the watchdog on a timer and the
/// archiver fed by the table's stream.
#[derive(Debug, Parser)]
#[command(name = "devserver", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: SocketAddr,
    /// Forward to `cargo lambda watch` at this URL instead of running the handlers in-process.
    #[arg(long)]
    lambda_runtime: Option<String>,
    /// Create table NAME and queues NAME-events.fifo / NAME-events-dlq.fifo first (moto,
    /// local runs) and use them; prints TABLE_NAME= and QUEUE_URL=.
    #[arg(long, value_name = "NAME")]
    provision: Option<String>,
    /// Run the watchdog this often (seconds), as the schedule does in AWS
    /// (every 60); 0 runs none (in-process mode only).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    watchdog_every: u64,
    /// Feed the archiver from the table's stream this often (milliseconds),
    /// as the event source mapping does in AWS; 0 feeds it never
    /// (in-process mode only).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    archive_every: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    streamguard_core::telemetry::init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devserver: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    let sdk = streamguard_core::app::aws_config().await;
    let mut provisioned = None;
    if let Some(name) = &args.provision {
        let created = streamguard_core::aws::provision::provision(&sdk, name, name).await?;
        println!("TABLE_NAME={}", created.table_name);
        println!("QUEUE_URL={}", created.queue_url);
        println!("EVIDENCE_BUCKET={}", created.evidence_bucket);
        provisioned = Some(created);
    }
    let router = match args.lambda_runtime {
        Some(runtime_url) => devserver::lambda_runtime(runtime_url),
        None => {
            let callback_base = format!("http://{address}");
            let env = Env::from_lookup(move |name| match (name, &provisioned) {
                ("TABLE_NAME", Some(created)) => Some(created.table_name.clone()),
                ("QUEUE_URL", Some(created)) => Some(created.queue_url.clone()),
                ("EVIDENCE_BUCKET", Some(created)) => Some(created.evidence_bucket.clone()),
                // The simulator serves its audio over plain http on loopback.
                ("EVIDENCE_ALLOW_HTTP", _) => std::env::var(name).ok().or_else(|| Some("true".into())),
                // Callbacks come back to this server unless told otherwise.
                ("CALLBACK_BASE_URL", _) => std::env::var(name).ok().or_else(|| Some(callback_base.clone())),
                _ => std::env::var(name).ok(),
            });
            if args.watchdog_every > 0 {
                let watchdog = streamguard_core::app::watchdog_service(&env, &sdk, SystemClock).await?;
                tokio::spawn(devserver::every(
                    watchdog,
                    std::time::Duration::from_secs(args.watchdog_every),
                ));
            }
            if args.archive_every > 0 {
                let archiver = streamguard_core::app::archiver_service(&env, &sdk).await?;
                let table = streamguard_core::config::table_name(&env)?;
                let feed = devserver::stream_feed::StreamFeed::open(&sdk, &table).await?;
                tokio::spawn(devserver::archive_every(
                    archiver,
                    feed,
                    std::time::Duration::from_millis(args.archive_every),
                ));
            }
            devserver::in_process(Arc::new(devserver::Functions::build(&env, &sdk).await?))
        }
    };
    println!("API_URL=http://{address}");
    devserver::serve(listener, router).await?;
    Ok(())
}

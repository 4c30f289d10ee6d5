//! `devserver`: the bundle's API on one local port (see the library docs).
//! Configuration comes from the same environment variables as the functions.

use clap::Parser;
use std::net::SocketAddr;
use std::sync::Arc;

/// The bundle's HTTP API locally: POST /streams, GET /streams/{btId},
/// POST /streams/{btId}/close, POST /requests/{requestId}/close, POST /callbacks/{token}.
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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    streamguard::telemetry::init();
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
    let sdk = streamguard::app::aws_config().await;
    let mut provisioned = None;
    if let Some(name) = &args.provision {
        let created = streamguard::provision::provision(&sdk, name, name).await?;
        println!("TABLE_NAME={}", created.table_name);
        println!("QUEUE_URL={}", created.queue_url);
        provisioned = Some(created);
    }
    let router = match args.lambda_runtime {
        Some(runtime_url) => devserver::lambda_runtime(runtime_url),
        None => {
            let mut config = streamguard::config::Config::from_lookup(|name| match (name, &provisioned) {
                ("TABLE_NAME", Some(created)) => Some(created.table_name.clone()),
                ("QUEUE_URL", Some(created)) => Some(created.queue_url.clone()),
                _ => std::env::var(name).ok(),
            })?;
            if config.callback_base_url.is_none() {
                config.callback_base_url = Some(format!("http://{address}"));
            }
            let functions = devserver::Functions {
                start: streamguard::app::control_service(&config, &sdk).await?,
                close: streamguard::app::control_service(&config, &sdk).await?,
                callback: streamguard::app::callback_service(&config, &sdk).await?,
                settings: streamguard::http::HttpSettings {
                    callback_base_url: config.callback_base_url.clone(),
                },
            };
            devserver::in_process(Arc::new(functions))
        }
    };
    println!("API_URL=http://{address}");
    devserver::serve(listener, router).await?;
    Ok(())
}

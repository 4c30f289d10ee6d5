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
    let router = match args.lambda_runtime {
        Some(runtime_url) => devserver::lambda_runtime(runtime_url),
        None => {
            let config = streamguard::config::Config::from_env()?;
            let sdk = streamguard::app::aws_config().await;
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

//! `history`: `GET /streams/{btId}/events`, a stream's published events with their evidence.
use lambda_http::{Error, run, service_fn};
use streamguard_core::{app, config::Env, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::history_service(&Env::process(), &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::history_function(&service, request))).await
}

//! `start`: `POST /streams` (submit a stream) and `GET /streams/{btId}`.
use lambda_http::{Error, run, service_fn};
use streamguard_core::{app, config::Env, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::start_service(&Env::process(), &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::start_function(&service, request))).await
}

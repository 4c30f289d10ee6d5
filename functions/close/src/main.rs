//! `close`: `POST /streams/{btId}/close` and `POST /requests/{requestId}/close`.
use lambda_http::{Error, run, service_fn};
use streamguard_core::{app, config::Env, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::close_service(&Env::process(), &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::close_function(&service, request))).await
}

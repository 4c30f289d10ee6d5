//! `close`: `POST /streams/{btId}/close` and `POST /requests/{requestId}/close`.
use lambda_http::{Error, run, service_fn};
use streamguard::{app, config::Config, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let service = app::control_service(&config, &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::close_function(&service, request))).await
}

//! `callback`: `POST /callbacks/{token}`, the public endpoint the provider calls.
use lambda_http::{Error, run, service_fn};
use streamguard::{app, config::Config, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let service = app::callback_service(&config, &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::callback_function(&service, request))).await
}

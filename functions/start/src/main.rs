//! `start`: `POST /streams` (submit a stream) and `GET /streams/{btId}`.
use lambda_http::{Error, run, service_fn};
use streamguard::{app, config::Config, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let service = app::control_service(&config, &app::lambda_aws_config()?).await?;
    let settings = http::HttpSettings {
        callback_base_url: config.callback_base_url.clone(),
    };
    run(service_fn(|request| http::start_function(&service, &settings, request))).await
}

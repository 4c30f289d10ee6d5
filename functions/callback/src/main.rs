//! `callback`: `POST /callbacks/{token}`, the public endpoint the provider calls.
use lambda_http::{Error, run, service_fn};
use streamguard_core::{app, config::Env, http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::callback_service(&Env::process(), &app::lambda_aws_config()?).await?;
    run(service_fn(|request| http::callback_function(&service, request))).await
}

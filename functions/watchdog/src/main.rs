//! `watchdog`: one pass over the open tasks, every minute (EventBridge).
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use streamguard_core::ports::SystemClock;
use streamguard_core::{app, config::Env, scheduled, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::watchdog_service(&Env::process(), &app::lambda_aws_config()?, SystemClock).await?;
    run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        scheduled::watchdog_function(&service).await.map_err(Error::from)
    }))
    .await
}

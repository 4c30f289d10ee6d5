//! `consumer`: an example SQS-triggered consumer of streamguard's events.
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_target(false)
        .init();
    run(service_fn(
        |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
            Ok::<_, Error>(consumer::handle(event.payload))
        },
    ))
    .await
}

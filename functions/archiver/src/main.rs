//! `archiver`: keeps every published segment's evidence, fed by the table's stream.
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use streamguard_core::{app, archiving, aws::streams, config::Env, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = app::archiver_service(&Env::process(), &app::lambda_aws_config()?).await?;
    run(service_fn(|event: LambdaEvent<Event>| {
        let events = streams::new_events(&event.payload);
        let time_left = archiving::time_left(event.context.deadline);
        let service = &service;
        async move { respond(archiving::archiver_function(service, &events, Some(time_left)).await) }
    }))
    .await
}

/// The sequence numbers of the failed records, as Lambda reads them back.
fn respond(failed: Vec<String>) -> Result<DynamoDbEventResponse, Error> {
    let mut response = DynamoDbEventResponse::default();
    for sequence in failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

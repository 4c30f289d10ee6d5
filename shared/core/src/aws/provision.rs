//! Creates the table and the queues as `template.yaml` declares them, for the
//! local run and the end-to-end tests (moto server). In AWS, CloudFormation
//! does this.

use super::dynamo::{EVENTS_INDEX, OPEN_INDEX, REQUEST_ID_INDEX};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

/// Names of what was created.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub table_name: String,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    /// The evidence archive's bucket (versioned, as the template's).
    pub evidence_bucket: String,
}

fn attribute(name: &str) -> AttributeDefinition {
    typed_attribute(name, ScalarAttributeType::S)
}

fn typed_attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("complete")
}

/// What the history's index keeps of an event record: what it shows, not
/// the provider's result (the archive has it).
pub const EVENTS_INDEX_ATTRIBUTES: [&str; 10] = [
    "eventId",
    "ofRequestId",
    "kind",
    "riskLevel",
    "publishedAt",
    "event",
    "evidenceState",
    "evidenceObjects",
    "evidenceFailure",
    "archivedAt",
];

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("complete")
}

/// Creates the table (`pk`/`sk`, indexes `byRequestId`, `byOpen` and
/// `byPublished`, TTL on `ttl`, a stream of new images), the evidence bucket
/// `<prefix>-evidence` (versioned) and the
/// FIFO queue `<prefix>-events.fifo` with its dead-letter queue.
pub async fn provision(
    sdk: &aws_config::SdkConfig,
    table_name: &str,
    queue_prefix: &str,
) -> Result<Provisioned, String> {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let index = GlobalSecondaryIndex::builder()
        .index_name(REQUEST_ID_INDEX)
        .key_schema(key("requestId", KeyType::Hash))
        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
        .build()
        .map_err(|error| error.to_string())?;
    let open_index = GlobalSecondaryIndex::builder()
        .index_name(OPEN_INDEX)
        .key_schema(key("openShard", KeyType::Hash))
        .key_schema(key("createdAt", KeyType::Range))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|error| error.to_string())?;
    let events_index = GlobalSecondaryIndex::builder()
        .index_name(EVENTS_INDEX)
        .key_schema(key("eventsOf", KeyType::Hash))
        .key_schema(key("publishedAtMs", KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(EVENTS_INDEX_ATTRIBUTES.map(str::to_owned).to_vec()))
                .build(),
        )
        .build()
        .map_err(|error| error.to_string())?;
    dynamo
        .create_table()
        .table_name(table_name)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("requestId"))
        .attribute_definitions(attribute("openShard"))
        .attribute_definitions(attribute("createdAt"))
        .attribute_definitions(attribute("eventsOf"))
        .attribute_definitions(typed_attribute("publishedAtMs", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(index)
        .global_secondary_indexes(open_index)
        .global_secondary_indexes(events_index)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(|error| error.to_string())?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|error| format!("create table: {}", aws_sdk_dynamodb::error::DisplayErrorContext(error)))?;
    dynamo
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|error| format!("enable TTL: {}", aws_sdk_dynamodb::error::DisplayErrorContext(error)))?;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let fifo = |name: String| {
        sqs.create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
    };
    let dead_letter = fifo(format!("{queue_prefix}-events-dlq.fifo"))
        .send()
        .await
        .map_err(|error| format!("create DLQ: {}", aws_sdk_sqs::error::DisplayErrorContext(error)))?;
    let dead_letter_queue_url = dead_letter.queue_url.unwrap_or_default();
    let dead_letter_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letter_queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|error| format!("read DLQ ARN: {}", aws_sdk_sqs::error::DisplayErrorContext(error)))?
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({ "deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5 }).to_string();
    let queue = fifo(format!("{queue_prefix}-events.fifo"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .map_err(|error| format!("create queue: {}", aws_sdk_sqs::error::DisplayErrorContext(error)))?;
    let s3 = aws_sdk_s3::Client::new(sdk);
    let evidence_bucket = format!("{}-evidence", queue_prefix.to_ascii_lowercase());
    s3.create_bucket()
        .bucket(&evidence_bucket)
        .send()
        .await
        .map_err(|error| format!("create bucket: {}", aws_sdk_s3::error::DisplayErrorContext(error)))?;
    s3.put_bucket_versioning()
        .bucket(&evidence_bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|error| format!("version the bucket: {}", aws_sdk_s3::error::DisplayErrorContext(error)))?;
    Ok(Provisioned {
        table_name: table_name.to_owned(),
        queue_url: queue.queue_url.unwrap_or_default(),
        dead_letter_queue_url,
        evidence_bucket,
    })
}

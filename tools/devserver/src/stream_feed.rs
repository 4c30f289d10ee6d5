//! The table's stream, fed to the archiver as Lambda's event source mapping
//! does in AWS: every new record, in order per shard; a batch the archiver
//! reports failed from some record on is read again from that record.
//! Locally the stream is moto's; the dev server feeds it on a timer and the
//! end-to-end tests feed it when they choose.

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, ShardIteratorType};
use std::collections::HashMap;
use streamguard_core::app::ArchiverService;
use streamguard_core::aws::streams::{NewEvent, new_event};

/// Where reading each shard goes on.
pub struct StreamFeed {
    client: Client,
    stream_arn: String,
    /// Each shard's next iterator (`None` once the shard is closed and read).
    iterators: HashMap<String, Option<String>>,
}

fn text(image: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    image.get(name)?.as_s().ok().cloned()
}

impl StreamFeed {
    /// The stream of `table`, read from its oldest record.
    pub async fn open(sdk: &aws_config::SdkConfig, table: &str) -> Result<Self, String> {
        let described = aws_sdk_dynamodb::Client::new(sdk)
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|error| {
                format!(
                    "describe table: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(error)
                )
            })?;
        let stream_arn = described
            .table()
            .and_then(|table| table.latest_stream_arn())
            .ok_or("the table has no stream")?
            .to_owned();
        Ok(StreamFeed {
            client: Client::new(sdk),
            stream_arn,
            iterators: HashMap::new(),
        })
    }

    async fn iterator(&self, shard: &str, kind: ShardIteratorType, sequence: Option<&str>) -> Result<String, String> {
        self.client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence.map(str::to_owned))
            .send()
            .await
            .map_err(|error| {
                format!(
                    "shard iterator: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(error)
                )
            })?
            .shard_iterator()
            .map(str::to_owned)
            .ok_or_else(|| "no shard iterator".to_owned())
    }

    /// Reads every shard's new records and hands the archiver their new
    /// segment events; the number of events handed over.
    pub async fn feed(&mut self, archiver: &ArchiverService) -> Result<usize, String> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await
            .map_err(|error| {
                format!(
                    "describe stream: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(error)
                )
            })?;
        let shards: Vec<String> = described
            .stream_description()
            .map(|description| {
                description
                    .shards()
                    .iter()
                    .filter_map(|shard| shard.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut handed = 0;
        for shard in shards {
            let iterator = match self.iterators.get(&shard) {
                Some(None) => continue,
                Some(Some(iterator)) => iterator.clone(),
                None => self.iterator(&shard, ShardIteratorType::TrimHorizon, None).await?,
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .map_err(|error| {
                    format!(
                        "get records: {}",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(error)
                    )
                })?;
            let events: Vec<NewEvent> = output
                .records()
                .iter()
                .filter_map(|record| {
                    let change = record.dynamodb()?;
                    let keys = change.keys()?;
                    new_event(
                        change.sequence_number().unwrap_or_default(),
                        record.event_name() == Some(&OperationType::Insert),
                        &text(keys, "pk")?,
                        &text(keys, "sk")?,
                        change.new_image().and_then(|image| text(image, "kind")).as_deref(),
                    )
                })
                .collect();
            handed += events.len();
            let failed = streamguard_core::archiving::archiver_function(archiver, &events, None).await;
            let next = match failed.first() {
                // Read again from the first event that failed, as Lambda does.
                Some(sequence) => Some(
                    self.iterator(&shard, ShardIteratorType::AtSequenceNumber, Some(sequence))
                        .await?,
                ),
                None => output.next_shard_iterator().map(str::to_owned),
            };
            self.iterators.insert(shard, next);
        }
        Ok(handed)
    }
}

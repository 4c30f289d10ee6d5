//! The AWS adapters: the task table on DynamoDB ([`dynamo`]), the event
//! queue on SQS ([`sqs`]), the evidence archive on S3 ([`s3`]), the records
//! of the table's stream the archiver reads ([`streams`]), and the table,
//! queues and bucket for local runs and tests ([`provision`]).

pub mod dynamo;
pub mod provision;
pub mod s3;
pub mod sqs;
pub mod streams;

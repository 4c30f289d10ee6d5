//! The AWS adapters: the task table on DynamoDB ([`dynamo`]), the event
//! queue on SQS ([`sqs`]), and the table and queues for local runs and
//! tests ([`provision`]).

pub mod dynamo;
pub mod provision;
pub mod sqs;

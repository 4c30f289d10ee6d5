//! Implementations of [`crate::ports`].

pub mod deepcleer;
pub mod dynamo;
pub mod memory;
pub mod null;
pub mod sqs;

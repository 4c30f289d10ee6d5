//! Implementations of [`crate::ports`].

pub mod deepcleer;
pub mod dynamo;
pub mod https;
pub mod memory;
pub mod null;
pub mod sqs;
#[cfg(test)]
mod test_peer;

//! streamguard's library: everything the functions run, so that `main.rs`
//! of each is a few lines and tests call the logic directly.
//!
//! - [`domain`]: the task lifecycle, idempotent start, close, and callbacks
//!   turned into queue events exactly once; one service per function. It
//!   names no provider, no AWS service and no HTTP, and knows the world only
//!   through
//! - [`ports`]: small traits, implemented by
//! - [`providers`]: DeepCleer and Zego (one module each, one registry line),
//! - [`aws`]: DynamoDB and SQS, over [`https`], the one client stack,
//! - [`memory`]: in-memory fakes for unit tests.
//! - [`http`]: the route table, the handlers, and the one mapping of errors
//!   to statuses.
//! - [`config`], [`init`] and [`app`]: configuration read once at cold
//!   start, secrets from SSM, each function's service built once.
//! - [`metrics`] and [`telemetry`]: CloudWatch Embedded Metric Format lines
//!   and structured logs.

pub mod app;
pub mod archiving;
pub mod aws;
pub mod config;
pub mod conformance;
pub mod domain;
pub mod fetch;
pub mod functions;
pub mod http;
pub mod https;
pub mod init;
pub mod memory;
pub mod metrics;
pub mod ports;
pub mod providers;
pub mod scheduled;
pub mod telemetry;
#[cfg(test)]
mod test_peer;

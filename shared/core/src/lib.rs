//! streamguard's library: everything the three functions run, so that
//! `main.rs` of each is a few lines and tests call the logic directly.
//!
//! - [`domain`]: the task lifecycle, idempotent start, close, and callbacks
//!   turned into queue events exactly once. Knows the world only through
//! - [`ports`]: small traits, implemented by
//! - [`adapters`]: DynamoDB, SQS, DeepCleer over HTTP (and in-memory fakes).
//! - [`http`]: routes, body limits and the one mapping of errors to statuses.
//! - [`config`] and [`app`]: configuration read once at cold start, secrets
//!   from SSM, clients built once.
//! - [`metrics`]: CloudWatch Embedded Metric Format lines.
//! - [`provision`]: the table and queues for local runs and tests.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod ports;
pub mod provision;
pub mod telemetry;

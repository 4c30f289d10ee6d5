//! Structured JSON logs with `tracing`, configured once per process.
//! `LOG_LEVEL` (or `RUST_LOG`) sets the filter; the default is `info`.
//! Secrets never reach a log line: they are held in types whose `Debug`
//! redacts them, and no request or callback body is logged. Other crates'
//! logs are capped at `info` whatever the filter says: at `debug` and
//! `trace` the Lambda runtime logs whole events (tokens in paths, DeepCleer's
//! echo of the accessKey) and the AWS SDK whole responses (SSM's decrypted
//! parameters), which no setting may turn into log lines.

use crate::config::Env;
use crate::config::variables::{LOG_LEVEL, RUST_LOG};
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::prelude::*;

/// The most verbose level another crate's logs are kept at.
const OTHER_CRATES_MOST: Level = Level::INFO;

/// Whether a log line passes the cap: this project's at any level, another
/// crate's at [`OTHER_CRATES_MOST`] or less verbose.
pub fn within_cap(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("streamguard") || *metadata.level() <= OTHER_CRATES_MOST
}

/// Installs the JSON subscriber; call once at cold start. The filter is
/// `tracing_subscriber`'s `Targets` syntax (`info`, `warn,streamguard=debug`):
/// levels per target, without `EnvFilter`'s span and field matching, whose
/// regular-expression engine was 0.2 MB of every package. A filter that does
/// not parse is reported, and `info` is used.
pub fn init() {
    let env = Env::process();
    let setting = env
        .set(&LOG_LEVEL)
        .or_else(|| env.set(&RUST_LOG))
        .or_else(|| env.text(&LOG_LEVEL))
        .unwrap_or_default();
    let (filter, problem) = match setting.parse::<Targets>() {
        Ok(filter) => (filter, None),
        Err(error) => (Targets::new().with_default(Level::INFO), Some(error)),
    };
    let installed = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .without_time()
                .with_target(false)
                .with_filter(filter.and(filter_fn(within_cap))),
        )
        .try_init();
    if let (Ok(()), Some(error)) = (installed, problem) {
        tracing::error!(setting = %setting, %error, "LOG_LEVEL is not a log filter; logging at info");
    }
}

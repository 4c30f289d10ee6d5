//! Structured JSON logs with `tracing`, configured once per process.
//! `LOG_LEVEL` (or `RUST_LOG`) sets the filter; the default is `info`.
//! Secrets never reach a log line: they are held in types whose `Debug`
//! redacts them, and no request or callback body is logged.

use crate::config::Env;
use crate::config::variables::{LOG_LEVEL, RUST_LOG};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

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
                .with_filter(filter),
        )
        .try_init();
    if let (Ok(()), Some(error)) = (installed, problem) {
        tracing::error!(setting = %setting, %error, "LOG_LEVEL is not a log filter; logging at info");
    }
}

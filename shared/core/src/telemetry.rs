//! Structured JSON logs with `tracing`, configured once per process.
//! `LOG_LEVEL` (or `RUST_LOG`) sets the filter; the default is `info`.
//! Secrets never reach a log line: they are held in types whose `Debug`
//! redacts them, and no request or callback body is logged.

/// Installs the JSON subscriber; call once at cold start.
pub fn init() {
    let filter = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

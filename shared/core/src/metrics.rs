//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per
//! data point, which Lambda's log stream turns into CloudWatch metrics with
//! no API call on the request path. Namespace `streamguard`; every metric has
//! the dimension `Function`; a metric with more dimensions (`ProviderErrors`:
//! `Provider` and `Code`; `CallbackRejected`: `Status`) is also rolled up to
//! `Function` alone, so one alarm covers every value of the others.
//!
//! | metric | unit | emitted by |
//! |---|---|---|
//! | `EventsPublished` | Count | callback |
//! | `DuplicatesSuppressed` | Count | callback |
//! | `ForgedCallbacks` | Count | callback (401) |
//! | `CallbacksOnPreviousKey` | Count | callback: tokens signed by the previous key (a key rotation is complete once none comes) |
//! | `CallbackRejected` | Count | callback (any 4xx, by `Status`: a delivery the provider may give up on) |
//! | `CallbackErrors` | Count | callback (any 5xx: the provider will retry) |
//! | `ProviderErrors` | Count | start, close, watchdog: every failed provider call (`Provider`; `Code`: the provider's code, TIMEOUT, UNAVAILABLE) |
//! | `StartFailures` | Count | start (any 5xx) |
//! | `OpenRecords` | Count | watchdog, each run: open tasks and unstopped strays |
//! | `WatchdogFailures` | Count | watchdog, each run: findings that failed (retried next run) |
//! | `ClosesGivenUp` | Count | watchdog: closes let go after failing for `CLOSE_RETRY_SECS` (the stop unconfirmed) |
//! | `StaleStreams`, `EndsNotReceived`, `StraysStopped` | Count | watchdog, each run |
//! | `EvidenceArchived` | Count | archiver: events whose evidence was kept |
//! | `EvidenceFetchFailures` | Count | archiver: events whose audio could not be fetched (kept without it, marked `AUDIO_FAILED`) |
//! | `ArchiverErrors` | Count | archiver: batches stopped by the table or the archive failing (delivered again) |
//! | `StartLatency` | Milliseconds | start |

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "streamguard";

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF line for `name` = `value`, with the `Function` dimension and
/// `extra` ones (and, when there are extra ones, rolled up to `Function`).
pub fn line(function: &str, name: &str, unit: Unit, value: f64, extra: &[(&str, &str)], timestamp_ms: i64) -> String {
    let mut dimensions = vec![Value::from("Function")];
    let mut document = Map::new();
    document.insert("Function".into(), function.into());
    for (key, dimension_value) in extra {
        dimensions.push(Value::from(*key));
        document.insert((*key).into(), (*dimension_value).into());
    }
    document.insert(name.into(), value.into());
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": if extra.is_empty() { json!([dimensions]) } else { json!([["Function"], dimensions]) },
                "Metrics": [{ "Name": name, "Unit": unit.as_str() }]
            }]
        }),
    );
    Value::Object(document).to_string()
}

/// Whether to emit: inside Lambda (its log stream becomes metrics), or when
/// `STREAMGUARD_METRICS=emf` asks for them elsewhere. The local dev server,
/// the tests and the benchmarks run the handlers in-process and stay quiet.
fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
            || std::env::var("STREAMGUARD_METRICS").is_ok_and(|value| value == "emf")
    })
}

tokio::task_local! {
    /// Where [`captured`] collects the lines its future emits.
    static CAPTURE: std::cell::RefCell<Vec<String>>;
}

/// Runs `future`, collecting the metric lines it emits instead of writing
/// them (tests assert on what a flow counts).
pub async fn captured<F: std::future::Future>(future: F) -> (F::Output, Vec<String>) {
    CAPTURE
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let output = future.await;
            (output, CAPTURE.with(|lines| lines.take()))
        })
        .await
}

/// Writes one data point to stdout.
pub fn emit(function: &str, name: &str, unit: Unit, value: f64, extra: &[(&str, &str)]) {
    let capturing = CAPTURE.try_with(|_| ()).is_ok();
    if !capturing && !enabled() {
        return;
    }
    let now = time::OffsetDateTime::now_utc();
    let timestamp_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let line = line(function, name, unit, value, extra, timestamp_ms);
    if capturing {
        CAPTURE.with(|lines| lines.borrow_mut().push(line));
    } else {
        println!("{line}");
    }
}

/// Counts one occurrence.
pub fn count(function: &str, name: &str, extra: &[(&str, &str)]) {
    emit(function, name, Unit::Count, 1.0, extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let text = line(
            "callback",
            "EventsPublished",
            Unit::Count,
            1.0,
            &[("Kind", "segment")],
            1_790_000_000_000,
        );
        let document: Value = serde_json::from_str(&text).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(document["_aws"]["Timestamp"], 1_790_000_000_000i64);
        assert_eq!(directive["Namespace"], "streamguard");
        assert_eq!(directive["Dimensions"], json!([["Function"], ["Function", "Kind"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "EventsPublished", "Unit": "Count"}])
        );
        // Every dimension and metric named in the directive is a member of the document.
        assert_eq!(document["Function"], "callback");
        assert_eq!(document["Kind"], "segment");
        assert_eq!(document["EventsPublished"], 1.0);
        assert!(!text.contains('\n'), "one line per data point");
        let plain: Value = serde_json::from_str(&line("start", "StartFailures", Unit::Count, 1.0, &[], 0)).unwrap();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
    }
}

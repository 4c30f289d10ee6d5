//! The functions a schedule invokes (EventBridge, every minute), as the
//! HTTP handlers are for API Gateway: a handler never returns a failure it
//! could answer; a run that cannot read the table fails, and the next run
//! tries again.

use crate::domain::Watchdog;
use crate::domain::watchdog::Report;
use crate::metrics::{self, Unit};
use crate::ports::{Clock, EventQueue, TaskStore};

/// The `watchdog` function: one run over the open tasks (the event's content
/// is not used). Its report becomes metrics: the open records for the
/// dashboard, and what needs a person (findings that failed, closes given
/// up unconfirmed) for the alarms.
pub async fn watchdog_function<S: TaskStore, Q: EventQueue, C: Clock>(
    service: &Watchdog<S, Q, C>,
) -> Result<Report, crate::domain::Error> {
    let report = service
        .run()
        .await
        .inspect_err(|error| tracing::error!(%error, "watchdog run failed"))?;
    for (name, value) in [
        ("OpenRecords", report.open),
        ("WatchdogFailures", report.failures),
        ("ClosesGivenUp", report.closes_given_up),
        ("StaleStreams", report.stale),
        ("EndsNotReceived", report.ended),
        ("StraysStopped", report.strays_stopped),
    ] {
        metrics::emit("watchdog", name, Unit::Count, value as f64, &[]);
    }
    Ok(report)
}

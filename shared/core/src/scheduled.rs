//! The functions a schedule invokes (EventBridge, every minute), as the
//! HTTP handlers are for API Gateway: a handler never returns a failure it
//! could answer; a run that cannot read the table fails, and the next run
//! tries again.

use crate::domain::Watchdog;
use crate::domain::watchdog::Report;
use crate::ports::{Clock, EventQueue, TaskStore};

/// The `watchdog` function: one run over the open tasks (the event's content is not used).
pub async fn watchdog_function<S: TaskStore, Q: EventQueue, C: Clock>(
    service: &Watchdog<S, Q, C>,
) -> Result<Report, crate::domain::Error> {
    service
        .run()
        .await
        .inspect_err(|error| tracing::error!(%error, "watchdog run failed"))
}

//! The function the table's stream feeds (a DynamoDB event source mapping):
//! the archiver, over a batch of new segment events, in stream order. A
//! failure (the table or the archive failing) stops the batch: that record
//! and every later one are reported back, and the stream delivers them
//! again (what was archived before is found and left as it is).

use crate::aws::streams::NewEvent;
use crate::domain::Archiver;
use crate::domain::evidence::Archived;
use crate::domain::task::EvidenceState;
use crate::metrics;
use crate::ports::{Clock, EvidenceArchive, MediaFetcher, TaskStore};
use std::time::{Duration, Instant};

/// The sequence numbers to report as failed (`batchItemFailures`): the
/// first event that failed and every one after it. With `time_left` (the
/// invocation's), an event is begun only when it fits in what is left
/// ([`EvidencePolicy::longest_event`]); the first always is, so a batch
/// always moves on. The events not begun are handed back the same way.
///
/// [`EvidencePolicy::longest_event`]: crate::domain::policy::EvidencePolicy::longest_event
pub async fn archiver_function<S: TaskStore, A: EvidenceArchive, F: MediaFetcher, C: Clock>(
    service: &Archiver<S, A, F, C>,
    events: &[NewEvent],
    time_left: Option<Duration>,
) -> Vec<String> {
    let begun = Instant::now();
    let longest = service.policy.longest_event();
    let rest = |index: usize| events[index..].iter().map(|event| event.sequence.clone()).collect();
    for (index, event) in events.iter().enumerate() {
        if index > 0 && time_left.is_some_and(|left| begun.elapsed() + longest > left) {
            tracing::info!(
                handed_back = events.len() - index,
                "the rest of the batch might not fit in this invocation; the stream delivers it again"
            );
            return rest(index);
        }
        match service.archive(&event.bt_id, &event.event_id).await {
            Ok(Archived::Done(evidence)) => {
                metrics::count("archiver", "EvidenceArchived", &[]);
                if evidence.state == EvidenceState::AudioFailed {
                    metrics::count("archiver", "EvidenceFetchFailures", &[]);
                }
            }
            Ok(Archived::AlreadyDone | Archived::Nothing) => {}
            Err(error) => {
                tracing::error!(%error, bt_id = %event.bt_id, event_id = %event.event_id, "archiving failed; the stream delivers it again");
                metrics::count("archiver", "ArchiverErrors", &[]);
                return rest(index);
            }
        }
    }
    Vec::new()
}

/// What is left of an invocation whose deadline Lambda gives (milliseconds
/// since the epoch).
pub fn time_left(deadline_ms: u64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(deadline_ms).saturating_sub(now)
}

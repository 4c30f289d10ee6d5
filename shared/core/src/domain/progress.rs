//! PASS and REVIEW segments are counted without a write per segment: each
//! function instance writes a task's progress at most once per interval
//! (default a minute). The segment number in `<requestId>_<n>` is the
//! stream's own count, so a write carries the highest `n` seen and
//! nothing is lost between writes but the freshness of the figure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

/// Entries beyond this are pruned (oldest writes first).
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
pub struct ProgressGate {
    interval: Duration,
    last_write: Mutex<HashMap<String, OffsetDateTime>>,
}

impl ProgressGate {
    pub fn new(interval: Duration) -> Self {
        ProgressGate {
            interval,
            last_write: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `task_id`'s progress should be written now; if so, counts it as written.
    pub fn due(&self, task_id: &str, now: OffsetDateTime) -> bool {
        let mut last_write = self.last_write.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let due = last_write.get(task_id).is_none_or(|last| now - *last >= self.interval);
        if due {
            if last_write.len() >= MAX_TRACKED {
                let horizon = now - self.interval;
                last_write.retain(|_, last| *last > horizon);
            }
            last_write.insert(task_id.to_owned(), now);
        }
        due
    }

    /// Forgets a write that failed, so the next segment tries again.
    pub fn forget(&self, task_id: &str) {
        self.last_write
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(task_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_write_per_task_per_interval() {
        let gate = ProgressGate::new(Duration::from_secs(60));
        let start = OffsetDateTime::UNIX_EPOCH;
        let seconds = |s: i64| start + time::Duration::seconds(s);
        assert!(gate.due("a", seconds(0)));
        assert!(!gate.due("a", seconds(10)));
        assert!(!gate.due("a", seconds(59)));
        assert!(gate.due("b", seconds(59)), "tasks are independent");
        assert!(gate.due("a", seconds(60)));
        gate.forget("a");
        assert!(gate.due("a", seconds(61)), "a failed write is retried");
    }
}

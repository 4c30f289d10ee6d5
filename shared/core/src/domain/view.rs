//! What the API shows of a task.

use super::error::Error;
use super::task::Task;
use crate::ports::TaskStore;
use serde::Serialize;
use streamguard_wire::event::RiskLevel;

/// The task as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    /// Published REJECT segments (present on `GET /streams/{btId}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_count: Option<u64>,
}

impl From<Task> for TaskView {
    fn from(task: Task) -> Self {
        TaskView {
            task,
            reject_count: None,
        }
    }
}

/// The btId's task with its count of published REJECT segments.
pub async fn task_view<S: TaskStore>(store: &S, bt_id: &str) -> Result<TaskView, Error> {
    let task = store
        .get(bt_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no task for btId {bt_id}")))?;
    let reject_count = match task.segment_event_prefix() {
        Some(prefix) => {
            store
                .count_published(bt_id, &prefix, RiskLevel::Reject.as_str())
                .await?
        }
        None => 0,
    };
    Ok(TaskView {
        task,
        reject_count: Some(reject_count),
    })
}

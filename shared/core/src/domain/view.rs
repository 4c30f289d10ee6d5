//! What the API shows of tasks: one btId's current task, and the open
//! tasks, a page at a time.

use super::error::Error;
use super::events;
use super::task::{Open, Page, Task, TaskStatus};
use crate::ports::{OpenFilter, StoreError, TaskStore};
use serde::Serialize;
use streamguard_wire::event::RiskLevel;
use streamguard_wire::{Problem, Problems};

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

/// The btId's current task with its count of published REJECT segments.
pub async fn task_view<S: TaskStore>(store: &S, bt_id: &str) -> Result<TaskView, Error> {
    let task = store
        .current(bt_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no task for btId {bt_id}")))?;
    let reject_count = match &task.request_id {
        Some(request_id) => {
            let prefix = events::segment_prefix(task.provider, request_id);
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

/// The most items a page holds (the listing's, the history's), and the default.
pub const PAGE_LIMIT: usize = 100;
pub const PAGE_DEFAULT: usize = 50;

/// A request's mistake in one field.
pub(crate) fn invalid(field: &str, rule: String) -> Error {
    Error::Invalid(Problems(vec![Problem {
        field: field.into(),
        rule,
    }]))
}

/// A page's size from `?limit=`: [`PAGE_DEFAULT`] when absent.
pub(crate) fn page_limit(limit: Option<&str>) -> Result<usize, Error> {
    match limit {
        None => Ok(PAGE_DEFAULT),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=PAGE_LIMIT).contains(limit))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    format!("must be a whole number from 1 to {PAGE_LIMIT} (is {text:?})"),
                )
            }),
    }
}

/// A store's failure to read a page: a cursor it did not give is the
/// caller's mistake (`rule` says whose cursor it should have been).
pub(crate) fn page_error(error: StoreError, rule: &str) -> Error {
    match error {
        StoreError::BadCursor(_) => invalid("cursor", rule.to_owned()),
        other => other.into(),
    }
}

/// `GET /streams`: the open tasks (STARTING, ACTIVE, CLOSED), or those of one
/// of these statuses, a page at a time; the cursor is absent on the last page.
pub async fn list<S: TaskStore>(
    store: &S,
    status: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<Page<TaskView>, Error> {
    let open: Vec<&str> = TaskStatus::ALL
        .into_iter()
        .filter(|status| status.is_open())
        .map(TaskStatus::as_str)
        .collect();
    let status = match status {
        None => None,
        Some(text) => Some(
            TaskStatus::parse(text)
                .filter(|status| status.is_open() && status.as_str() == text)
                .ok_or_else(|| invalid("status", format!("must be one of {} (is {text:?})", open.join(", "))))?,
        ),
    };
    let limit = page_limit(limit)?;
    let filter = status.map_or(OpenFilter::Tasks, OpenFilter::Status);
    let page = store
        .open(filter, cursor, limit)
        .await
        .map_err(|error| page_error(error, "is not a cursor this API gave"))?;
    let items = page
        .items
        .into_iter()
        .filter_map(|item| match item {
            Open::Task(task) => Some(TaskView::from(*task)),
            Open::Stray(_) => None,
        })
        .collect();
    Ok(Page {
        items,
        cursor: page.cursor,
    })
}

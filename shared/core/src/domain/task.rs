//! A moderation task as streamguard keeps it: one per `btId`, the current one.

use super::provider::ProviderId;
use serde::Serialize;
use time::OffsetDateTime;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Written before the provider is called; holds the btId against a second submission.
    Starting,
    /// The provider accepted it (or already had the stream): `requestId` is known.
    Active,
    /// Close was accepted by the provider; the stream-end callback is awaited.
    Closing,
    /// The stream-end callback arrived.
    Ended,
    /// The provider refused the start; nothing runs.
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Starting => "STARTING",
            TaskStatus::Active => "ACTIVE",
            TaskStatus::Closing => "CLOSING",
            TaskStatus::Ended => "ENDED",
            TaskStatus::Failed => "FAILED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            TaskStatus::Starting,
            TaskStatus::Active,
            TaskStatus::Closing,
            TaskStatus::Ended,
            TaskStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == value)
    }

    /// Whether a new start for the btId begins a new task.
    pub fn is_over(self) -> bool {
        matches!(self, TaskStatus::Ended | TaskStatus::Failed)
    }
}

/// The stored task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub bt_id: String,
    /// streamguard's own id, carried (signed) in the callback URL.
    pub task_id: String,
    pub provider: ProviderId,
    pub status: TaskStatus,
    /// The provider's id of the task (or of the running task it adopted).
    pub request_id: Option<String>,
    /// `request_id` came from a duplicate answer (1001) rather than a fresh start.
    pub adopted_duplicate: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// While STARTING: after this, another start may take the task over.
    #[serde(with = "time::serde::rfc3339::option")]
    pub starting_expires_at: Option<OffsetDateTime>,
    pub start_attempts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub active_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closing_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The provider's stream-end code, when it sent one.
    pub end_code: Option<i64>,
    /// `FINISHED` or the end code's name.
    pub end_reason: Option<String>,
    pub stream_time: Option<i64>,
    /// Why the start failed (FAILED only).
    pub failure: Option<String>,
    /// Highest segment number seen (written at most once a minute per task and instance).
    pub segments_seen: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub progress_at: Option<OffsetDateTime>,
}

impl Task {
    /// A new STARTING task.
    pub fn starting(bt_id: &str, provider: ProviderId, now: OffsetDateTime, expires_at: OffsetDateTime) -> Self {
        Task {
            bt_id: bt_id.to_owned(),
            task_id: uuid::Uuid::new_v4().simple().to_string(),
            provider,
            status: TaskStatus::Starting,
            request_id: None,
            adopted_duplicate: false,
            created_at: now,
            updated_at: now,
            starting_expires_at: Some(expires_at),
            start_attempts: 1,
            active_at: None,
            closing_at: None,
            ended_at: None,
            end_code: None,
            end_reason: None,
            stream_time: None,
            failure: None,
            segments_seen: 0,
            progress_at: None,
        }
    }

    /// The prefix of this task's segment event ids (see [`super::events`]), for counting them.
    pub fn segment_event_prefix(&self) -> Option<String> {
        self.request_id
            .as_deref()
            .map(|request_id| super::events::segment_prefix(self.provider, request_id))
    }

    /// STARTING and its in-progress expiry has passed: the attempt failed or died.
    pub fn is_stale_start(&self, now: OffsetDateTime) -> bool {
        self.status == TaskStatus::Starting && self.starting_expires_at.is_none_or(|expiry| expiry <= now)
    }
}

/// What the stream-end callback said.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    pub code: Option<i64>,
    pub reason: String,
    pub stream_time: Option<i64>,
}

/// A published queue event, as remembered for deduplication and counting.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub bt_id: String,
    pub event_id: String,
    pub request_id: String,
    /// `segment` or `streamEnd`.
    pub kind: &'static str,
    pub risk_level: Option<String>,
    pub at: OffsetDateTime,
    /// When the record may be deleted (the store expires it).
    pub expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_their_wire_names() {
        for status in [
            TaskStatus::Starting,
            TaskStatus::Active,
            TaskStatus::Closing,
            TaskStatus::Ended,
            TaskStatus::Failed,
        ] {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("ACTIVE "), None);
        assert!(TaskStatus::Ended.is_over() && TaskStatus::Failed.is_over() && !TaskStatus::Closing.is_over());
    }

    #[test]
    fn a_start_goes_stale_at_its_expiry() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let task = Task::starting("b", ProviderId::declare("test"), now, now + time::Duration::seconds(30));
        assert!(!task.is_stale_start(now));
        assert!(task.is_stale_start(now + time::Duration::seconds(30)));
        assert_eq!(task.task_id.len(), 32);
    }
}

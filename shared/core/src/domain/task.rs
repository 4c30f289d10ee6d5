//! A moderation task and its state machine (`docs/lifecycle.md` draws it):
//!
//! - STARTING: claimed for the btId, the provider being called; holds the
//!   btId for its lease, after which the next start takes it over.
//! - ACTIVE: the provider accepted it (or already ran the stream).
//! - CLOSED: the provider acknowledged its stop; frees the btId; the end is
//!   awaited (ENDED with `END_NOT_RECEIVED` if none comes in time).
//! - ENDED: the stream ended (or, with no end asked for, the stop was
//!   acknowledged). FAILED: the provider refused the start.
//!
//! CLOSED, ENDED and FAILED free the btId: the next start submits a new
//! task. Every transition is a conditional write on the task's own record,
//! and a status never moves backwards.

use super::provider::ProviderId;
use serde::Serialize;
use time::OffsetDateTime;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Written before the provider is called; holds the btId against a second submission.
    Starting,
    /// The provider accepted it (or already had the stream): its task id is known.
    Active,
    /// The provider acknowledged the stop; the stream's end is awaited.
    Closed,
    /// The stream ended.
    Ended,
    /// The provider refused the start; nothing runs.
    Failed,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Starting,
        TaskStatus::Active,
        TaskStatus::Closed,
        TaskStatus::Ended,
        TaskStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Starting => "STARTING",
            TaskStatus::Active => "ACTIVE",
            TaskStatus::Closed => "CLOSED",
            TaskStatus::Ended => "ENDED",
            TaskStatus::Failed => "FAILED",
        }
    }

    /// A stored status; `CLOSING`, as tasks stored before the state machine say, is CLOSED.
    pub fn parse(value: &str) -> Option<Self> {
        if value == "CLOSING" {
            return Some(TaskStatus::Closed);
        }
        Self::ALL.into_iter().find(|status| status.as_str() == value)
    }

    /// Whether the task holds its btId: a start returns it instead of submitting.
    pub fn holds_bt_id(self) -> bool {
        matches!(self, TaskStatus::Starting | TaskStatus::Active)
    }

    /// Whether the task is still open: something may yet happen to it (the
    /// watchdog looks at it).
    pub fn is_open(self) -> bool {
        matches!(self, TaskStatus::Starting | TaskStatus::Active | TaskStatus::Closed)
    }

    /// Its place in the machine: a status only ever moves to a higher rank.
    pub fn rank(self) -> u8 {
        match self {
            TaskStatus::Starting => 0,
            TaskStatus::Active => 1,
            TaskStatus::Closed => 2,
            TaskStatus::Ended | TaskStatus::Failed => 3,
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a task was closed.
pub mod close_reason {
    /// The backend asked (`POST …/close`).
    pub const REQUESTED: &str = "REQUESTED";
    /// Open longer than the deployment allows (`MAX_STREAM_SECS`).
    pub const MAX_DURATION: &str = "MAX_DURATION";
}

/// Why a task ended, beyond the provider's own reasons.
pub mod end_reason {
    /// Closed, acknowledged, and no end came within the grace period.
    pub const END_NOT_RECEIVED: &str = "END_NOT_RECEIVED";
    /// Closed, acknowledged, and no end was asked for (`returnFinishInfo` 0).
    pub const CLOSED: &str = "CLOSED";
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
    /// The provider's id of the task (or of the running task it adopted): its current one.
    pub request_id: Option<String>,
    /// Every provider task id submitted or adopted for it; a callback from any
    /// other, or from an earlier one, is a stray.
    pub provider_task_ids: Vec<String>,
    /// `request_id` came from a duplicate answer rather than a fresh start.
    pub adopted_duplicate: bool,
    /// The provider calls back for every segment (`returnAllText` 1), so silence means trouble.
    pub reports_every_segment: bool,
    /// The provider sends a stream-end callback (`returnFinishInfo` 1).
    pub reports_stream_end: bool,
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
    /// When a close was first asked for (by the backend or the watchdog).
    #[serde(with = "time::serde::rfc3339::option")]
    pub close_requested_at: Option<OffsetDateTime>,
    /// `REQUESTED` or `MAX_DURATION`.
    pub close_reason: Option<String>,
    /// Stops attempted; the watchdog retries a close that failed.
    pub close_attempts: u32,
    /// Why the last stop failed.
    pub close_error: Option<String>,
    /// When the provider acknowledged the stop.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The provider's stream-end code, when it sent one.
    pub end_code: Option<i64>,
    /// `FINISHED`, the end code's name, `END_NOT_RECEIVED` or `CLOSED`.
    pub end_reason: Option<String>,
    pub stream_time: Option<i64>,
    /// Why the start failed (FAILED only).
    pub failure: Option<String>,
    /// Highest segment number seen (written at most once a minute per task and instance).
    pub segments_seen: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub progress_at: Option<OffsetDateTime>,
    /// When the watchdog last said the stream was silent.
    #[serde(with = "time::serde::rfc3339::option")]
    pub stale_notified_at: Option<OffsetDateTime>,
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
            provider_task_ids: Vec::new(),
            adopted_duplicate: false,
            reports_every_segment: false,
            reports_stream_end: true,
            created_at: now,
            updated_at: now,
            starting_expires_at: Some(expires_at),
            start_attempts: 1,
            active_at: None,
            close_requested_at: None,
            close_reason: None,
            close_attempts: 0,
            close_error: None,
            closed_at: None,
            ended_at: None,
            end_code: None,
            end_reason: None,
            stream_time: None,
            failure: None,
            segments_seen: 0,
            progress_at: None,
            stale_notified_at: None,
        }
    }

    /// STARTING and its lease has passed: the attempt failed or died.
    pub fn is_stale_start(&self, now: OffsetDateTime) -> bool {
        self.status == TaskStatus::Starting && self.starting_expires_at.is_none_or(|expiry| expiry <= now)
    }

    /// The last sign of life: progress recorded, or else activation, or else creation.
    pub fn last_activity(&self) -> OffsetDateTime {
        self.progress_at.or(self.active_at).unwrap_or(self.created_at)
    }

    /// Whether a callback from `provider_task_id` comes from a task other than
    /// this task's current one. While STARTING the current one is not known
    /// yet, and nothing is a stray.
    pub fn is_stray(&self, provider_task_id: &str) -> bool {
        self.status != TaskStatus::Starting && self.request_id.as_deref() != Some(provider_task_id)
    }
}

/// What the stream-end callback said.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    pub code: Option<i64>,
    pub reason: String,
    pub stream_time: Option<i64>,
}

/// A provider task that called back on a task's URL without being its
/// current one: to be stopped, once, by the watchdog.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stray {
    pub bt_id: String,
    /// The streamguard task whose callback URL it used.
    pub task_id: String,
    pub provider: ProviderId,
    pub provider_task_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
    /// Stops attempted.
    pub stop_attempts: u32,
}

/// The one task that may act on a provider task (stop it, adopt it, take
/// its callbacks as its own): no two btIds ever share a provider task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub provider: ProviderId,
    pub provider_task_id: String,
    pub bt_id: String,
    pub task_id: String,
}

/// What a start asks its provider to report, kept on its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reports {
    /// Every segment (`returnAllText` 1), not only violations.
    pub every_segment: bool,
    /// The stream's end (`returnFinishInfo` 1).
    pub stream_end: bool,
}

/// Something open: a task not yet ENDED or FAILED, or a stray not yet stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Open {
    Task(Box<Task>),
    Stray(Stray),
}

/// One page of a listing; `cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A published queue event, as remembered for deduplication and counting.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub bt_id: String,
    pub event_id: String,
    pub request_id: String,
    /// The event's `kind`.
    pub kind: String,
    pub risk_level: Option<String>,
    pub at: OffsetDateTime,
    /// When the record may be deleted (the store expires it).
    pub expires_at: OffsetDateTime,
    /// The event as published (JSON), for the evidence archive and the history.
    pub event: Option<String>,
    /// What the provider sent for it (JSON), secrets stripped, when it fits
    /// ([`super::events::PROVIDER_RESULT_LIMIT`]).
    pub provider_result: Option<String>,
    /// What the archiver kept of it, once it has.
    pub evidence: Option<Evidence>,
}

/// What the evidence archive holds for a published event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub state: EvidenceState,
    /// The objects written, under `evidence/<btId>/<eventId>/`.
    pub objects: Vec<EvidenceObject>,
    /// Why a fetch failed (`AUDIO_FAILED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub archived_at: OffsetDateTime,
}

/// How an event's archive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvidenceState {
    /// Everything: the event, and its audio when it had any.
    Archived,
    /// The event and its text and labels, but an audio fetch kept failing.
    AudioFailed,
}

impl EvidenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceState::Archived => "ARCHIVED",
            EvidenceState::AudioFailed => "AUDIO_FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [EvidenceState::Archived, EvidenceState::AudioFailed]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// One archived object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceObject {
    /// `event`, `audio` or `preAudio`.
    pub role: String,
    pub key: String,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_their_wire_names_and_only_move_forward() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            TaskStatus::parse("CLOSING"),
            Some(TaskStatus::Closed),
            "as stored before"
        );
        assert_eq!(TaskStatus::parse("ACTIVE "), None);
        let holding: Vec<_> = TaskStatus::ALL
            .into_iter()
            .filter(|status| status.holds_bt_id())
            .collect();
        assert_eq!(holding, [TaskStatus::Starting, TaskStatus::Active]);
        assert!(TaskStatus::Closed.is_open() && !TaskStatus::Ended.is_open() && !TaskStatus::Failed.is_open());
        assert!(TaskStatus::Starting.rank() < TaskStatus::Active.rank());
        assert!(TaskStatus::Active.rank() < TaskStatus::Closed.rank());
        assert!(TaskStatus::Closed.rank() < TaskStatus::Ended.rank());
    }

    #[test]
    fn a_start_goes_stale_at_its_expiry_and_nothing_is_stray_while_starting() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut task = Task::starting("b", ProviderId::declare("test"), now, now + time::Duration::seconds(30));
        assert!(!task.is_stale_start(now));
        assert!(task.is_stale_start(now + time::Duration::seconds(30)));
        assert_eq!(task.task_id.len(), 32);
        assert!(!task.is_stray("p1"), "the current provider task is not known yet");
        task.status = TaskStatus::Active;
        task.request_id = Some("p2".into());
        assert!(task.is_stray("p1") && !task.is_stray("p2"));
        assert_eq!(task.last_activity(), now);
    }
}

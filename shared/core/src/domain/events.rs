//! The queue events the domain publishes, assembled from neutral readings or
//! from the watchdog's findings, and their ids:
//!
//! - `<provider>:<segment id>` for a segment; a segment id longer than
//!   [`ID_LIMIT`] becomes `sha256:<hex>` of it, so every id fits the store's
//!   keys and the queue's deduplication ids;
//! - `<provider>:<provider task id>:end` for the end of a provider task;
//! - `streamguard:<task id>:…` for what the watchdog finds.
//!
//! An id is stable per provider delivery (or per finding), so a retried
//! callback yields the same id and consumers can be idempotent on it.
//!
//! Every event fits in [`EVENT_LIMIT`] by construction: a start's
//! `passThrough` is limited to [`PASS_THROUGH_LIMIT`], and each text a
//! provider sends is cut to its own limit (named in `truncatedFields`).

use super::provider::{EndReading, ProviderId, SegmentReading};
use super::task::{Task, end_reason};
use sha2::{Digest, Sha256};
use streamguard_wire::event::{
    EventBody, QueueEvent, RiskLevel, SCHEMA_VERSION, SegmentEvent, StreamClosedEvent, StreamEndEvent, StreamStaleEvent,
};
use time::OffsetDateTime;

/// The most an event may weigh, serialised: the queue's long-standing
/// default message size, which a queue at its defaults accepts.
pub const EVENT_LIMIT: usize = 256 * 1024;
/// The most a start's `passThrough` may weigh, serialised as JSON.
pub const PASS_THROUGH_LIMIT: usize = 64 * 1024;
/// The most of what a provider sent that is kept with an event's record (for
/// the evidence archive): with the event, well within a table item's size.
pub const PROVIDER_RESULT_LIMIT: usize = 64 * 1024;
/// Segment ids longer than this (in bytes) are hashed into the event id.
pub const ID_LIMIT: usize = 100;
/// The transcript.
const TEXT_LIMIT: usize = 32 * 1024;
/// Audio URLs.
const URL_LIMIT: usize = 4 * 1024;
/// Labels, descriptions, times, speaker, room, ids.
const SHORT_LIMIT: usize = 1024;
/// Each field of an `allLabels` entry.
const LABEL_LIMIT: usize = 256;
/// `allLabels` entries kept.
const LABELS_KEPT: usize = 32;
/// Paths named in `unreadFields` / `truncatedFields`.
const NAMES_KEPT: usize = 32;

/// What the callback handler knows about the task when it builds an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskContext {
    /// The backend's id from the callback token (wins over an echoed one).
    pub bt_id: Option<String>,
    /// Whether a task record was found for the token.
    pub task_known: bool,
    /// Whether the callback came from a provider task other than the task's current one.
    pub stray: bool,
}

/// The prefix of the ids of streamguard's own events about a task.
const OWN: &str = "streamguard";

/// The id of a segment's event.
pub fn segment_id(provider: ProviderId, segment_id: &str) -> String {
    if segment_id.len() <= ID_LIMIT {
        format!("{provider}:{segment_id}")
    } else {
        format!(
            "{provider}:sha256:{}",
            hex::encode(Sha256::digest(segment_id.as_bytes()))
        )
    }
}

/// The id of a provider task end's event.
pub fn end_id(provider: ProviderId, provider_task_id: &str) -> String {
    if provider_task_id.len() <= ID_LIMIT {
        format!("{provider}:{provider_task_id}:end")
    } else {
        format!(
            "{provider}:sha256:{}:end",
            hex::encode(Sha256::digest(provider_task_id.as_bytes()))
        )
    }
}

/// The prefix every segment event id of a provider task shares: providers
/// name a segment `<task id>_<n>` ([`SegmentReading`] requires it).
pub fn segment_prefix(provider: ProviderId, provider_task_id: &str) -> String {
    format!("{provider}:{provider_task_id}_")
}

fn base(
    provider: ProviderId,
    event_id: String,
    bt_id: Option<String>,
    request_id: &str,
    task_known: bool,
    at: OffsetDateTime,
    body: EventBody,
) -> QueueEvent {
    QueueEvent {
        schema_version: SCHEMA_VERSION,
        event_id,
        provider: provider.as_str().to_owned(),
        bt_id,
        request_id: request_id.to_owned(),
        task_known,
        received_at: at,
        pass_through: None,
        stray_provider_task: false,
        unread_fields: Vec::new(),
        truncated_fields: Vec::new(),
        body,
    }
}

/// The event for a published segment.
pub fn segment_event(
    provider: ProviderId,
    reading: &SegmentReading,
    task: &TaskContext,
    received_at: OffsetDateTime,
) -> QueueEvent {
    let mut event = base(
        provider,
        segment_id(provider, &reading.segment.segment_id),
        task.bt_id.clone().or_else(|| reading.echoed_bt_id.clone()),
        &reading.provider_task_id,
        task.task_known,
        received_at,
        EventBody::Segment(Box::new(reading.segment.clone())),
    );
    event.stray_provider_task = task.stray;
    event.pass_through = reading.pass_through.clone();
    event.unread_fields = reading.unread_fields.clone();
    if let EventBody::Segment(segment) = &mut event.body {
        segment.risk_level_recognised = segment.risk_level.is_known();
    }
    bound(&mut event);
    event
}

/// The event for the end of a provider task.
pub fn end_event(
    provider: ProviderId,
    reading: &EndReading,
    task: &TaskContext,
    received_at: OffsetDateTime,
) -> QueueEvent {
    let mut event = base(
        provider,
        end_id(provider, &reading.provider_task_id),
        task.bt_id.clone().or_else(|| reading.echoed_bt_id.clone()),
        &reading.provider_task_id,
        task.task_known,
        received_at,
        EventBody::StreamEnd(reading.end.clone()),
    );
    event.stray_provider_task = task.stray;
    event.pass_through = reading.pass_through.clone();
    event.unread_fields = reading.unread_fields.clone();
    bound(&mut event);
    event
}

fn own(task: &Task, what: &str, at: OffsetDateTime, body: EventBody) -> QueueEvent {
    let mut event = base(
        task.provider,
        format!("{OWN}:{}:{what}", task.task_id),
        Some(task.bt_id.clone()),
        task.request_id.as_deref().unwrap_or_default(),
        true,
        at,
        body,
    );
    bound(&mut event);
    event
}

/// A stream that calls back for every segment has been silent: one event per
/// silence (its id carries when the silence began).
pub fn stale_event(task: &Task, now: OffsetDateTime) -> QueueEvent {
    let since = task.last_activity();
    let millis = since.unix_timestamp_nanos() / 1_000_000;
    let body = EventBody::StreamStale(StreamStaleEvent {
        last_activity_at: since,
        silent_secs: seconds(now - since),
        segments_seen: task.segments_seen,
    });
    own(task, &format!("stale:{millis}"), now, body)
}

/// streamguard closed the task itself.
pub fn closed_event(task: &Task, reason: &str, now: OffsetDateTime) -> QueueEvent {
    let body = EventBody::StreamClosed(StreamClosedEvent {
        close_reason: reason.to_owned(),
        open_secs: seconds(now - task.created_at),
    });
    own(task, "closed", now, body)
}

/// The task was closed, and its end never came.
pub fn end_not_received_event(task: &Task, now: OffsetDateTime) -> QueueEvent {
    let body = EventBody::StreamEnd(StreamEndEvent {
        end_code: None,
        end_reason: end_reason::END_NOT_RECEIVED.to_owned(),
        stream_time: None,
    });
    own(task, "end-not-received", now, body)
}

fn seconds(duration: time::Duration) -> u64 {
    u64::try_from(duration.whole_seconds()).unwrap_or(0)
}

/// How many bytes `c` takes in a JSON string as sent: control characters
/// escaped, and the noncharacters U+FFFE and U+FFFF too, which a queue
/// message may not carry raw.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        '\u{fffe}' | '\u{ffff}' => 6,
        c => c.len_utf8(),
    }
}

/// Cuts `text` so that it takes at most `limit` bytes in a JSON string
/// (ending in `…` when cut); `true` when it was cut.
fn cut(text: &mut String, limit: usize) -> bool {
    let total: usize = text.chars().map(escaped_len).sum();
    if total <= limit {
        return false;
    }
    let mut kept = 0;
    let mut end = 0;
    for (offset, c) in text.char_indices() {
        if kept + escaped_len(c) > limit.saturating_sub('…'.len_utf8()) {
            break;
        }
        kept += escaped_len(c);
        end = offset + c.len_utf8();
    }
    text.truncate(end);
    text.push('…');
    true
}

/// The names of what a bound shortened or left out.
#[derive(Default)]
struct Cuts(Vec<&'static str>);

impl Cuts {
    /// Cuts `text` to `max` bytes, naming it when it was cut.
    fn text(&mut self, name: &'static str, text: &mut String, max: usize) {
        if cut(text, max) {
            self.mark(name);
        }
    }

    fn optional(&mut self, name: &'static str, text: &mut Option<String>, max: usize) {
        if let Some(text) = text {
            self.text(name, text, max);
        }
    }

    fn mark(&mut self, name: &'static str) {
        if !self.0.contains(&name) {
            self.0.push(name);
        }
    }
}

/// Applies every limit to `event`, naming what it shortened or left out.
fn bound(event: &mut QueueEvent) {
    let mut cuts = Cuts::default();
    cuts.text("requestId", &mut event.request_id, SHORT_LIMIT);
    cuts.optional("btId", &mut event.bt_id, SHORT_LIMIT);
    match &mut event.body {
        EventBody::Segment(segment) => bound_segment(segment, &mut cuts),
        EventBody::StreamEnd(end) => cuts.text("endReason", &mut end.end_reason, SHORT_LIMIT),
        EventBody::StreamClosed(closed) => cuts.text("closeReason", &mut closed.close_reason, SHORT_LIMIT),
        EventBody::StreamStale(_) | EventBody::Other => {}
    }
    let oversized =
        |value: &serde_json::Value| serde_json::to_vec(value).map_or(true, |bytes| bytes.len() > PASS_THROUGH_LIMIT);
    if event.pass_through.as_ref().is_some_and(oversized) {
        event.pass_through = None;
        cuts.mark("passThrough");
    }
    event.truncated_fields.extend(cuts.0.into_iter().map(str::to_owned));
    for names in [&mut event.unread_fields, &mut event.truncated_fields] {
        names.truncate(NAMES_KEPT);
        for name in names.iter_mut() {
            cut(name, LABEL_LIMIT);
        }
    }
}

fn bound_segment(segment: &mut SegmentEvent, cuts: &mut Cuts) {
    cuts.text("segmentId", &mut segment.segment_id, SHORT_LIMIT);
    if let RiskLevel::Unknown(level) = &mut segment.risk_level {
        cuts.text("riskLevel", level, SHORT_LIMIT);
    }
    cuts.optional("riskLabel1", &mut segment.risk_label1, SHORT_LIMIT);
    cuts.optional("riskLabel2", &mut segment.risk_label2, SHORT_LIMIT);
    cuts.optional("riskLabel3", &mut segment.risk_label3, SHORT_LIMIT);
    cuts.optional("riskDescription", &mut segment.risk_description, SHORT_LIMIT);
    cuts.optional("audioText", &mut segment.audio_text, TEXT_LIMIT);
    cuts.optional("audioUrl", &mut segment.audio_url, URL_LIMIT);
    cuts.optional("preAudioUrl", &mut segment.pre_audio_url, URL_LIMIT);
    cuts.optional("audioStartTime", &mut segment.audio_start_time, SHORT_LIMIT);
    cuts.optional("audioEndTime", &mut segment.audio_end_time, SHORT_LIMIT);
    cuts.optional("speakerId", &mut segment.speaker_id, SHORT_LIMIT);
    cuts.optional("room", &mut segment.room, SHORT_LIMIT);
    if segment.all_labels.len() > LABELS_KEPT {
        segment.all_labels.truncate(LABELS_KEPT);
        cuts.mark("allLabels");
    }
    for label in &mut segment.all_labels {
        for text in [
            &mut label.risk_label1,
            &mut label.risk_label2,
            &mut label.risk_label3,
            &mut label.risk_description,
        ] {
            cuts.optional("allLabels", text, LABEL_LIMIT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_counts_json_escapes_and_keeps_whole_characters() {
        let mut text = "é\"\u{1}".repeat(10);
        assert!(cut(&mut text, 20));
        let escaped = serde_json::to_string(&text).unwrap();
        assert!(escaped.len() - 2 <= 20, "{escaped}");
        assert!(text.ends_with('…'));
        let mut short = "fine".to_owned();
        assert!(!cut(&mut short, 4));
        assert_eq!(short, "fine");
    }

    #[test]
    fn long_segment_ids_are_hashed_into_the_event_id() {
        let provider = ProviderId::declare("test");
        assert_eq!(segment_id(provider, "abc_1"), "test:abc_1");
        let long = "x".repeat(ID_LIMIT + 1);
        let hashed = segment_id(provider, &long);
        assert!(hashed.starts_with("test:sha256:") && hashed.len() < 128, "{hashed}");
        assert_eq!(hashed, segment_id(provider, &long), "stable");
        assert!(end_id(provider, &long).ends_with(":end"));
    }
}

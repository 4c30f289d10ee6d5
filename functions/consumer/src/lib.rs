//! An example consumer of streamguard's queue, to copy and adapt.
//!
//! It receives batches from the SQS FIFO queue, parses each message with the
//! wire crate's [`QueueEvent`], and acts on it; here it only logs each REJECT
//! with its btId. Order matters on a FIFO queue (a stream's events in the
//! order they happened), so it follows AWS's rule for FIFO partial batches:
//! at the first message it cannot handle it stops, and reports that message
//! and every later one as batch item failures (`ReportBatchItemFailures`).
//! SQS redelivers them in order; a message that keeps failing moves to the
//! dead-letter queue after five receives, and the stream moves on.
//!
//! Consumers should be idempotent on `eventId`: the same event can arrive
//! twice in rare cases (see the README).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use streamguard_wire::event::{EventBody, QueueEvent, SCHEMA_VERSION};

/// The AWS actions the consumer's role needs (the SQS event source mapping
/// polls, deletes and extends visibility on its behalf); the template grants
/// exactly these.
pub const ACTIONS: &[&str] = &[
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
];

/// Handles one batch, in order; returns the first message that failed and
/// every message after it, none of which was acted on.
pub fn handle(batch: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut records = batch.records.into_iter();
    for message in records.by_ref() {
        let id = message.message_id.clone().unwrap_or_default();
        let outcome = message
            .body
            .as_deref()
            .ok_or_else(|| "the message has no body".to_owned())
            .and_then(|body| serde_json::from_str::<QueueEvent>(body).map_err(|error| error.to_string()))
            .and_then(|event| act(&event));
        if let Err(problem) = outcome {
            tracing::error!(message_id = %id, %problem, "message not handled; it and the rest of the batch will be redelivered");
            response.batch_item_failures.push(failure(id));
            break;
        }
    }
    response
        .batch_item_failures
        .extend(records.map(|message| failure(message.message_id.unwrap_or_default())));
    response
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

/// What to do with one event: replace with your own (mute the speaker, end
/// the room, page a moderator, refresh an RTC token on TOKEN_INVALID_OR_EXPIRED…).
fn act(event: &QueueEvent) -> Result<(), String> {
    if event.schema_version > SCHEMA_VERSION {
        tracing::warn!(
            schema_version = event.schema_version,
            "newer event schema; reading the fields this version knows"
        );
    }
    let bt_id = event.bt_id.as_deref().unwrap_or("(unknown)");
    match &event.body {
        EventBody::Segment(segment) => tracing::warn!(
            bt_id,
            event_id = %event.event_id,
            risk_level = %segment.risk_level,
            label = segment.risk_label1.as_deref().unwrap_or_default(),
            text = segment.audio_text.as_deref().unwrap_or_default(),
            task_known = event.task_known,
            "REJECT"
        ),
        EventBody::StreamEnd(end) => {
            tracing::info!(bt_id, event_id = %event.event_id, reason = %end.end_reason, "stream ended")
        }
        EventBody::StreamStale(stale) => tracing::warn!(
            bt_id,
            event_id = %event.event_id,
            silent_secs = stale.silent_secs,
            "no results from the provider: is the stream still live?"
        ),
        EventBody::StreamClosed(closed) => {
            tracing::info!(bt_id, event_id = %event.event_id, reason = %closed.close_reason, "stream closed by streamguard")
        }
        // A kind newer than this consumer: acknowledge it, read nothing.
        EventBody::Other => tracing::info!(bt_id, event_id = %event.event_id, "event of a newer kind"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body.to_owned());
        message
    }

    #[test]
    fn the_first_failure_and_everything_after_it_are_reported_in_order() {
        let event = serde_json::json!({
            "schemaVersion": 1, "eventId": "deepcleer:abc_3", "provider": "deepcleer", "btId": "room-1",
            "requestId": "abc", "taskKnown": true, "receivedAt": "2026-11-21T06:00:00Z", "passThrough": null,
            "kind": "segment", "segmentId": "abc_3", "segmentIndex": 3, "riskLevel": "REJECT", "riskLabel1": "abuse",
            "riskLabel2": null, "riskLabel3": null, "riskDescription": null, "allLabels": [], "audioText": "x",
            "audioUrl": null, "preAudioUrl": null, "audioStartTime": null, "audioEndTime": null,
            "processBeginTime": null, "processFinishTime": null, "speakerId": null, "room": null
        });
        let mut batch = SqsEvent::default();
        batch.records = vec![
            message("m1", &event.to_string()),
            message("m2", "not json"),
            message("m3", &event.to_string()),
            message("m4", &event.to_string()),
        ];
        let response = handle(batch.clone());
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m2", "m3", "m4"], "FIFO: nothing after a failure is acted on");

        batch.records.remove(1);
        assert!(handle(batch).batch_item_failures.is_empty());
    }
}

//! Publishing an event exactly once, however often it is attempted:
//!
//! 1. read the event's record (consistent): already published → done;
//! 2. send to the queue, which deduplicates by event id within its window;
//! 3. write the record (conditional put).
//!
//! A failure at 2 or 3 is an error the caller answers with a retry (5xx to
//! the provider, the watchdog's next run), and leaves nothing that blocks
//! that retry. Only if 3 fails after 2 succeeded *and* the retry comes after
//! the queue's deduplication window can an event be sent twice; its
//! `eventId` is the same, so consumers can drop it.
//!
//! The record keeps the event as published and what the provider sent for
//! it (secrets stripped): the evidence archive and the history read them.

use super::error::Error;
use super::events::PROVIDER_RESULT_LIMIT;
use super::task::Published;
use crate::ports::{Clock, EventQueue, TaskStore};
use std::time::Duration;
use streamguard_wire::event::{EventBody, QueueEvent};

/// Whether the event went out now or had gone out before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    Published,
    Duplicate,
}

/// Publishes `event` unless it was published before (see the module docs);
/// its record, with `provider_result` (what the provider sent, when the
/// event comes from a callback), is kept for `retention`.
pub async fn publish_once<S: TaskStore, Q: EventQueue, C: Clock>(
    store: &S,
    queue: &Q,
    clock: &C,
    event: &QueueEvent,
    provider_result: Option<&serde_json::Value>,
    retention: Duration,
) -> Result<Publication, Error> {
    let bt_id = event.group_key().to_owned();
    if store.is_published(&bt_id, &event.event_id).await? {
        tracing::info!(event_id = %event.event_id, "duplicate delivery; already published");
        return Ok(Publication::Duplicate);
    }
    queue.publish(event).await?;
    let risk_level = match &event.body {
        EventBody::Segment(segment) => Some(segment.risk_level.to_string()),
        _ => None,
    };
    let now = clock.now();
    let provider_result = provider_result
        .and_then(|result| serde_json::to_string(result).ok())
        .filter(|text| {
            let fits = text.len() <= PROVIDER_RESULT_LIMIT;
            if !fits {
                tracing::warn!(event_id = %event.event_id, bytes = text.len(), "the provider's result is too large to keep with the event");
            }
            fits
        });
    let record = Published {
        bt_id,
        event_id: event.event_id.clone(),
        request_id: event.request_id.clone(),
        kind: event.body.kind().to_owned(),
        risk_level,
        at: now,
        expires_at: now + retention,
        event: serde_json::to_string(event).ok(),
        provider_result,
        evidence: None,
    };
    store.record_published(&record).await?;
    tracing::info!(
        event_id = %event.event_id,
        kind = event.body.kind(),
        bt_id = ?event.bt_id,
        task_known = event.task_known,
        stray = event.stray_provider_task,
        "event published"
    );
    Ok(Publication::Published)
}

//! The event queue on SQS. FIFO (the default): one message group per stream
//! (`btId`), so a consumer sees a stream's events in order, and the event id
//! as deduplication id, so a resend within five minutes is dropped by SQS.
//! A standard queue URL (no `.fifo`) is also accepted: no ordering, no
//! deduplication window; consumers then rely on `eventId` alone.

use crate::ports::{EventQueue, QueueError};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use sha2::{Digest, Sha256};
use streamguard_wire::event::QueueEvent;

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    url: String,
    fifo: bool,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        let url = url.into();
        let fifo = url.ends_with(".fifo");
        SqsQueue { client, url, fifo }
    }

    /// Opens the connection (TCP and TLS, a different host from DynamoDB's)
    /// during init, so that the first REJECT does not pay for it; reading the
    /// queue's ARN also shows at cold start whether `QUEUE_URL` names a queue
    /// the role may use. A failure is logged, not fatal: the first publish
    /// would fail the same way and be retried by the provider.
    pub async fn warm_up(&self) {
        let outcome = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await;
        if let Err(error) = outcome {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "queue warm-up failed");
        }
    }
}

/// SQS ids allow 1–128 of `[A-Za-z0-9]` and ASCII punctuation; anything else is hashed.
pub fn sqs_id(value: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c.is_ascii_punctuation();
    if !value.is_empty() && value.len() <= 128 && value.chars().all(allowed) {
        value.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(value.as_bytes())))
    }
}

/// `body` with U+FFFE and U+FFFF written as JSON escapes: SQS refuses a
/// message carrying them raw (outside its allowed characters), and every
/// retry would fail alike. They only occur inside JSON strings, where the
/// escape reads back as the same character.
pub fn sqs_safe(body: String) -> String {
    if !body.contains(['\u{fffe}', '\u{ffff}']) {
        return body;
    }
    body.replace('\u{fffe}', "\\ufffe").replace('\u{ffff}', "\\uffff")
}

fn attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("type and value are set")
}

impl EventQueue for SqsQueue {
    async fn publish(&self, event: &QueueEvent) -> Result<(), QueueError> {
        let body = sqs_safe(serde_json::to_string(event).map_err(|error| QueueError(error.to_string()))?);
        let kind = event.body.kind();
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes("kind", attribute(kind))
            .message_attributes("provider", attribute(&event.provider))
            .message_attributes("schemaVersion", attribute(&event.schema_version.to_string()));
        if self.fifo {
            request = request
                .message_group_id(sqs_id(event.group_key()))
                .message_deduplication_id(sqs_id(&event.event_id));
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|error| QueueError(aws_sdk_sqs::error::DisplayErrorContext(error).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_when_sqs_accepts_them_and_hashed_otherwise() {
        assert_eq!(sqs_id("deepcleer:b639_2"), "deepcleer:b639_2");
        assert_eq!(sqs_id("room-1"), "room-1");
        let hashed = sqs_id("房间一");
        assert!(hashed.starts_with("sha256:") && hashed.len() == 71);
        assert_eq!(hashed, sqs_id("房间一"), "stable, so a stream keeps its group");
        assert!(sqs_id(&"a".repeat(129)).starts_with("sha256:"));
        assert!(sqs_id("with space").starts_with("sha256:"));
    }

    #[test]
    fn noncharacters_are_sent_escaped_and_read_back_the_same() {
        let value = serde_json::json!({"audioText": "a\u{fffe}b\u{ffff}c 言"});
        let body = sqs_safe(serde_json::to_string(&value).unwrap());
        assert!(!body.contains(['\u{fffe}', '\u{ffff}']), "{body}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap(), value);
        let plain = serde_json::to_string(&serde_json::json!({"a": "b"})).unwrap();
        assert_eq!(sqs_safe(plain.clone()), plain);
    }
}

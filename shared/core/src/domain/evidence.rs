//! The evidence archive. Moderation decisions are appealed and audited long
//! after the provider's links to the audio have expired, so every published
//! segment is kept in the deployment's own archive, under
//! `evidence/<btId>/<eventId>/`:
//!
//! - `event.json`: the event as published and what the provider sent for it
//!   (its secrets stripped when the event was published);
//! - `audio[.<ext>]`, `pre-audio[.<ext>]`: the segment's audio and the audio
//!   before it, when the provider gave links to them (the extension from the
//!   link, so that every attempt at an event names the same key).
//!
//! The archiver is fed the table's stream of new event records. It archives
//! an event once: an event whose record already names its evidence is not
//! archived again, and the archive never overwrites an object: a retry after
//! a failure finds what the first attempt wrote and fetches it no more (the
//! provider's link may have expired by then). A fetch is retried with
//! backoff; one that keeps failing leaves the record marked `AUDIO_FAILED`,
//! with the text and labels archived all the same. A failure of the archive
//! or the table is an error: the stream delivers the record again.
//!
//! The history ([`History`]) lists a btId's published events, newest first,
//! each with its evidence and short-lived links to the archived objects.

use super::error::Error;
use super::policy::EvidencePolicy;
use super::task::{Evidence, EvidenceObject, EvidenceState, Page, Published};
use super::view::{invalid, page_error, page_limit};
use crate::ports::{Clock, EvidenceArchive, FetchError, Fetched, MediaFetcher, Stored, TaskStore};
use serde::Serialize;
use std::time::Duration;
use streamguard_wire::api::BT_ID_MAX_CHARS;
use streamguard_wire::event::{EventBody, QueueEvent};

/// What archiving a new event came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Archived {
    /// Archived now.
    Done(Evidence),
    /// Its record already names its evidence: nothing was done again.
    AlreadyDone,
    /// Nothing to archive: not a segment, or its record is gone (expired).
    Nothing,
}

/// The archiver's service: it may read event records and record their
/// evidence, fetch the provider's media, and write to the archive.
pub struct Archiver<S, A, F, C> {
    pub store: S,
    pub archive: A,
    pub fetcher: F,
    pub clock: C,
    pub policy: EvidencePolicy,
}

/// The archive's prefix for an event: each part percent-encoded, so that a
/// btId or an event id with `/` or spaces stays one path segment.
pub fn prefix(bt_id: &str, event_id: &str) -> String {
    format!("evidence/{}/{}/", key_part(bt_id), key_part(event_id))
}

/// The longest encoded part kept as it is. Percent-encoding makes one
/// character of a btId up to twelve bytes, and an archive's keys are of
/// bounded length: a longer part is named by its digest (`event.json` keeps
/// the btId itself).
const KEY_PART_MAX_BYTES: usize = 200;

fn key_part(text: &str) -> String {
    const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b':');
    let encoded = percent_encoding::utf8_percent_encode(text, KEPT).to_string();
    match encoded.as_str() {
        // Path segments a client would collapse, breaking its links.
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        long if long.len() > KEY_PART_MAX_BYTES => {
            use sha2::Digest;
            format!("h-{}", hex::encode(sha2::Sha256::digest(text.as_bytes())))
        }
        _ => encoded,
    }
}

/// A file name extension for the audio at `url`, from the link's path, or
/// none: the link is the same on every attempt at an event, so the key is.
fn extension(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    [".mp3", ".wav", ".aac", ".ogg", ".m4a"]
        .into_iter()
        .find(|known| path.ends_with(known))
        .unwrap_or("")
}

impl<S: TaskStore, A: EvidenceArchive, F: MediaFetcher, C: Clock> Archiver<S, A, F, C> {
    /// Archives the published event `event_id` of `bt_id` (see the module docs).
    pub async fn archive(&self, bt_id: &str, event_id: &str) -> Result<Archived, Error> {
        let Some(record) = self.store.published(bt_id, event_id).await? else {
            return Ok(Archived::Nothing);
        };
        if record.evidence.is_some() {
            return Ok(Archived::AlreadyDone);
        }
        if record.kind != "segment" {
            return Ok(Archived::Nothing);
        }
        let prefix = prefix(bt_id, event_id);
        let mut objects = vec![self.keep_event(&prefix, &record).await?];
        let event: Option<QueueEvent> = record.event.as_deref().and_then(|text| serde_json::from_str(text).ok());
        let mut failures = Vec::new();
        let links = match event.as_ref().map(|event| &event.body) {
            Some(EventBody::Segment(segment)) => [
                ("audio", "audio", segment.audio_url.clone()),
                ("preAudio", "pre-audio", segment.pre_audio_url.clone()),
            ],
            _ => {
                // A record of an older version, or one that no longer reads:
                // its links are unknown, and the history must not say all is kept.
                failures.push("the record holds no readable event: its audio links are unknown".to_owned());
                [("audio", "audio", None), ("preAudio", "pre-audio", None)]
            }
        };
        for (role, name, url) in links {
            let Some(url) = url.filter(|url| !url.is_empty()) else {
                continue;
            };
            let key = format!("{prefix}{name}{}", extension(&url));
            if let Some(bytes) = self
                .archive
                .stored_size(&key)
                .await
                .map_err(|error| Error::Archive(error.0))?
            {
                // Kept by an earlier attempt at this event.
                objects.push(EvidenceObject {
                    role: role.into(),
                    key,
                    bytes,
                });
                continue;
            }
            match self.fetch(&url).await {
                Ok(fetched) => {
                    let content_type = fetched
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into());
                    let bytes = fetched.bytes.len() as u64;
                    self.put(&key, fetched.bytes, &content_type).await?;
                    objects.push(EvidenceObject {
                        role: role.into(),
                        key,
                        bytes,
                    });
                }
                Err(error) => {
                    tracing::warn!(bt_id, event_id, role, %error, "the provider's audio could not be archived");
                    failures.push(format!("{role}: {error}"));
                }
            }
        }
        let evidence = Evidence {
            state: if failures.is_empty() {
                EvidenceState::Archived
            } else {
                EvidenceState::AudioFailed
            },
            objects,
            failure: (!failures.is_empty()).then(|| failures.join("; ")),
            archived_at: self.clock.now(),
        };
        if !self.store.record_evidence(bt_id, event_id, &evidence).await? {
            // Another delivery of the same record finished first; what it
            // recorded stands, and the objects are the same ones.
            return Ok(Archived::AlreadyDone);
        }
        tracing::info!(
            bt_id,
            event_id,
            state = evidence.state.as_str(),
            objects = evidence.objects.len(),
            "evidence archived"
        );
        Ok(Archived::Done(evidence))
    }

    /// `event.json`: the event as published, and what the provider sent.
    async fn keep_event(&self, prefix: &str, record: &Published) -> Result<EvidenceObject, Error> {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        };
        let document = serde_json::json!({
            "btId": record.bt_id,
            "eventId": record.event_id,
            "publishedAt": record.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "event": parse(&record.event),
            "providerResult": parse(&record.provider_result),
        });
        let bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
        let key = format!("{prefix}event.json");
        let size = bytes.len() as u64;
        self.put(&key, bytes, "application/json").await?;
        Ok(EvidenceObject {
            role: "event".into(),
            key,
            bytes: size,
        })
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), Error> {
        match self.archive.put_new(key, bytes, content_type).await {
            Ok(Stored::Written | Stored::AlreadyThere) => Ok(()),
            Err(error) => Err(Error::Archive(error.0)),
        }
    }

    /// The media at `url`, retried with backoff while the failure is worth it.
    async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let fetchable = url.starts_with("https://") || (self.policy.allow_http && url.starts_with("http://"));
        if !fetchable {
            return Err(FetchError::Permanent(
                "only https links are fetched (the deployment allows no plain http)".into(),
            ));
        }
        let mut wait = self.policy.fetch_backoff;
        let mut attempt = 1;
        loop {
            match self
                .fetcher
                .fetch(url, self.policy.max_bytes, self.policy.fetch_timeout)
                .await
            {
                Err(FetchError::Transient(detail)) if attempt < self.policy.fetch_attempts.max(1) => {
                    tracing::info!(attempt, detail, "fetch failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

/// One published event as the history shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    pub event_id: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: time::OffsetDateTime,
    /// The event as published.
    pub event: Option<serde_json::Value>,
    /// `PENDING` until the archiver has kept it, then its state.
    pub evidence_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_failure: Option<String>,
    /// The archived objects, each with a link valid for a short while.
    pub objects: Vec<LinkedObject>,
}

/// An archived object and a link to read it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkedObject {
    pub role: String,
    pub key: String,
    pub bytes: u64,
    pub url: String,
}

/// The history's service (`GET /streams/{btId}/events`): it may read event
/// records and link to the archive; it changes nothing.
pub struct History<S, A> {
    pub store: S,
    pub archive: A,
    /// How long a link stays valid.
    pub link_validity: Duration,
}

impl<S: TaskStore, A: EvidenceArchive> History<S, A> {
    /// A btId's published events, newest first, a page at a time.
    pub async fn events(
        &self,
        bt_id: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<HistoryItem>, Error> {
        if bt_id.is_empty() || bt_id.chars().count() > BT_ID_MAX_CHARS {
            return Err(invalid(
                "btId",
                format!("must be 1 to {BT_ID_MAX_CHARS} characters, as at the start"),
            ));
        }
        let limit = page_limit(limit)?;
        let page = self
            .store
            .published_events(bt_id, cursor, limit)
            .await
            .map_err(|error| page_error(error, "is not a cursor this API gave for this btId"))?;
        let mut items = Vec::with_capacity(page.items.len());
        for record in page.items {
            let mut objects = Vec::new();
            for object in record.evidence.iter().flat_map(|evidence| &evidence.objects) {
                let url = self
                    .archive
                    .link(&object.key, self.link_validity)
                    .await
                    .map_err(|error| Error::Archive(error.0))?;
                objects.push(LinkedObject {
                    role: object.role.clone(),
                    key: object.key.clone(),
                    bytes: object.bytes,
                    url,
                });
            }
            items.push(HistoryItem {
                event_id: record.event_id,
                kind: record.kind,
                risk_level: record.risk_level,
                published_at: record.at,
                event: record.event.as_deref().and_then(|text| serde_json::from_str(text).ok()),
                evidence_state: record
                    .evidence
                    .as_ref()
                    .map_or("PENDING", |evidence| evidence.state.as_str()),
                evidence_failure: record.evidence.and_then(|evidence| evidence.failure),
                objects,
            });
        }
        Ok(Page {
            items,
            cursor: page.cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_each_part_one_segment() {
        assert_eq!(
            prefix("room 1/α", "deepcleer:r_3"),
            "evidence/room%201%2F%CE%B1/deepcleer:r_3/"
        );
    }

    #[test]
    fn keys_fit_s3_and_survive_clients() {
        let longest = "😀".repeat(128);
        let key = prefix(&longest, "deepcleer:r_3");
        assert!(key.len() < 300, "{key}");
        assert!(key.starts_with("evidence/h-"), "{key}");
        assert_ne!(prefix(&"😀".repeat(127), "e"), prefix(&longest, "e"));
        assert_eq!(prefix(".", ".."), "evidence/%2E/%2E%2E/");
        assert_eq!(prefix("a.b", "e"), "evidence/a.b/e/");
    }

    #[test]
    fn extensions_come_from_the_link() {
        assert_eq!(extension("https://x/a.MP3?sig=1.wav"), ".mp3");
        assert_eq!(extension("https://x/a.wav#t"), ".wav");
        assert_eq!(extension("https://x/a"), "");
    }
}

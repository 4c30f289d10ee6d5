//! Pulling a NORMAL stream over HTTP, as DeepCleer does: retry an
//! inaccessible URL 12 times at 5, 10, 15 … s (capped at 60 s), then end with
//! 3001; a body that is not audio ends with 3002, an empty one with 3004.
//! Only loopback hosts are fetched unless non-loopback is allowed.

use crate::state::SharedState;
use std::net::IpAddr;
use std::time::Duration;
use streamguard_wire::deepcleer::StreamEndCode;
use tokio_util::sync::CancellationToken;

/// Retries after the first pull attempt (reference: "Standard rtmp / http / hls: 12").
pub const PULL_RETRIES: u32 = 12;

/// Wait before pull retry `k` (1-based): 5 s more each time, at most 60 s.
pub fn retry_interval(retry: u32) -> Duration {
    Duration::from_secs(u64::from(retry.saturating_mul(5)).min(60))
}

/// Whether the simulator may send a request to `url`.
pub fn permitted(url: &str, allow_non_loopback: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("not a URL: {error}"))?;
    if allow_non_loopback {
        return Ok(());
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{} is not a loopback host; the simulator only calls loopback",
            parsed.host_str().unwrap_or("")
        ))
    }
}

/// How a pull went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullOutcome {
    /// Audio is flowing; it ends by itself after `duration` when known (WAV).
    Audio { duration: Option<Duration> },
    /// The pull failed for good.
    Failed(StreamEndCode),
    /// The task was closed while pulling.
    Cancelled,
}

/// Fetches `url` with DeepCleer's retry policy; `on_attempt` counts attempts.
pub async fn pull(state: &SharedState, url: &str, cancel: &CancellationToken, on_attempt: impl Fn()) -> PullOutcome {
    for attempt in 0..=PULL_RETRIES {
        if attempt > 0 {
            tokio::select! {
                () = cancel.cancelled() => return PullOutcome::Cancelled,
                () = state.clock.sleep(retry_interval(attempt)) => {}
            }
        }
        on_attempt();
        match fetch(state, url).await {
            Fetched::Inaccessible => continue,
            Fetched::Body(head) => return classify(&head),
        }
    }
    PullOutcome::Failed(StreamEndCode::UrlAccessFailure)
}

enum Fetched {
    Inaccessible,
    Body(Vec<u8>),
}

/// The first bytes of the body (enough to recognise the format), or inaccessible.
async fn fetch(state: &SharedState, url: &str) -> Fetched {
    if permitted(url, state.config.allow_non_loopback).is_err() {
        return Fetched::Inaccessible;
    }
    let response = match state.http.get(url).timeout(state.config.pull_timeout).send().await {
        Ok(response) if response.status().is_success() => response,
        Ok(_) | Err(_) => return Fetched::Inaccessible,
    };
    let mut response = response;
    let mut head = Vec::new();
    while head.len() < 64 {
        match tokio::time::timeout(state.config.pull_timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => head.extend_from_slice(&chunk),
            Ok(Ok(None)) | Ok(Err(_)) | Err(_) => break,
        }
    }
    Fetched::Body(head)
}

/// Recognises audio containers by their first bytes.
pub fn classify(head: &[u8]) -> PullOutcome {
    if head.is_empty() {
        return PullOutcome::Failed(StreamEndCode::NoAudioData);
    }
    if let Some(duration) = wav_duration(head) {
        return PullOutcome::Audio {
            duration: Some(duration),
        };
    }
    let starts = |magic: &[u8]| head.starts_with(magic);
    let mpeg_frame = head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0;
    let mp4 = head.len() >= 8 && &head[4..8] == b"ftyp";
    let transport_stream = head[0] == 0x47 && head.len() > 188 && head[188] == 0x47;
    let audio = starts(b"ID3")
        || starts(b"RIFF")
        || starts(b"OggS")
        || starts(b"fLaC")
        || starts(b"FLV")
        || starts(b"#EXTM3U")
        || mpeg_frame
        || mp4
        || transport_stream;
    if audio {
        PullOutcome::Audio { duration: None }
    } else {
        PullOutcome::Failed(StreamEndCode::InvalidStreamData)
    }
}

/// Duration of a PCM WAV from its header: data size / byte rate.
fn wav_duration(head: &[u8]) -> Option<Duration> {
    if head.len() < 44 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let byte_rate = u32::from_le_bytes(head[28..32].try_into().ok()?);
    let mut offset = 12;
    while offset + 8 <= head.len() {
        let id = &head[offset..offset + 4];
        let size = u32::from_le_bytes(head[offset + 4..offset + 8].try_into().ok()?);
        if id == b"data" {
            return (byte_rate > 0).then(|| Duration::from_secs_f64(f64::from(size) / f64::from(byte_rate)));
        }
        offset += 8 + size as usize;
    }
    None
}

/// A PCM WAV header for `seconds` of 8 kHz mono 16-bit audio (silence follows).
pub fn wav_header(seconds: u32) -> Vec<u8> {
    let byte_rate: u32 = 8_000 * 2;
    let data_size = byte_rate * seconds;
    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_size).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&8_000u32.to_le_bytes());
    header.extend_from_slice(&byte_rate.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_size.to_le_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_retries_grow_by_five_seconds_up_to_a_minute() {
        let waits: Vec<u64> = (1..=PULL_RETRIES).map(|k| retry_interval(k).as_secs()).collect();
        assert_eq!(waits, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]);
        assert_eq!(retry_interval(20).as_secs(), 60);
    }

    #[test]
    fn bodies_are_classified_by_their_first_bytes() {
        assert_eq!(classify(b""), PullOutcome::Failed(StreamEndCode::NoAudioData));
        assert_eq!(
            classify(b"<html>not found</html>"),
            PullOutcome::Failed(StreamEndCode::InvalidStreamData)
        );
        assert_eq!(classify(b"ID3\x04\x00"), PullOutcome::Audio { duration: None });
        assert_eq!(classify(b"FLV\x01\x05"), PullOutcome::Audio { duration: None });
        assert_eq!(
            classify(b"#EXTM3U\n#EXT-X-VERSION:3"),
            PullOutcome::Audio { duration: None }
        );
        assert_eq!(classify(&[0xFF, 0xF1, 0x50]), PullOutcome::Audio { duration: None });
        assert_eq!(
            classify(&wav_header(25)),
            PullOutcome::Audio {
                duration: Some(Duration::from_secs(25))
            }
        );
    }

    #[test]
    fn only_loopback_is_called_unless_allowed() {
        assert!(permitted("http://127.0.0.1:9/x", false).is_ok());
        assert!(permitted("http://localhost:9/x", false).is_ok());
        assert!(permitted("http://[::1]:9/x", false).is_ok());
        assert!(permitted("http://192.0.2.1/x", false).is_err());
        assert!(permitted("https://example.com/x", false).is_err());
        assert!(permitted("https://example.com/x", true).is_ok());
    }
}

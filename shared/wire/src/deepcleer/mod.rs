//! DeepCleer (ISHUMEI) audio-stream moderation, v4.
//!
//! Source: DeepCleer's audio-stream request, close and overview pages and the
//! video close page (`tests/fixtures/README.md` maps each fixture to them).

mod callback;
mod response;
mod start;
mod vocabulary;

/// The engine's shared vocabulary, as DeepCleer's messages use it.
pub use crate::verdict::{RiskLabel, RiskLevel, SegmentId};
pub use callback::*;
pub use response::*;
pub use start::*;
pub use vocabulary::*;

/// Path of the start (Request) API.
pub const START_PATH: &str = "/audiostream/v4";
/// Path of the audio Close Stream API.
pub const CLOSE_AUDIO_PATH: &str = "/finish_audiostream/v4";
/// Path of the video Close Stream API.
pub const CLOSE_VIDEO_PATH: &str = "/finish_videostream/v4";

/// How often DeepCleer retries a callback that was not answered with HTTP 200.
pub const CALLBACK_RETRIES: u32 = 20;
/// Length of one moderated segment.
pub const SEGMENT_LENGTH: std::time::Duration = std::time::Duration::from_secs(10);

/// The documented audio-stream clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCluster {
    SiliconValley,
    Singapore,
}

impl AudioCluster {
    /// Base URL of the cluster: the documented host over HTTPS (the
    /// reference allows HTTP or HTTPS; the accessKey, RTC tokens and callback
    /// tokens travel in these requests, so never in clear).
    pub fn base_url(self) -> &'static str {
        match self {
            AudioCluster::SiliconValley => "https://api-audiostream-gg.fengkongcloud.com",
            AudioCluster::Singapore => "https://api-audiostream-xjp.fengkongcloud.com",
        }
    }

    /// Parses a configuration value: `silicon-valley`/`gg` or `singapore`/`xjp`.
    pub fn from_config(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "silicon-valley" | "siliconvalley" | "gg" | "us" => Some(AudioCluster::SiliconValley),
            "singapore" | "xjp" | "sg" => Some(AudioCluster::Singapore),
            _ => None,
        }
    }
}

/// The documented video-stream clusters (for closing video tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCluster {
    Shanghai,
    Singapore,
}

impl VideoCluster {
    /// Base URL of the cluster: the documented host over HTTPS (as above).
    pub fn base_url(self) -> &'static str {
        match self {
            VideoCluster::Shanghai => "https://api-videostream-sh.fengkongcloud.com",
            VideoCluster::Singapore => "https://api-videostream-xjp.fengkongcloud.com",
        }
    }

    /// Parses a configuration value: `shanghai`/`sh` or `singapore`/`xjp`.
    pub fn from_config(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "shanghai" | "sh" => Some(VideoCluster::Shanghai),
            "singapore" | "xjp" | "sg" => Some(VideoCluster::Singapore),
            _ => None,
        }
    }
}

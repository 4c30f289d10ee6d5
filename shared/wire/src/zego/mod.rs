//! ZEGOCLOUD server API: `StartCensorAudioV2`, `StopCensorAudioV2`, their
//! signed common query parameters ([`api`]), and the `censor_audio_v2_result`
//! / `censor_audio_v2_status` callbacks with their signature ([`callback`]).
//!
//! Source: the Zego notes and `StopCensorAudioV2` page of the provider
//! reference (see `tests/fixtures/README.md`).

mod api;
mod callback;

pub use api::*;
pub use callback::*;

use crate::enums::{code_enum, string_enum};

/// Action of the start call.
pub const START_ACTION: &str = "StartCensorAudioV2";
/// Action of the stop call.
pub const STOP_ACTION: &str = "StopCensorAudioV2";
/// The only signature version this API speaks.
pub const SIGNATURE_VERSION: &str = "2.0";
/// How far a request or callback timestamp may be from now (Zego: ±10 min).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 600;
/// Zego retries a callback at most this often (at 2, 4, 8, 16, 32 s).
pub const CALLBACK_RETRIES: u32 = 5;
/// Zego's advice for how long to wait after 50006 / 50007 / 50009.
pub const RETRY_AFTER_SECS: u64 = 300;

code_enum! {
    /// `Code` of every Zego response.
    ZegoCode "Zego return code" {
        Success = 0,
        /// HTTP request failed; retry later (Zego suggests 300 s).
        HttpRequestFailed50006 = 50006,
        /// HTTP request failed; retry later (Zego suggests 300 s).
        HttpRequestFailed50007 = 50007,
        /// Moderation failed; retry later (Zego suggests 300 s).
        ModerationFailed = 50009,
        /// Moderation (Shumei) not enabled for the account: configuration, do not retry.
        ModerationNotEnabled = 50117,
        SignatureExpired = 100000004,
        SignatureWrong = 100000005,
        SignatureVersionUnsupported = 100000014,
    }
}

impl ZegoCode {
    /// Whether Zego advises retrying later ([`RETRY_AFTER_SECS`]).
    pub fn retry_later(self) -> bool {
        matches!(
            self,
            ZegoCode::HttpRequestFailed50006 | ZegoCode::HttpRequestFailed50007 | ZegoCode::ModerationFailed
        )
    }

    /// Whether the code says the deployment's Zego configuration is wrong.
    pub fn is_configuration_error(self) -> bool {
        matches!(
            self,
            ZegoCode::ModerationNotEnabled
                | ZegoCode::SignatureExpired
                | ZegoCode::SignatureWrong
                | ZegoCode::SignatureVersionUnsupported
        )
    }
}

string_enum! {
    /// `EventId` of `StartCensorAudioV2`.
    ZegoEventId "Zego event id" {
        LiveStreaming => "live_streaming",
        AudioRoom => "audio_room",
        PrivateChat => "private_chat",
    }
}

string_enum! {
    /// `RiskTypeList` values (Zego spells DeepCleer's BANEDAUDIO `BANDAUDIO`).
    ZegoRiskType "Zego risk type" {
        Adlaw => "ADLAW", Erotic => "EROTIC", Dirty => "DIRTY", Polity => "POLITY",
        Ban => "BAN", Violent => "VIOLENT", Advert => "ADVERT", Moan => "MOAN",
        Anthen => "ANTHEN", BandAudio => "BANDAUDIO", AudioPolitical => "AUDIOPOLITICAL",
    }
}

string_enum! {
    /// `BusinessTypeList` values (`MOINIR` is Zego's spelling).
    ZegoBusinessType "Zego business type" {
        Moinir => "MOINIR", Sing => "SING", Language => "LANGUAGE", Voice => "VOICE",
    }
}

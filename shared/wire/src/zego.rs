//! ZEGOCLOUD server API: `StartCensorAudioV2`, `StopCensorAudioV2`, their
//! signed common query parameters, and the `censor_audio_v2_result` /
//! `censor_audio_v2_status` callbacks with their signature.
//!
//! Source: `zego-censor-audio-notes.md` and `zego-stop-censor-audio-v2.txt`
//! in the project's reference folder (`../shared/reference/`).

use crate::deepcleer::{AcceptLang, Lang, OtherFields, RiskLevel};
use crate::enums::{code_enum, string_enum};
use crate::lenient;
use crate::validation::{Checker, Problem, Problems};
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Action of the start call.
pub const START_ACTION: &str = "StartCensorAudioV2";
/// Action of the stop call.
pub const STOP_ACTION: &str = "StopCensorAudioV2";
/// The only signature version this API speaks.
pub const SIGNATURE_VERSION: &str = "2.0";
/// How far a request or callback timestamp may be from now (Zego: ±10 min).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 600;
/// Default base URL; regional hosts exist, so this is configuration.
pub const DEFAULT_BASE_URL: &str = "https://rtc-api.zego.im";
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

/// `lowercase_hex(md5(AppId + SignatureNonce + ServerSecret + Timestamp))`.
pub fn api_signature(app_id: u32, nonce: &str, server_secret: &str, timestamp: i64) -> String {
    let mut hasher = Md5::new();
    hasher.update(app_id.to_string());
    hasher.update(nonce);
    hasher.update(server_secret);
    hasher.update(timestamp.to_string());
    hex::encode(hasher.finalize())
}

/// The common query parameters of every server API call.
#[derive(Clone, PartialEq, Eq)]
pub struct CommonParams {
    pub action: String,
    pub app_id: u32,
    pub signature_nonce: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub signature: String,
    pub signature_version: String,
    /// Only for old projects.
    pub is_test: Option<String>,
}

impl std::fmt::Debug for CommonParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonParams")
            .field("action", &self.action)
            .field("app_id", &self.app_id)
            .field("timestamp", &self.timestamp)
            .field("signature", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl CommonParams {
    /// Signs a call. The nonce must be fresh per call (e.g. 16 random hex characters).
    pub fn signed(action: &str, app_id: u32, nonce: &str, server_secret: &str, timestamp: i64) -> Self {
        CommonParams {
            action: action.to_owned(),
            app_id,
            signature_nonce: nonce.to_owned(),
            timestamp,
            signature: api_signature(app_id, nonce, server_secret, timestamp),
            signature_version: SIGNATURE_VERSION.to_owned(),
            is_test: None,
        }
    }

    /// The query string, without the leading `?`.
    pub fn to_query(&self) -> String {
        let encode = |value: &str| percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string();
        let mut query = format!(
            "Action={}&AppId={}&SignatureNonce={}&Timestamp={}&Signature={}&SignatureVersion={}",
            encode(&self.action),
            self.app_id,
            encode(&self.signature_nonce),
            self.timestamp,
            encode(&self.signature),
            encode(&self.signature_version),
        );
        if let Some(is_test) = &self.is_test {
            query.push_str("&IsTest=");
            query.push_str(&encode(is_test));
        }
        query
    }

    /// Parses a query string (with or without `?`), naming every missing or bad parameter.
    pub fn from_query(query: &str) -> Result<Self, Problems> {
        let mut found: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for pair in query.trim_start_matches('?').split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(&text.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            found.insert(decode(key), decode(value));
        }
        let mut check = Checker::default();
        let mut text = |name: &str| -> String {
            let value = found.get(name).cloned().unwrap_or_default();
            check.required(name, &value);
            value
        };
        let action = text("Action");
        let app_id = text("AppId");
        let signature_nonce = text("SignatureNonce");
        let timestamp = text("Timestamp");
        let signature = text("Signature");
        let signature_version = text("SignatureVersion");
        let app_id_number = app_id.parse::<u32>();
        if !app_id.is_empty() && app_id_number.is_err() {
            check.fail("AppId", "must be an unsigned 32-bit integer");
        }
        let timestamp_number = timestamp.parse::<i64>();
        if !timestamp.is_empty() && timestamp_number.is_err() {
            check.fail("Timestamp", "must be Unix seconds");
        }
        check.finish()?;
        Ok(CommonParams {
            action,
            app_id: app_id_number.unwrap_or_default(),
            signature_nonce,
            timestamp: timestamp_number.unwrap_or_default(),
            signature,
            signature_version,
            is_test: found.get("IsTest").cloned(),
        })
    }

    /// Checks version, freshness and signature as Zego does, returning Zego's code.
    pub fn verify(&self, server_secret: &str, now_unix: i64) -> Result<(), ZegoCode> {
        if self.signature_version != SIGNATURE_VERSION {
            return Err(ZegoCode::SignatureVersionUnsupported);
        }
        if (now_unix - self.timestamp).abs() > TIMESTAMP_TOLERANCE_SECS {
            return Err(ZegoCode::SignatureExpired);
        }
        let expected = api_signature(self.app_id, &self.signature_nonce, server_secret, self.timestamp);
        if bool::from(
            expected
                .as_bytes()
                .ct_eq(self.signature.to_ascii_lowercase().as_bytes()),
        ) {
            Ok(())
        } else {
            Err(ZegoCode::SignatureWrong)
        }
    }
}

/// Characters left as they are in a query value (RFC 3986 unreserved).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Body of `?Action=StartCensorAudioV2`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct StartCensorAudio {
    pub room_id: String,
    pub event_id: Option<ZegoEventId>,
    pub result_callback_url: Option<String>,
    pub status_callback_url: Option<String>,
    /// 0 per-stream (default), 1 mixed.
    pub is_mixing_enabled: Option<i64>,
    pub audio_language: Option<Lang>,
    pub risk_type_list: Option<Vec<ZegoRiskType>>,
    pub business_type_list: Option<Vec<ZegoBusinessType>>,
    pub label_language: Option<AcceptLang>,
    pub return_all_text: Option<i64>,
    pub return_pre_text: Option<i64>,
    pub return_pre_audio: Option<i64>,
    pub return_finish_info: Option<i64>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

impl StartCensorAudio {
    /// Checks every documented rule; returns all problems found.
    pub fn validate(&self) -> Result<(), Problems> {
        let mut check = Checker::default();
        check.required("RoomId", &self.room_id);
        match &self.event_id {
            Some(event) => check.known(
                "EventId",
                event.is_known(),
                event.as_str(),
                ZegoEventId::WHAT,
                &ZegoEventId::known_list(),
            ),
            None => check.fail(
                "EventId",
                format!("is required; use one of {}", ZegoEventId::known_list()),
            ),
        }
        match &self.audio_language {
            Some(lang) => check.known(
                "AudioLanguage",
                lang.is_known(),
                lang.as_str(),
                Lang::WHAT,
                &Lang::known_list(),
            ),
            None => check.fail("AudioLanguage", "is required"),
        }
        match &self.label_language {
            Some(lang) => check.known(
                "LabelLanguage",
                lang.is_known(),
                lang.as_str(),
                AcceptLang::WHAT,
                &AcceptLang::known_list(),
            ),
            None => check.fail("LabelLanguage", "is required (zh or en)"),
        }
        for (index, risk) in self.risk_type_list.iter().flatten().enumerate() {
            check.known(
                &format!("RiskTypeList[{index}]"),
                risk.is_known(),
                risk.as_str(),
                ZegoRiskType::WHAT,
                &ZegoRiskType::known_list(),
            );
        }
        for (index, business) in self.business_type_list.iter().flatten().enumerate() {
            check.known(
                &format!("BusinessTypeList[{index}]"),
                business.is_known(),
                business.as_str(),
                ZegoBusinessType::WHAT,
                &ZegoBusinessType::known_list(),
            );
        }
        let empty = |list: &Option<Vec<_>>| list.as_ref().is_none_or(Vec::is_empty);
        if empty(&self.risk_type_list) && self.business_type_list.as_ref().is_none_or(Vec::is_empty) {
            check.fail("RiskTypeList", "RiskTypeList or BusinessTypeList must be non-empty");
        }
        check.flag("IsMixingEnabled", self.is_mixing_enabled);
        check.flag("ReturnAllText", self.return_all_text);
        check.flag("ReturnPreText", self.return_pre_text);
        check.flag("ReturnPreAudio", self.return_pre_audio);
        check.flag("ReturnFinishInfo", self.return_finish_info);
        for (field, url) in [
            ("ResultCallbackUrl", &self.result_callback_url),
            ("StatusCallbackUrl", &self.status_callback_url),
        ] {
            if let Some(url) = url {
                check.url(field, url, &["http", "https"]);
            }
        }
        check.finish()
    }
}

/// Body of `?Action=StopCensorAudioV2`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct StopCensorAudio {
    pub task_id: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

impl StopCensorAudio {
    /// `TaskId` is required.
    pub fn validate(&self) -> Result<(), Problems> {
        let mut check = Checker::default();
        check.required("TaskId", &self.task_id);
        check.finish()
    }
}

/// Response of either action: `{Code, Message, RequestId, Data}`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "PascalCase")]
pub struct ZegoResponse {
    pub code: ZegoCode,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub request_id: String,
    /// Present on a successful start: the task's id.
    #[serde(default)]
    pub data: Option<StartCensorAudioData>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `Data` of a start response.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct StartCensorAudioData {
    /// 32 hex characters; what `StopCensorAudioV2` takes.
    pub task_id: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `sha1(sorted(secret, timestamp, nonce) joined)`, lowercase hex.
pub fn callback_signature(callback_secret: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [callback_secret, timestamp, nonce];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat()))
}

/// Why a Zego callback was not accepted as authentic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackAuthError {
    #[error("the callback has no {0}")]
    Missing(&'static str),
    #[error("the callback Timestamp is not Unix seconds")]
    BadTimestamp,
    #[error("the callback Timestamp is {skew_secs} s from now (at most {TIMESTAMP_TOLERANCE_SECS} s accepted)")]
    Stale { skew_secs: i64 },
    #[error("the callback Signature does not match")]
    WrongSignature,
}

/// The signature fields every Zego callback carries.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct CallbackAuth {
    #[serde(deserialize_with = "lenient::opt_text")]
    pub app_id: Option<String>,
    /// Unix seconds, kept as the text that was signed.
    #[serde(deserialize_with = "lenient::opt_text")]
    pub timestamp: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub nonce: Option<String>,
    pub signature: Option<String>,
}

impl CallbackAuth {
    /// Verifies the signature (constant time) and that the timestamp is within ±10 min of `now_unix`.
    ///
    /// The signature does not cover the body: callers must also treat a
    /// repeated `ResultTaskId` as a duplicate.
    pub fn verify(&self, callback_secret: &str, now_unix: i64) -> Result<(), CallbackAuthError> {
        let timestamp = self
            .timestamp
            .as_deref()
            .ok_or(CallbackAuthError::Missing("Timestamp"))?;
        let nonce = self.nonce.as_deref().ok_or(CallbackAuthError::Missing("Nonce"))?;
        let signature = self
            .signature
            .as_deref()
            .ok_or(CallbackAuthError::Missing("Signature"))?;
        let expected = callback_signature(callback_secret, timestamp, nonce);
        if !bool::from(expected.as_bytes().ct_eq(signature.to_ascii_lowercase().as_bytes())) {
            return Err(CallbackAuthError::WrongSignature);
        }
        let seconds = timestamp
            .trim()
            .parse::<i64>()
            .map_err(|_| CallbackAuthError::BadTimestamp)?;
        let skew_secs = (now_unix - seconds).abs();
        if skew_secs > TIMESTAMP_TOLERANCE_SECS {
            return Err(CallbackAuthError::Stale { skew_secs });
        }
        Ok(())
    }

    /// Fills in a valid signature (what the simulator and tests do).
    pub fn sign(app_id: u32, callback_secret: &str, timestamp: i64, nonce: &str) -> Self {
        let timestamp = timestamp.to_string();
        CallbackAuth {
            app_id: Some(app_id.to_string()),
            signature: Some(callback_signature(callback_secret, &timestamp, nonce)),
            timestamp: Some(timestamp),
            nonce: Some(nonce.to_owned()),
        }
    }
}

/// A callback from Zego, told apart by its `Event`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Event")]
pub enum ZegoCallback {
    #[serde(rename = "censor_audio_v2_result")]
    Result(Box<ZegoResultCallback>),
    #[serde(rename = "censor_audio_v2_status")]
    Status(Box<ZegoStatusCallback>),
}

impl ZegoCallback {
    /// The signature fields.
    pub fn auth(&self) -> &CallbackAuth {
        match self {
            ZegoCallback::Result(result) => &result.auth,
            ZegoCallback::Status(status) => &status.auth,
        }
    }

    /// The moderation task's id.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            ZegoCallback::Result(result) => result
                .task_id
                .as_deref()
                .or_else(|| result.result_task_id.rsplit_once('_').map(|(task, _)| task)),
            ZegoCallback::Status(status) => Some(&status.task_id),
        }
    }
}

/// `censor_audio_v2_result`: one segment's result.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "PascalCase")]
pub struct ZegoResultCallback {
    #[serde(flatten)]
    pub auth: CallbackAuth,
    /// 0 is success.
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub task_id: Option<String>,
    /// `TaskId_N`: the deduplication key.
    pub result_task_id: String,
    #[serde(default)]
    pub detail: Option<ZegoResultDetail>,
    #[serde(default)]
    pub aux_info: Option<ZegoResultAuxInfo>,
}

/// `Detail` of a result callback.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "PascalCase")]
pub struct ZegoResultDetail {
    /// The disposition.
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub audio_text: Option<String>,
    #[serde(default)]
    pub audio_url: Option<String>,
    #[serde(default)]
    pub pre_audio_url: Option<String>,
    #[serde(default)]
    pub risk_description: Option<String>,
    #[serde(default)]
    pub risk_label1: Option<String>,
    #[serde(default)]
    pub risk_label2: Option<String>,
    #[serde(default)]
    pub risk_label3: Option<String>,
    /// 0 silent, 1 not silent.
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub vad_status: Option<i64>,
    #[serde(default)]
    pub risk_detail: Option<ZegoRiskDetail>,
    /// Undocumented element shape; kept as JSON.
    #[serde(default)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_values()"))]
    pub risk_info_list: Option<Vec<Value>>,
    #[serde(default)]
    pub business_info_list: Option<Vec<ZegoBusinessInfo>>,
}

/// `Detail.RiskDetail`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct ZegoRiskDetail {
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub risk_source: Option<i64>,
    pub audio_text: Option<String>,
    /// Undocumented element shape; kept as JSON.
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_values()"))]
    pub matched_lists: Option<Vec<Value>>,
}

/// `Detail.BusinessInfoList[]`; the third label is spelled `BusinessLabe3` on the wire.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct ZegoBusinessInfo {
    pub business_description: Option<String>,
    pub business_label1: Option<String>,
    pub business_label2: Option<String>,
    #[serde(rename = "BusinessLabe3", alias = "BusinessLabel3")]
    pub business_label3: Option<String>,
}

/// `AuxInfo` of a result callback.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct ZegoResultAuxInfo {
    #[serde(deserialize_with = "lenient::opt_text")]
    pub room_id: Option<String>,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub process_begin_time: Option<i64>,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub process_finish_time: Option<i64>,
}

/// `censor_audio_v2_status`: the task's status (0 = finished).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "PascalCase")]
pub struct ZegoStatusCallback {
    #[serde(flatten)]
    pub auth: CallbackAuth,
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    pub task_id: String,
    /// 0 = finished.
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub status: Option<i64>,
    #[serde(default)]
    pub aux_info: Option<ZegoStatusAuxInfo>,
}

impl ZegoStatusCallback {
    /// Whether the status says the task finished.
    pub fn is_finished(&self) -> bool {
        self.status == Some(0)
    }
}

/// `AuxInfo` of a status callback.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "PascalCase")]
pub struct ZegoStatusAuxInfo {
    #[serde(deserialize_with = "lenient::opt_text")]
    pub room_id: Option<String>,
    /// Seconds moderated.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub censor_stream_time: Option<i64>,
}

/// Parses a callback body, URL-decoding it first when it is not plain JSON
/// (Zego's docs say the body may need URL-decoding).
pub fn parse_callback(body: &[u8]) -> Result<ZegoCallback, Problems> {
    let plain = std::str::from_utf8(body).map_err(|_| body_problem("is not UTF-8"))?;
    let trimmed = plain.trim_start();
    let decoded;
    let json = if trimmed.starts_with('{') {
        plain
    } else {
        decoded = percent_encoding::percent_decode_str(&plain.replace('+', " "))
            .decode_utf8()
            .map_err(|_| body_problem("is neither JSON nor URL-encoded UTF-8 JSON"))?
            .into_owned();
        &decoded
    };
    crate::validation::parse_with_path(json)
}

fn body_problem(rule: &str) -> Problems {
    Problems(vec![Problem {
        field: "(body)".into(),
        rule: rule.into(),
    }])
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for ZegoCallback {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        prop_oneof![
            any::<ZegoResultCallback>().prop_map(|result| ZegoCallback::Result(Box::new(result))),
            any::<ZegoStatusCallback>().prop_map(|status| ZegoCallback::Status(Box::new(status))),
        ]
        .boxed()
    }
}

//! Calls to Zego's server API: the signed common query parameters and the
//! bodies and answers of `StartCensorAudioV2` / `StopCensorAudioV2`.

use super::{SIGNATURE_VERSION, TIMESTAMP_TOLERANCE_SECS, ZegoBusinessType, ZegoCode, ZegoEventId, ZegoRiskType};
use crate::deepcleer::{AcceptLang, Lang, OtherFields};
use crate::validation::{Checker, Problems};
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

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

//! The callbacks Zego sends: `censor_audio_v2_result` (one segment) and
//! `censor_audio_v2_status` (the task's status), signed with the callback
//! secret over the timestamp and nonce.

use super::TIMESTAMP_TOLERANCE_SECS;
use crate::deepcleer::RiskLevel;
use crate::lenient;
use crate::validation::{Problem, Problems};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq;

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
    crate::validation::parse_with_path(&callback_json(body)?)
}

/// A callback body as JSON text, URL-decoded when it is not plain JSON.
pub fn callback_json(body: &[u8]) -> Result<std::borrow::Cow<'_, str>, Problems> {
    let plain = std::str::from_utf8(body).map_err(|_| body_problem("is not UTF-8"))?;
    if plain.trim_start().starts_with('{') {
        return Ok(std::borrow::Cow::Borrowed(plain));
    }
    Ok(std::borrow::Cow::Owned(
        percent_encoding::percent_decode_str(&plain.replace('+', " "))
            .decode_utf8()
            .map_err(|_| body_problem("is neither JSON nor URL-encoded UTF-8 JSON"))?
            .into_owned(),
    ))
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

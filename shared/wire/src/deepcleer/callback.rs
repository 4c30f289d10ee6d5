//! Callbacks DeepCleer POSTs to the callback URL: one per segment, and a
//! stream-end callback (`statCode` 1) when `returnFinishInfo` is 1.
//!
//! Parsing is tolerant: everything is optional except what identifies the
//! segment (`requestId`) and, in a segment result, its disposition
//! (`audioDetail.riskLevel`); unknown fields are ignored; both casings of
//! the documented casing quirks are accepted; numbers may come as strings.

use super::vocabulary::{ResponseCode, StreamEndCode};
use crate::lenient;
use crate::verdict::{RiskLabel, RiskLevel, SegmentId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Any callback DeepCleer sends.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// `<task requestId>_<n>` for a segment.
    pub request_id: String,
    #[serde(default)]
    pub bt_id: Option<String>,
    #[serde(default)]
    pub code: Option<ResponseCode>,
    #[serde(default)]
    pub message: Option<String>,
    /// 0 (or absent): a segment result. 1: the stream ended.
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub stat_code: Option<i64>,
    /// Echo of the original request, including the accessKey and any RTC
    /// tokens: never store, log or forward it as is (see [`crate::redact`]).
    #[serde(default)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub request_params: Option<Value>,
    #[serde(default)]
    pub audio_detail: Option<AudioDetail>,
    /// Stream-end information (only with `statCode` 1).
    #[serde(default)]
    pub aux_info: Option<StreamEndInfo>,
}

/// What a callback is, once parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CallbackKind<'a> {
    /// A segment result with its disposition.
    Segment(&'a AudioDetail),
    /// The stream ended.
    StreamEnd(Option<&'a StreamEndInfo>),
    /// A segment callback without a result (`audioDetail` is absent), with its `code`.
    Failed(Option<ResponseCode>),
}

impl Callback {
    /// Classifies the callback by `statCode`, then by the presence of a
    /// result: a result is a result whatever `code` says (fail safe: a
    /// violation is never dropped for an odd code).
    pub fn kind(&self) -> CallbackKind<'_> {
        if self.stat_code == Some(1) {
            return CallbackKind::StreamEnd(self.aux_info.as_ref());
        }
        match &self.audio_detail {
            Some(detail) => CallbackKind::Segment(detail),
            None => CallbackKind::Failed(self.code),
        }
    }

    /// The segment identity parsed from `requestId`.
    pub fn segment_id(&self) -> SegmentId<'_> {
        SegmentId::parse(&self.request_id)
    }

    /// The client pass-through object echoed with the segment, if any.
    pub fn pass_through(&self) -> Option<&Value> {
        self.audio_detail
            .as_ref()
            .and_then(|detail| detail.aux_info.as_ref())
            .and_then(|aux| aux.pass_through.as_ref())
            .or_else(|| self.aux_info.as_ref().and_then(|aux| aux.pass_through.as_ref()))
    }
}

/// `audioDetail`: one segment's result.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct AudioDetail {
    /// The disposition. Labels and descriptions are descriptive only.
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub audio_url: Option<String>,
    #[serde(default)]
    pub risk_label1: Option<String>,
    #[serde(default)]
    pub risk_label2: Option<String>,
    #[serde(default)]
    pub risk_label3: Option<String>,
    /// For people, not for code.
    #[serde(default)]
    pub risk_description: Option<String>,
    #[serde(default)]
    pub audio_text: Option<String>,
    /// 20-second clip of the preceding and current segments (`returnPreAudio` 1).
    #[serde(default)]
    pub pre_audio_url: Option<String>,
    #[serde(default)]
    pub risk_detail: Option<RiskDetail>,
    #[serde(default)]
    pub aux_info: Option<SegmentAuxInfo>,
    #[serde(default)]
    pub business_labels: Option<Vec<BusinessLabel>>,
    #[serde(default)]
    pub all_labels: Option<Vec<RiskLabel>>,
    #[serde(default)]
    pub token_profile_labels: Option<Vec<TokenLabel>>,
    #[serde(default)]
    pub token_risk_labels: Option<Vec<TokenLabel>>,
    /// Per second (up to 10), every active speaker; Agora mixed streams only.
    #[serde(default)]
    pub speakers: Option<Vec<Vec<Speaker>>>,
    /// 0 silent, 1 not silent.
    #[serde(default, deserialize_with = "lenient::opt_integer")]
    pub vad_code: Option<i64>,
    /// Legacy attribute labels; prefer `business_labels`.
    #[serde(default)]
    pub audio_tags: Option<AudioTags>,
}

/// `riskDetail`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct RiskDetail {
    /// 1000 no risk, 1001 text, 1003 audio.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub risk_source: Option<i64>,
    pub audio_text: Option<String>,
    pub matched_lists: Option<Vec<MatchedList>>,
    pub risk_segments: Option<Vec<RiskSegment>>,
}

/// A custom list that matched (`riskDetail.matchedLists[]`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct MatchedList {
    pub name: Option<String>,
    pub words: Option<Vec<MatchedWord>>,
}

/// `matchedLists[].words[]`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct MatchedWord {
    pub word: Option<String>,
    /// 0-indexed positions in the text.
    pub position: Option<Vec<i64>>,
}

/// `riskDetail.riskSegments[]`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct RiskSegment {
    pub segment: Option<String>,
    pub position: Option<Vec<i64>>,
}

/// `audioDetail.auxInfo`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct SegmentAuxInfo {
    /// Sent as `audioStartTime` here and `audioStarttime` by other APIs; both parse.
    #[serde(alias = "audioStarttime", deserialize_with = "lenient::opt_text")]
    pub audio_start_time: Option<String>,
    #[serde(alias = "audioEndtime", deserialize_with = "lenient::opt_text")]
    pub audio_end_time: Option<String>,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub begin_process_time: Option<i64>,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub finish_process_time: Option<i64>,
    /// In-room speaker (Agora separated streams).
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub user_id: Option<i64>,
    /// In-room speaker (separated streams of ALI, TRTC, ZEGO, VOLC, GIN).
    #[serde(deserialize_with = "lenient::opt_text")]
    pub str_user_id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_text")]
    pub room: Option<String>,
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_values()"))]
    pub sei_info: Option<Vec<Value>>,
    /// The request's `passThrough`, echoed.
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub pass_through: Option<Value>,
}

/// `businessLabels[]`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct BusinessLabel {
    pub business_label1: Option<String>,
    pub business_label2: Option<String>,
    pub business_label3: Option<String>,
    pub business_description: Option<String>,
    /// 0–1.
    #[serde(deserialize_with = "lenient::opt_number")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_finite()"))]
    pub probability: Option<f64>,
    /// 0–2.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub confidence_level: Option<i64>,
}

/// `tokenProfileLabels[]` and `tokenRiskLabels[]`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct TokenLabel {
    pub label1: Option<String>,
    pub label2: Option<String>,
    pub label3: Option<String>,
    pub description: Option<String>,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub timestamp: Option<i64>,
}

/// `speakers[][]`: one speaker at one second.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct Speaker {
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub uid: Option<i64>,
    /// 0–255.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub volume: Option<i64>,
}

/// Legacy `audioTags`: probabilities are 0–100 integers, labels Chinese strings.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct AudioTags {
    /// `男性` (male) or `女性` (female).
    pub gender: Option<LegacyTag>,
    pub timbre: Option<Vec<LegacyTag>>,
    /// 0 no singing, 1 singing.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub song: Option<i64>,
    /// Documented as an object, sent as an array in the reference example;
    /// both parse, and it is written as an array.
    #[serde(deserialize_with = "one_or_many")]
    pub language: Option<Vec<LanguageTag>>,
}

/// A legacy gender or timbre label with its 0–100 probability.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default)]
pub struct LegacyTag {
    #[serde(deserialize_with = "lenient::opt_text")]
    pub label: Option<String>,
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub probability: Option<i64>,
}

/// A legacy language label: 0 Mandarin, 1 English, 2 Cantonese, 3 Tibetan,
/// 4 Uyghur, 5 Mongolian, 6 Korean, -1 other; probability 0–100.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default)]
pub struct LanguageTag {
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub label: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub probability: Option<i64>,
}

fn one_or_many<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(
        Option::<OneOrMany<T>>::deserialize(deserializer)?.map(|value| match value {
            OneOrMany::Many(many) => many,
            OneOrMany::One(one) => vec![one],
        }),
    )
}

/// Top-level `auxInfo` of the stream-end callback.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct StreamEndInfo {
    /// Why the stream ended (3001–3005); `errorcode` also accepted.
    #[serde(alias = "errorcode")]
    pub error_code: Option<StreamEndCode>,
    /// Submitted stream duration, as the provider reports it.
    #[serde(deserialize_with = "lenient::opt_integer")]
    pub stream_time: Option<i64>,
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub pass_through: Option<Value>,
}

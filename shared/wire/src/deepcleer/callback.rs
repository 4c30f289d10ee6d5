//! Callbacks DeepCleer POSTs to the callback URL: one per segment, and a
//! stream-end callback (`statCode` 1) when `returnFinishInfo` is 1.
//!
//! Parsing is tolerant: everything is optional except what identifies the
//! segment (`requestId`) and, in a segment result, its disposition
//! (`audioDetail.riskLevel`); unknown fields are ignored; both casings of
//! the documented casing quirks are accepted; numbers may come as strings.

use super::vocabulary::{ResponseCode, RiskLevel, StreamEndCode};
use crate::lenient;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Any callback DeepCleer sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// `<task requestId>_<n>` for a segment.
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bt_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ResponseCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// 0 (or absent): a segment result. 1: the stream ended.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub stat_code: Option<i64>,
    /// Echo of the original request, including the accessKey and any RTC
    /// tokens: never store, log or forward it as is (see [`crate::redact`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub request_params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_detail: Option<AudioDetail>,
    /// Stream-end information (only with `statCode` 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux_info: Option<StreamEndInfo>,
}

/// What a callback is, once parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CallbackKind<'a> {
    /// A segment result with its disposition.
    Segment(&'a AudioDetail),
    /// The stream ended.
    StreamEnd(Option<&'a StreamEndInfo>),
    /// A segment callback without a result: `code` is not 1100 or `audioDetail` is absent.
    Failed(Option<ResponseCode>),
}

impl Callback {
    /// Classifies the callback by `statCode`, then by the presence of a result.
    pub fn kind(&self) -> CallbackKind<'_> {
        if self.stat_code == Some(1) {
            return CallbackKind::StreamEnd(self.aux_info.as_ref());
        }
        match (&self.code, &self.audio_detail) {
            (None | Some(ResponseCode::Success), Some(detail)) => CallbackKind::Segment(detail),
            (code, _) => CallbackKind::Failed(*code),
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

/// A segment `requestId`: the task's requestId and the segment number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentId<'a> {
    /// The whole id as sent (the deduplication key).
    pub full: &'a str,
    /// The task's requestId (the part before `_N`), or the whole id when it has no suffix.
    pub task_request_id: &'a str,
    /// `N`, when present.
    pub index: Option<u64>,
}

impl<'a> SegmentId<'a> {
    /// Splits `b639…5583_2` into `b639…5583` and `2`.
    pub fn parse(full: &'a str) -> Self {
        if let Some((task, suffix)) = full.rsplit_once('_')
            && !task.is_empty()
            && let Ok(index) = suffix.parse::<u64>()
        {
            return SegmentId {
                full,
                task_request_id: task,
                index: Some(index),
            };
        }
        SegmentId {
            full,
            task_request_id: full,
            index: None,
        }
    }
}

/// `audioDetail`: one segment's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct AudioDetail {
    /// The disposition. Labels and descriptions are descriptive only.
    pub risk_level: RiskLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label3: Option<String>,
    /// For people, not for code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_text: Option<String>,
    /// 20-second clip of the preceding and current segments (`returnPreAudio` 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_audio_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_detail: Option<RiskDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux_info: Option<SegmentAuxInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_labels: Option<Vec<BusinessLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_labels: Option<Vec<RiskLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_profile_labels: Option<Vec<TokenLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_risk_labels: Option<Vec<TokenLabel>>,
    /// Per second (up to 10), every active speaker; Agora mixed streams only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<Vec<Speaker>>>,
    /// 0 silent, 1 not silent.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub vad_code: Option<i64>,
    /// Legacy attribute labels; prefer `business_labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tags: Option<AudioTags>,
}

/// `riskDetail`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct RiskDetail {
    /// 1000 no risk, 1001 text, 1003 audio.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub risk_source: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_lists: Option<Vec<MatchedList>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_segments: Option<Vec<RiskSegment>>,
}

/// A custom list that matched (`riskDetail.matchedLists[]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct MatchedList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<MatchedWord>>,
}

/// `matchedLists[].words[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct MatchedWord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
    /// 0-indexed positions in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Vec<i64>>,
}

/// `riskDetail.riskSegments[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct RiskSegment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Vec<i64>>,
}

/// `audioDetail.auxInfo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct SegmentAuxInfo {
    /// Sent as `audioStartTime` here and `audioStarttime` by other APIs; both parse.
    #[serde(
        default,
        alias = "audioStarttime",
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub audio_start_time: Option<String>,
    #[serde(
        default,
        alias = "audioEndtime",
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub audio_end_time: Option<String>,
    /// Unix milliseconds.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub begin_process_time: Option<i64>,
    /// Unix milliseconds.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub finish_process_time: Option<i64>,
    /// In-room speaker (Agora separated streams).
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<i64>,
    /// In-room speaker (separated streams of ALI, TRTC, ZEGO, VOLC, GIN).
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub str_user_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_values()"))]
    pub sei_info: Option<Vec<Value>>,
    /// The request's `passThrough`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub pass_through: Option<Value>,
}

/// `businessLabels[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct BusinessLabel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_label1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_label2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_label3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_description: Option<String>,
    /// 0–1.
    #[serde(
        default,
        deserialize_with = "lenient::opt_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_finite()"))]
    pub probability: Option<f64>,
    /// 0–2.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub confidence_level: Option<i64>,
}

/// `allLabels[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct RiskLabel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_label3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_description: Option<String>,
}

/// `tokenProfileLabels[]` and `tokenRiskLabels[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct TokenLabel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix milliseconds.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
}

/// `speakers[][]`: one speaker at one second.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct Speaker {
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub uid: Option<i64>,
    /// 0–255.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub volume: Option<i64>,
}

/// Legacy `audioTags`: probabilities are 0–100 integers, labels Chinese strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct AudioTags {
    /// `男性` (male) or `女性` (female).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<LegacyTag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timbre: Option<Vec<LegacyTag>>,
    /// 0 no singing, 1 singing.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub song: Option<i64>,
    /// Documented as an object, sent as an array in the reference example;
    /// both parse, and it is written as an array.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Option::is_none")]
    pub language: Option<Vec<LanguageTag>>,
}

/// A legacy gender or timbre label with its 0–100 probability.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LegacyTag {
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub probability: Option<i64>,
}

/// A legacy language label: 0 Mandarin, 1 English, 2 Cantonese, 3 Tibetan,
/// 4 Uyghur, 5 Mongolian, 6 Korean, -1 other; probability 0–100.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct LanguageTag {
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct StreamEndInfo {
    /// Why the stream ended (3001–3005); `errorcode` also accepted.
    #[serde(default, alias = "errorcode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<StreamEndCode>,
    /// Submitted stream duration, as the provider reports it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub stream_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::opt_value()"))]
    pub pass_through: Option<Value>,
}

//! Synchronous responses, and the close requests for audio and video tasks.

use super::start::OtherFields;
use super::vocabulary::{DetailCode, ResponseCode};
use crate::validation::{Checker, Problems, parse_with_path};
use serde::{Deserialize, Serialize};

/// Response of `POST /audiostream/v4`.
///
/// The duplicate-submission case comes as `code` 1100 with `errorCode` 1001
/// and `dupRequestId`, either inside `detail` or at the top level (the
/// reference uses both placements); the video API spells it `errorcode`.
/// Both placements and both casings parse; [`SyncResponse::duplicate_of`]
/// reads whichever was sent.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct SyncResponse {
    #[serde(default)]
    pub request_id: String,
    #[serde(default = "ResponseCode::missing")]
    pub code: ResponseCode,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<ResponseDetail>,
    /// Top-level placement of the detail code.
    #[serde(default, alias = "errorcode")]
    pub error_code: Option<DetailCode>,
    /// Top-level placement of the duplicate's requestId.
    #[serde(default)]
    pub dup_request_id: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

/// `detail` of a start response.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct ResponseDetail {
    #[serde(alias = "errorcode")]
    pub error_code: Option<DetailCode>,
    pub dup_request_id: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

impl ResponseCode {
    /// A response without `code` is not a success; `Unknown(0)` marks it.
    fn missing() -> Self {
        ResponseCode::Unknown(0)
    }
}

/// What a start response means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome<'a> {
    /// A new task: its requestId.
    Started(&'a str),
    /// The stream was already in moderation (a lost acknowledgement, or a
    /// second submitter): the running task's requestId.
    Duplicate(&'a str),
    /// Refused with this code.
    Refused(ResponseCode),
}

impl SyncResponse {
    /// The running task's requestId when the provider reports a duplicate (1001).
    pub fn duplicate_of(&self) -> Option<&str> {
        let nested = self
            .detail
            .as_ref()
            .filter(|detail| detail.error_code == Some(DetailCode::DuplicateStream));
        if let Some(id) = nested.and_then(|detail| detail.dup_request_id.as_deref()) {
            return Some(id);
        }
        let flat_code = self
            .error_code
            .or_else(|| self.detail.as_ref().and_then(|detail| detail.error_code));
        if flat_code == Some(DetailCode::DuplicateStream) {
            return self
                .dup_request_id
                .as_deref()
                .or_else(|| self.detail.as_ref().and_then(|detail| detail.dup_request_id.as_deref()));
        }
        None
    }

    /// Classifies the response: started, duplicate, or refused.
    pub fn outcome(&self) -> StartOutcome<'_> {
        if self.code != ResponseCode::Success {
            return StartOutcome::Refused(self.code);
        }
        match self.duplicate_of() {
            Some(existing) if !existing.is_empty() => StartOutcome::Duplicate(existing),
            _ => StartOutcome::Started(&self.request_id),
        }
    }
}

/// Which close API a task needs.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// `finish_audiostream/v4`, 1 s timeout.
    Audio,
    /// `finish_videostream/v4` on the video clusters, 7 s timeout.
    Video,
}

/// Body of `POST /finish_audiostream/v4` and `POST /finish_videostream/v4`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct CloseRequest {
    /// Secret: never log it.
    pub access_key: String,
    /// A task's requestId, or the `dupRequestId` of a duplicate submission.
    pub request_id: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

impl CloseRequest {
    /// Checks the documented rules for the given API (video limits `requestId` to 32).
    pub fn validate(&self, kind: MediaKind) -> Result<(), Problems> {
        let mut check = Checker::default();
        if check.required("accessKey", &self.access_key) {
            check.max_chars("accessKey", &self.access_key, 20);
        }
        if check.required("requestId", &self.request_id) && kind == MediaKind::Video {
            check.max_chars("requestId", &self.request_id, 32);
        }
        check.finish()
    }
}

/// Parses a close request, reporting a type error with the path of its field.
pub fn parse_close_request(json: &str) -> Result<CloseRequest, Problems> {
    parse_with_path(json)
}

/// Response of either close API.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(rename_all = "camelCase")]
pub struct CloseResponse {
    /// Identifier of this close call (not the task's).
    #[serde(default)]
    pub request_id: String,
    #[serde(default = "ResponseCode::missing")]
    pub code: ResponseCode,
    #[serde(default)]
    pub message: String,
    #[serde(flatten)]
    #[cfg_attr(test, proptest(strategy = "crate::testgen::other_fields()"))]
    pub other: OtherFields,
}

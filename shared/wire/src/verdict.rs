//! What every provider's moderation engine says of a segment: the
//! disposition vocabulary (`riskLevel`), its labels, and the segment's id.
//! Shared by the providers' wire types and the queue event; DeepCleer and
//! Zego resell the same engine and use the same vocabulary.

use crate::enums::string_enum;
use serde::{Deserialize, Serialize};

string_enum! {
    /// Disposition of a segment. This, not the labels, decides what to do.
    /// Parsed without regard to case.
    @case_insensitive RiskLevel "risk level" {
        Pass => "PASS",
        Review => "REVIEW",
        Reject => "REJECT",
    }
}

/// A segment's id as providers send it: `<task id>_<n>` (DeepCleer's
/// segment `requestId`, Zego's `ResultTaskId`).
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

/// `allLabels[]`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(default, rename_all = "camelCase")]
pub struct RiskLabel {
    pub risk_label1: Option<String>,
    pub risk_label2: Option<String>,
    pub risk_label3: Option<String>,
    pub risk_description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_level_ignores_case_and_keeps_unknown_levels() {
        assert_eq!(RiskLevel::parse("reject"), RiskLevel::Reject);
        assert_eq!(RiskLevel::parse("Review"), RiskLevel::Review);
        assert_eq!(RiskLevel::parse("BLOCK"), RiskLevel::Unknown("BLOCK".into()));
        assert_eq!(
            RiskLevel::parse(" reject\n"),
            RiskLevel::Reject,
            "surrounding space is ignored"
        );
        assert_eq!(
            RiskLevel::parse(" Block "),
            RiskLevel::Unknown(" Block ".into()),
            "kept as given"
        );
        assert_eq!(serde_json::to_string(&RiskLevel::Reject).unwrap(), r#""REJECT""#);
    }

    #[test]
    fn segment_ids_split_into_task_and_index() {
        let id = SegmentId::parse("b639042cbfe229359e672074762c5583_12");
        assert_eq!(
            (id.task_request_id, id.index),
            ("b639042cbfe229359e672074762c5583", Some(12))
        );
        let id = SegmentId::parse("b639042cbfe229359e672074762c5583");
        assert_eq!(
            (id.task_request_id, id.index),
            ("b639042cbfe229359e672074762c5583", None)
        );
        assert_eq!(SegmentId::parse("room_a").index, None);
    }
}

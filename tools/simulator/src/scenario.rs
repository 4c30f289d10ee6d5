//! What the simulated moderation engine "hears": per-segment verdicts and
//! per-stream outcomes, set at start-up or through `PUT /_sim/scenario`.
//!
//! ```json
//! {
//!   "segments": [
//!     { "btId": "room-1", "segment": 3, "riskLevel": "REJECT", "riskLabel1": "abuse", "text": "..." },
//!     { "every": 20, "riskLevel": "REJECT" }
//!   ],
//!   "streams": [
//!     { "btId": "room-2", "durationSecs": 0, "endCode": 3005 },
//!     { "btId": "room-3", "withholdEnd": true },
//!     { "btId": "room-4", "silent": true }
//!   ]
//! }
//! ```
//! The first matching rule wins; a segment no rule matches is PASS. A
//! stream no rule matches runs until it is closed (or its source ends).
//! `withholdEnd`: the stream end is never delivered (as when every retry
//! of it failed, or the provider never sent it). `silent`: no segment is
//! delivered, though the stream runs (audio that stopped coming).

use serde::{Deserialize, Serialize};
use streamguard_wire::deepcleer::RiskLevel;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scenario {
    pub segments: Vec<SegmentRule>,
    pub streams: Vec<StreamRule>,
}

/// A verdict for the segments it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentRule {
    /// Only this stream (DeepCleer `btId`, Zego `RoomId`); any when absent.
    #[serde(default)]
    pub bt_id: Option<String>,
    /// Only segment N (1-based).
    #[serde(default)]
    pub segment: Option<u64>,
    /// Every Nth segment (N, 2N, …).
    #[serde(default)]
    pub every: Option<u64>,
    pub risk_level: RiskLevel,
    #[serde(default)]
    pub risk_label1: Option<String>,
    #[serde(default)]
    pub risk_label2: Option<String>,
    #[serde(default)]
    pub risk_label3: Option<String>,
    /// The transcript; a default naming the stream and segment otherwise.
    #[serde(default)]
    pub text: Option<String>,
}

/// How a stream behaves once pulled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRule {
    #[serde(default)]
    pub bt_id: Option<String>,
    /// Simulated seconds until the stream ends by itself; never when absent.
    #[serde(default)]
    pub duration_secs: Option<f64>,
    /// `auxInfo.errorCode` of the end (e.g. 3005 for an expired RTC token).
    #[serde(default)]
    pub end_code: Option<i64>,
    /// The stream end is never delivered.
    #[serde(default)]
    pub withhold_end: bool,
    /// No segment is delivered.
    #[serde(default)]
    pub silent: bool,
}

/// The verdict for one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub risk_level: RiskLevel,
    pub labels: [String; 3],
    pub text: String,
}

impl Scenario {
    /// The verdict for segment `index` (1-based) of stream `stream`.
    pub fn verdict(&self, stream: &str, index: u64) -> Verdict {
        let rule = self.segments.iter().find(|rule| {
            rule.bt_id.as_deref().is_none_or(|id| id == stream)
                && rule.segment.is_none_or(|n| n == index)
                && rule.every.is_none_or(|every| every > 0 && index.is_multiple_of(every))
        });
        let default_text = format!("segment {index} of {stream}");
        match rule {
            None => Verdict {
                risk_level: RiskLevel::Pass,
                labels: pass_labels(),
                text: default_text,
            },
            Some(rule) => {
                let defaults = if rule.risk_level == RiskLevel::Pass {
                    pass_labels()
                } else {
                    risk_labels()
                };
                let pick = |given: &Option<String>, default: &String| given.clone().unwrap_or_else(|| default.clone());
                Verdict {
                    risk_level: rule.risk_level.clone(),
                    labels: [
                        pick(&rule.risk_label1, &defaults[0]),
                        pick(&rule.risk_label2, &defaults[1]),
                        pick(&rule.risk_label3, &defaults[2]),
                    ],
                    text: rule.text.clone().unwrap_or(default_text),
                }
            }
        }
    }

    /// The stream rule for `stream`, if any.
    pub fn stream(&self, stream: &str) -> Option<&StreamRule> {
        self.streams
            .iter()
            .find(|rule| rule.bt_id.as_deref().is_none_or(|id| id == stream))
    }
}

fn pass_labels() -> [String; 3] {
    ["normal".into(), String::new(), String::new()]
}

fn risk_labels() -> [String; 3] {
    ["abuse".into(), "insult".into(), "personal_attack".into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        serde_json::from_value(serde_json::json!({
            "segments": [
                {"btId": "a", "segment": 3, "riskLevel": "REJECT", "riskLabel1": "politics", "text": "bad"},
                {"every": 20, "riskLevel": "REVIEW"}
            ],
            "streams": [{"btId": "b", "durationSecs": 0, "endCode": 3005}, {"btId": "c", "withholdEnd": true, "silent": true}]
        }))
        .unwrap()
    }

    #[test]
    fn first_matching_rule_wins_and_the_rest_pass() {
        let scenario = scenario();
        let hit = scenario.verdict("a", 3);
        assert_eq!(hit.risk_level, RiskLevel::Reject);
        assert_eq!(
            hit.labels,
            ["politics".to_owned(), "insult".into(), "personal_attack".into()]
        );
        assert_eq!(hit.text, "bad");
        assert_eq!(scenario.verdict("b", 3).risk_level, RiskLevel::Pass);
        assert_eq!(scenario.verdict("b", 40).risk_level, RiskLevel::Review);
        assert_eq!(scenario.verdict("a", 4).labels[0], "normal");
        assert_eq!(scenario.stream("b").unwrap().end_code, Some(3005));
        assert!(scenario.stream("a").is_none());
        let quiet = scenario.stream("c").unwrap();
        assert!(quiet.withhold_end && quiet.silent);
        assert!(!scenario.stream("b").unwrap().withhold_end);
    }
}

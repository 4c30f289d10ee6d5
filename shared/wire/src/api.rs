//! streamguard's own start body (`POST /streams`): DeepCleer's start request
//! without `accessKey` and `callback` (the bundle owns both), plus an
//! optional `provider`. Every provider maps this one body onto its own start
//! call; the domain reads it only through the methods here, so it never
//! depends on any provider's field layout.

use crate::deepcleer::{StartRequest, parse_start_request};
use crate::validation::{Problem, Problems};
use serde_json::Value;

/// The body of `POST /streams`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartBody {
    /// The provider the caller named, if any (the deployment's otherwise).
    pub provider: Option<String>,
    /// The rest of the body: the start request the providers map from.
    pub request: StartRequest,
}

/// Fields the bundle sets itself; a caller sending one hears so.
pub const OWNED_FIELDS: &[&str] = &["accessKey", "callback"];

/// The longest btId: DeepCleer's `data.btId` rule, held for every provider
/// since a btId keys the task table and the history.
pub const BT_ID_MAX_CHARS: usize = 128;

impl StartBody {
    /// Parses the body; a type error names the path of its field.
    pub fn parse(json: &str) -> Result<Self, Problems> {
        let mut request = parse_start_request(json)?;
        let provider = match request.other.remove("provider") {
            None => None,
            Some(Value::String(name)) => Some(name),
            Some(other) => {
                return Err(Problems(vec![Problem {
                    field: "provider".into(),
                    rule: format!("must be a string naming a provider (is {other})"),
                }]));
            }
        };
        Ok(StartBody { provider, request })
    }

    /// The backend's stream id.
    pub fn bt_id(&self) -> &str {
        &self.request.data.bt_id
    }

    /// Problems for every bundle-owned field the caller sent.
    pub fn owned_field_problems(&self) -> Vec<Problem> {
        [
            ("accessKey", !self.request.access_key.is_empty()),
            ("callback", !self.request.callback.is_empty()),
        ]
        .into_iter()
        .filter(|(_, sent)| *sent)
        .map(|(field, _)| Problem {
            field: field.into(),
            rule: "is set by streamguard; leave it out".into(),
        })
        .collect()
    }

    /// The JSON size of each `passThrough` the start carries
    /// (`data.passThrough`, `data.extra.passThrough`): each is echoed in
    /// every event of the stream.
    pub fn pass_through_sizes(&self) -> Vec<(&'static str, usize)> {
        let data = &self.request.data;
        let size = |value: &serde_json::Map<String, serde_json::Value>| {
            serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
        };
        [
            ("data.passThrough", data.pass_through.as_ref()),
            (
                "data.extra.passThrough",
                data.extra.as_ref().and_then(|extra| extra.pass_through.as_ref()),
            ),
        ]
        .into_iter()
        .filter_map(|(field, value)| value.map(|value| (field, size(value))))
        .collect()
    }

    /// Whether the provider is asked to call back for every segment
    /// (`returnAllText` 1), not only for violations.
    pub fn reports_every_segment(&self) -> bool {
        self.request.data.return_all_text == Some(1)
    }

    /// Whether the provider is asked for a stream-end callback
    /// (`returnFinishInfo`, 1 unless the caller says 0).
    pub fn reports_stream_end(&self) -> bool {
        self.request.data.return_finish_info != Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_taken_out_of_the_request() {
        let body = StartBody::parse(r#"{"provider": "zego", "type": "DIRTY", "data": {"btId": "room-1"}}"#).unwrap();
        assert_eq!(body.provider.as_deref(), Some("zego"));
        assert!(body.request.other.get("provider").is_none());
        assert_eq!(body.bt_id(), "room-1");
        assert!(!body.reports_every_segment());
        assert!(body.reports_stream_end(), "on unless the caller says 0");
        for not_a_name in [r#"{"provider": 7}"#, r#"{"provider": null}"#] {
            let problems = StartBody::parse(not_a_name).unwrap_err();
            assert!(problems.names("provider"), "{problems}");
        }
    }

    #[test]
    fn the_pass_through_is_measured_where_it_is() {
        let body = StartBody::parse(r#"{"data": {"passThrough": {"a": "bc"}}}"#).unwrap();
        assert_eq!(body.pass_through_sizes(), [("data.passThrough", 10)]);
        let body = StartBody::parse(r#"{"data": {"extra": {"passThrough": {}}}}"#).unwrap();
        assert_eq!(body.pass_through_sizes(), [("data.extra.passThrough", 2)]);
        let both = r#"{"data": {"passThrough": {}, "extra": {"passThrough": {"a": 1}}}}"#;
        assert_eq!(
            StartBody::parse(both).unwrap().pass_through_sizes(),
            [("data.passThrough", 2), ("data.extra.passThrough", 7)],
            "both are measured"
        );
        assert!(
            StartBody::parse(r#"{"data": {}}"#)
                .unwrap()
                .pass_through_sizes()
                .is_empty()
        );
    }

    #[test]
    fn owned_fields_are_named() {
        let body = StartBody::parse(r#"{"accessKey": "mine", "callback": "https://x", "data": {}}"#).unwrap();
        let named: Vec<_> = body
            .owned_field_problems()
            .into_iter()
            .map(|problem| problem.field)
            .collect();
        assert_eq!(named, OWNED_FIELDS);
    }
}

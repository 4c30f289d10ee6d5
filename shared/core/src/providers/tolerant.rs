//! Reading a provider's callback when its typed parse fails: what identifies
//! the segment is read strictly, everything descriptive tolerantly. A field
//! of an unexpected type is taken out and named (the event lists it in
//! `unreadFields`), never a reason to refuse an authenticated violation; a
//! disposition of an unexpected type is kept as its JSON text, so that it is
//! published as given (and flagged as a level no provider documents).
//!
//! The typed parse is tried first (its lenient scalars already accept
//! numbers as strings and the like), so the common case pays nothing.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

/// Which fields of a provider's callback are not descriptive.
pub struct Rules {
    /// Fields that identify the message: a problem there refuses it.
    pub identity: &'static [&'static str],
    /// The disposition: kept as text when of another type, empty when absent.
    pub disposition: &'static str,
}

/// The most fields named in `unreadFields`; past it, the rest are taken out
/// all the same and one more name says how many.
const MOST_NAMED: usize = 32;

/// `T` from `json`, with the paths of what was taken out; an error names
/// what made the body unreadable as a callback.
pub fn read<T: DeserializeOwned>(mut json: Value, rules: &Rules) -> Result<(T, Vec<String>), String> {
    let mut unread = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&json) {
            Ok(value) => return Ok((value, named(unread))),
            Err(error) => error,
        };
        let path: Vec<Segment> = error.path().iter().cloned().collect();
        let message = error.inner().to_string();
        if let Some(missing) = missing_field(&message) {
            // A field the type requires is absent: only the disposition can be supplied.
            if missing != rules.disposition {
                return Err(format!("{} has no {missing}", shown(&path)));
            }
            let Some(Value::Object(parent)) = node(&mut json, &path) else {
                return Err(format!("{} is not an object", shown(&path)));
            };
            parent.insert(missing.to_owned(), Value::String(String::new()));
            unread.push(joined(&shown(&path), missing));
            continue;
        }
        // The deepest field on the path is the one to take out; within a
        // list, the list (one name for all its elements, however many are odd).
        let outside_lists = path
            .iter()
            .position(|segment| matches!(segment, Segment::Seq { .. }))
            .unwrap_or(path.len());
        let Some(last_key) = path[..outside_lists]
            .iter()
            .rposition(|segment| matches!(segment, Segment::Map { .. }))
        else {
            return Err(format!("the body is not a callback ({message})"));
        };
        let Segment::Map { key } = &path[last_key] else {
            unreachable!("rposition found a map segment")
        };
        if rules.identity.contains(&key.as_str()) {
            return Err(format!("{}: {message}", shown(&path[..=last_key])));
        }
        let name = shown(&path[..=last_key]);
        let Some(Value::Object(parent)) = node(&mut json, &path[..last_key]) else {
            return Err(format!("{name}: {message}"));
        };
        if key == rules.disposition {
            let text = match parent.get(key.as_str()) {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            parent.insert(key.clone(), Value::String(text));
            if unread.contains(&name) {
                return Err(format!("{name}: {message}"));
            }
        } else if parent.remove(key.as_str()).is_none() {
            return Err(format!("{name}: {message}"));
        }
        unread.push(name);
    }
}

/// The names to report: all of them, or the first ones and how many more.
fn named(mut unread: Vec<String>) -> Vec<String> {
    if unread.len() > MOST_NAMED {
        let more = unread.len() - MOST_NAMED;
        unread.truncate(MOST_NAMED);
        unread.push(format!("(and {more} more)"));
    }
    unread
}

/// The field a "missing field" error names.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The value at `path`.
fn node<'a>(json: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    let mut at = json;
    for segment in path {
        at = match segment {
            Segment::Map { key } => at.get_mut(key.as_str())?,
            Segment::Seq { index } => at.get_mut(*index)?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    Some(at)
}

fn shown(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Map { key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Enum { variant } => text.push_str(variant),
            Segment::Unknown => text.push('?'),
        }
    }
    if text.is_empty() { "(body)".to_owned() } else { text }
}

fn joined(parent: &str, field: &str) -> String {
    if parent == "(body)" {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Message {
        id: String,
        detail: Option<Detail>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Detail {
        level: String,
        label: Option<String>,
        labels: Option<Vec<Label>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Label {
        name: Option<String>,
    }

    const RULES: Rules = Rules {
        identity: &["id"],
        disposition: "level",
    };

    fn read_message(json: Value) -> Result<(Message, Vec<String>), String> {
        read(json, &RULES)
    }

    #[test]
    fn descriptive_fields_of_unexpected_types_are_taken_out_and_named() {
        let (message, unread) = read_message(json!({"id": "a_1", "detail": {"level": "REJECT", "label": 7,
            "labels": {"name": "not a list"}}}))
        .unwrap();
        assert_eq!(message.detail.as_ref().unwrap().level, "REJECT");
        assert_eq!(message.detail.as_ref().unwrap().label, None);
        assert_eq!(message.detail.unwrap().labels, None);
        assert_eq!(unread, ["detail.label", "detail.labels"]);
        let (_, unread) =
            read_message(json!({"id": "a_1", "detail": {"level": "REJECT", "labels": [{"name": 1}]}})).unwrap();
        assert_eq!(unread, ["detail.labels"], "within a list, the list");
        // However many elements are odd: one name, one pass per field.
        let many: Vec<Value> = (0..500).map(|n| json!({"name": n})).collect();
        let (message, unread) =
            read_message(json!({"id": "a_1", "detail": {"level": "REJECT", "labels": many}})).unwrap();
        assert_eq!(unread, ["detail.labels"]);
        assert_eq!(message.detail.unwrap().level, "REJECT");
    }

    #[test]
    fn the_disposition_is_kept_as_given_and_supplied_when_absent() {
        let (message, unread) = read_message(json!({"id": "a_1", "detail": {"level": 5}})).unwrap();
        assert_eq!(message.detail.unwrap().level, "5");
        assert_eq!(unread, ["detail.level"]);
        let (message, unread) = read_message(json!({"id": "a_1", "detail": {"label": "x"}})).unwrap();
        assert_eq!(message.detail.unwrap().level, "");
        assert_eq!(unread, ["detail.level"]);
    }

    #[test]
    fn what_identifies_the_message_is_strict() {
        assert!(read_message(json!({"id": 5})).unwrap_err().contains("id"));
        assert!(
            read_message(json!({"detail": {"level": "REJECT"}}))
                .unwrap_err()
                .contains("id")
        );
        assert!(read_message(json!([1, 2])).is_err());
    }
}

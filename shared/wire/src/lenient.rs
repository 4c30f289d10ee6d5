//! Tolerant deserialisers for inbound provider messages.
//!
//! The reference documents numbers that some senders put in strings and
//! strings that some put as numbers (timestamps, codes). Inbound parsing
//! accepts either; outbound serialisation always uses the documented type.

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A JSON scalar as it may arrive.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar<'a> {
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    #[serde(borrow)]
    Text(std::borrow::Cow<'a, str>),
    Bool(bool),
}

fn integer_from<E: de::Error>(scalar: Scalar<'_>) -> Result<i64, E> {
    match scalar {
        Scalar::Integer(value) => Ok(value),
        Scalar::Unsigned(value) => {
            i64::try_from(value).map_err(|_| E::custom(format!("integer {value} is out of range")))
        }
        Scalar::Float(value) if value.fract() == 0.0 && value.abs() < 9.0e15 => Ok(value as i64),
        Scalar::Float(value) => Err(E::custom(format!("expected an integer, got {value}"))),
        Scalar::Text(text) => {
            let trimmed = text.trim();
            trimmed
                .parse::<i64>()
                .map_err(|_| E::custom(format!("expected an integer, got the string {trimmed:?}")))
        }
        Scalar::Bool(value) => Err(E::custom(format!("expected an integer, got {value}"))),
    }
}

/// An integer sent as a number or as a numeric string.
pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    integer_from(Scalar::deserialize(deserializer)?)
}

/// An optional integer sent as a number, a numeric string, `null` or `""`.
pub fn opt_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<Scalar<'de>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Scalar::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(scalar) => integer_from(scalar).map(Some),
    }
}

/// An optional number sent as a number, a numeric string, `null` or `""`.
pub fn opt_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    match Option::<Scalar<'de>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Scalar::Integer(value)) => Ok(Some(value as f64)),
        Some(Scalar::Unsigned(value)) => Ok(Some(value as f64)),
        Some(Scalar::Float(value)) => Ok(Some(value)),
        Some(Scalar::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Scalar::Text(text)) => text
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a number, got the string {text:?}"))),
        Some(Scalar::Bool(value)) => Err(de::Error::custom(format!("expected a number, got {value}"))),
    }
}

/// An optional string that some senders put as a number (timestamps).
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Scalar<'de>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Scalar::Text(text)) => Ok(Some(text.into_owned())),
        Some(Scalar::Integer(value)) => Ok(Some(value.to_string())),
        Some(Scalar::Unsigned(value)) => Ok(Some(value.to_string())),
        Some(Scalar::Float(value)) => Ok(Some(value.to_string())),
        Some(Scalar::Bool(value)) => Ok(Some(value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_integer")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "opt_number")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_text")]
        t: Option<String>,
    }

    fn probe(json: &str) -> Result<Probe, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integers_arrive_as_numbers_strings_or_whole_floats() {
        assert_eq!(probe(r#"{"n": 7}"#).unwrap().n, Some(7));
        assert_eq!(probe(r#"{"n": "7"}"#).unwrap().n, Some(7));
        assert_eq!(probe(r#"{"n": " 1637847113897 "}"#).unwrap().n, Some(1_637_847_113_897));
        assert_eq!(probe(r#"{"n": 3.0}"#).unwrap().n, Some(3));
        assert_eq!(probe(r#"{"n": null}"#).unwrap().n, None);
        assert_eq!(probe(r#"{"n": ""}"#).unwrap().n, None);
        assert_eq!(probe(r#"{}"#).unwrap().n, None);
    }

    #[test]
    fn integers_reject_what_is_not_an_integer() {
        assert!(probe(r#"{"n": 3.5}"#).is_err());
        assert!(probe(r#"{"n": "abc"}"#).is_err());
        assert!(probe(r#"{"n": true}"#).is_err());
        assert!(probe(r#"{"n": 18446744073709551615}"#).is_err());
    }

    #[test]
    fn numbers_and_texts_are_lenient() {
        assert_eq!(probe(r#"{"f": "0.25"}"#).unwrap().f, Some(0.25));
        assert_eq!(probe(r#"{"f": 1}"#).unwrap().f, Some(1.0));
        assert!(probe(r#"{"f": "x"}"#).is_err());
        assert_eq!(
            probe(r#"{"t": 1637847113897}"#).unwrap().t.as_deref(),
            Some("1637847113897")
        );
        assert_eq!(probe(r#"{"t": "12:00:01"}"#).unwrap().t.as_deref(), Some("12:00:01"));
    }
}

//! Tolerant deserialisers for inbound provider messages (and, for integers
//! written `474.0`, the API's start body).
//!
//! The reference documents numbers that some senders put in strings and
//! strings that some put as numbers (timestamps, codes). Inbound parsing
//! accepts either; outbound serialisation always uses the documented type.

use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON scalar as it may arrive.
///
/// Read with a visitor through `deserialize_any`: the token is taken as it
/// comes, with no buffering (an untagged enum here cost more than half of a
/// callback's parse).
enum Scalar<'a> {
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    Text(Cow<'a, str>),
    Bool(bool),
    Null,
    /// An object or array where a scalar was expected.
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a number, a string, a boolean or null")
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Integer(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(value))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(value)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Ok(Scalar::Other)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Ok(Scalar::Other)
    }
}

fn scalar<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scalar<'de>, D::Error> {
    deserializer.deserialize_any(ScalarVisitor)
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
        Scalar::Null => Err(E::custom("expected an integer, got null")),
        Scalar::Other => Err(E::custom("expected an integer, got an object or array")),
    }
}

/// An integer sent as a number or as a numeric string.
pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    integer_from(scalar(deserializer)?)
}

/// An optional integer sent as a number, a numeric string, `null` or `""`.
pub fn opt_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match scalar(deserializer)? {
        Scalar::Null => Ok(None),
        Scalar::Text(text) if text.trim().is_empty() => Ok(None),
        other => integer_from(other).map(Some),
    }
}

/// An optional integer as JSON reads one: a number without a fraction,
/// written `474` or `474.0` (the same value; JSON Schema's `integer` admits
/// both), or `null`. A string or a fraction is refused, as for a plain `i64`.
pub fn opt_whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    /// 2^63: every float below it in magnitude with no fraction is an `i64`.
    const BOUND: f64 = 9_223_372_036_854_775_808.0;
    match scalar(deserializer)? {
        Scalar::Null => Ok(None),
        Scalar::Integer(value) => Ok(Some(value)),
        Scalar::Unsigned(value) => i64::try_from(value)
            .map(Some)
            .map_err(|_| de::Error::custom(format!("integer {value} is out of range"))),
        Scalar::Float(value) if value.fract() == 0.0 && (-BOUND..BOUND).contains(&value) => Ok(Some(value as i64)),
        Scalar::Float(value) => Err(de::Error::custom(format!("expected an integer, got {value}"))),
        Scalar::Text(text) => Err(de::Error::custom(format!(
            "expected an integer, got the string {text:?}"
        ))),
        Scalar::Bool(value) => Err(de::Error::custom(format!("expected an integer, got {value}"))),
        Scalar::Other => Err(de::Error::custom("expected an integer, got an object or array")),
    }
}

/// An optional number sent as a number, a numeric string, `null` or `""`.
pub fn opt_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    match scalar(deserializer)? {
        Scalar::Null => Ok(None),
        Scalar::Integer(value) => Ok(Some(value as f64)),
        Scalar::Unsigned(value) => Ok(Some(value as f64)),
        Scalar::Float(value) => Ok(Some(value)),
        Scalar::Text(text) if text.trim().is_empty() => Ok(None),
        Scalar::Text(text) => text
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a number, got the string {text:?}"))),
        Scalar::Bool(value) => Err(de::Error::custom(format!("expected a number, got {value}"))),
        Scalar::Other => Err(de::Error::custom("expected a number, got an object or array")),
    }
}

/// An optional string that some senders put as a number (timestamps).
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match scalar(deserializer)? {
        Scalar::Null => Ok(None),
        Scalar::Text(text) => Ok(Some(text.into_owned())),
        Scalar::Integer(value) => Ok(Some(value.to_string())),
        Scalar::Unsigned(value) => Ok(Some(value.to_string())),
        Scalar::Float(value) => Ok(Some(value.to_string())),
        Scalar::Bool(value) => Ok(Some(value.to_string())),
        Scalar::Other => Err(de::Error::custom(
            "expected a string or a number, got an object or array",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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

    #[derive(Deserialize, Debug, PartialEq)]
    struct Whole {
        #[serde(default, deserialize_with = "opt_whole_number")]
        n: Option<i64>,
    }

    #[test]
    fn whole_numbers_are_integers_however_written() {
        let whole = |json: &str| serde_json::from_str::<Whole>(json).map(|whole| whole.n);
        assert_eq!(whole(r#"{"n": 474}"#).unwrap(), Some(474));
        assert_eq!(whole(r#"{"n": 474.0}"#).unwrap(), Some(474), "the same JSON value");
        assert_eq!(whole(r#"{"n": -2e3}"#).unwrap(), Some(-2000));
        assert_eq!(whole(r#"{"n": -9223372036854775808}"#).unwrap(), Some(i64::MIN));
        assert_eq!(whole(r#"{"n": -9.223372036854775808e18}"#).unwrap(), Some(i64::MIN));
        assert_eq!(whole(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(whole(r#"{}"#).unwrap(), None);
        for not_whole in [
            r#"{"n": 0.5}"#,
            r#"{"n": "7"}"#,
            r#"{"n": ""}"#,
            r#"{"n": true}"#,
            r#"{"n": [1]}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"n": 9.223372036854775808e18}"#,
            r#"{"n": 1e300}"#,
        ] {
            assert!(whole(not_whole).is_err(), "{not_whole}");
        }
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

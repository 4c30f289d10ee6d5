//! Strategies for property tests of fields whose types proptest cannot derive.

use proptest::prelude::*;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Any JSON value, a few levels deep, with finite numbers only.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::NORMAL,
        proptest::num::f64::ZERO,
        proptest::num::f64::SUBNORMAL
    ]
}

pub fn opt_finite() -> impl Strategy<Value = Option<f64>> {
    proptest::option::of(finite())
}

/// An optional JSON value; never `Some(null)`, which reads back as `None`.
pub fn opt_value() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(json_value().prop_filter("null reads back as absent", |value| !value.is_null()))
}

pub fn opt_values() -> impl Strategy<Value = Option<Vec<Value>>> {
    proptest::option::of(proptest::collection::vec(json_value(), 0..3))
}

pub fn opt_object() -> impl Strategy<Value = Option<Map<String, Value>>> {
    proptest::option::of(
        proptest::collection::btree_map(".{0,8}", json_value(), 0..4).prop_map(|map| map.into_iter().collect()),
    )
}

/// Fields no message documents (the `x_` prefix keeps them apart from real ones).
pub fn other_fields() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map("x_[a-zA-Z0-9]{1,8}", json_value(), 0..3).prop_map(|map| map.into_iter().collect())
}

/// A UTC instant between 2000 and 2100 with nanoseconds.
pub fn utc_time() -> impl Strategy<Value = OffsetDateTime> {
    (946_684_800i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(seconds, nanos)| {
        OffsetDateTime::from_unix_timestamp(seconds).expect("in range") + time::Duration::nanoseconds(i64::from(nanos))
    })
}

//! Semantic comparison of the document in the spec with what Pinot returns.
//!
//! Pinot fills in defaults and derived fields when it stores a schema or table
//! config, so equality is the wrong test. The spec's document is *covered* by
//! Pinot's when every field the user wrote has the same value there; fields only
//! Pinot has are ignored. Fields the user removed are caught separately, by the
//! hash of the applied spec.

use serde_json::Value;

/// True when every field of `desired` has an equal value in `actual`.
pub fn covers(actual: &Value, desired: &Value) -> bool {
    match (actual, desired) {
        (Value::Object(a), Value::Object(d)) => d
            .iter()
            .all(|(k, dv)| a.get(k).map_or(dv.is_null(), |av| covers(av, dv))),
        (Value::Array(a), Value::Array(d)) => {
            a.len() == d.len() && a.iter().zip(d).all(|(av, dv)| covers(av, dv))
        }
        _ => scalars_equal(actual, desired),
    }
}

/// Pinot stores some numeric settings as strings (e.g. `replication: "1"`) and
/// returns them either way across versions; `1`, `1.0` and `"1"` are the same setting.
fn scalars_equal(actual: &Value, desired: &Value) -> bool {
    if actual == desired {
        return true;
    }
    // Integers compare exactly: as f64, two above 2^53 that differ by one look equal.
    if let (Some(a), Some(d)) = (as_integer(actual), as_integer(desired)) {
        return a == d;
    }
    match (as_number(actual), as_number(desired)) {
        (Some(a), Some(d)) => a == d,
        _ => false,
    }
}

fn as_integer(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Stable hash of a document (serde_json maps are ordered, so equal documents hash equal).
pub use crate::hash::hash;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_pinot_adds_are_ignored() {
        let desired = json!({"schemaName": "events", "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING"}]});
        let actual = json!({"schemaName": "events", "enableColumnBasedNullHandling": false,
            "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING", "singleValueField": true}]});
        assert!(covers(&actual, &desired));
    }

    #[test]
    fn a_changed_value_is_drift() {
        let desired = json!({"segmentsConfig": {"replication": "2"}});
        let actual = json!({"segmentsConfig": {"replication": "1", "timeColumnName": "ts"}});
        assert!(!covers(&actual, &desired));
    }

    #[test]
    fn a_missing_column_is_drift() {
        let desired = json!({"dimensionFieldSpecs": [{"name": "a"}, {"name": "b"}]});
        let actual = json!({"dimensionFieldSpecs": [{"name": "a"}]});
        assert!(!covers(&actual, &desired));
    }

    #[test]
    fn numbers_and_numeric_strings_are_the_same_setting() {
        assert!(covers(
            &json!({"replication": "3"}),
            &json!({"replication": 3})
        ));
        assert!(!covers(
            &json!({"replication": "3"}),
            &json!({"replication": "4"})
        ));
    }

    #[test]
    fn null_in_the_spec_matches_an_absent_field() {
        assert!(covers(&json!({}), &json!({"upsertConfig": null})));
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = json!({"x": 1, "y": [1, 2]});
        assert_eq!(hash(&a), hash(&json!({"y": [1, 2], "x": 1})));
        assert_ne!(hash(&a), hash(&json!({"x": 2, "y": [1, 2]})));
    }
}

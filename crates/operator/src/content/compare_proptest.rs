//! Property tests of the spec-vs-Pinot comparison ([`super::compare`]), stating what
//! its documentation promises:
//!
//! - a document covers itself;
//! - fields only Pinot has (added anywhere on the observed side) are ignored;
//! - a field the user wrote with a different value in Pinot is drift, where `1`,
//!   `1.0` and `"1"` are documented as the same setting;
//! - `hash` depends on the document, not on the order of its object keys.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

use super::compare::{covers, hash};

/// Integers up to 2^53 are exact as `f64`, which `covers` compares numbers as.
const EXACT: i64 = 1 << 53;

fn scalar(ints: impl Strategy<Value = i64> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        ints.prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9_.:=# \\-]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        (-1000i64..1000).prop_map(|n| Value::String(n.to_string())),
    ]
}

fn document_with(ints: impl Strategy<Value = i64> + 'static) -> impl Strategy<Value = Value> {
    scalar(ints).prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_.]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A Pinot-like document: an object at the top.
fn document() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-zA-Z_]{1,8}", document_with(-EXACT..=EXACT), 1..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// JSON text of `doc` with every object's keys in reverse order.
fn reversed_text(doc: &Value) -> String {
    match doc {
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reversed_text(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(reversed_text).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Paths (JSON pointers) of every object inside `doc`, itself included.
fn objects(doc: &Value, path: String, out: &mut Vec<String>) {
    match doc {
        Value::Object(m) => {
            out.push(path.clone());
            m.iter()
                .for_each(|(k, v)| objects(v, format!("{path}/{}", escape(k)), out));
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| objects(v, format!("{path}/{i}"), out)),
        _ => {}
    }
}

/// A key as a JSON pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Paths (JSON pointers) of every scalar leaf of `doc`.
fn leaves(doc: &Value, path: String, out: &mut Vec<String>) {
    match doc {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{path}/{}", escape(k)), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
        _ => out.push(path),
    }
}

/// Whether two scalars are the same setting by the documented rule: equal JSON, or
/// the same number (`1`, `1.0`, `"1"`), with integers compared exactly.
fn same_setting(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let int = |v: &Value| match v {
        Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
        Value::String(s) => s.parse::<i128>().ok(),
        _ => None,
    };
    let float = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x == y,
        _ => matches!((float(a), float(b)), (Some(x), Some(y)) if x == y),
    }
}

/// A different value for a leaf: the next integer, or an arbitrary scalar.
fn changed(old: &Value, ints: impl Strategy<Value = i64> + 'static) -> BoxedStrategy<Value> {
    match old.as_i64() {
        Some(n) => prop_oneof![
            Just(Value::from(n.wrapping_add(1))),
            Just(Value::from(n.wrapping_sub(1))),
            scalar(ints),
        ]
        .boxed(),
        None => scalar(ints).boxed(),
    }
}

/// `covers` must see the leaf at `path` changed to `new` as drift whenever `new` is
/// not the same setting.
fn leaf_change_is_drift(doc: &Value, path: &str, new: &Value) -> Result<(), TestCaseError> {
    let old = doc.pointer(path).unwrap().clone();
    prop_assume!(!same_setting(&old, new));
    let mut desired = doc.clone();
    *desired.pointer_mut(path).unwrap() = new.clone();
    prop_assert!(
        !covers(doc, &desired),
        "changing {} from {} to {} was not seen as drift",
        path,
        old,
        new
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_document_covers_itself(doc in document()) {
        prop_assert!(covers(&doc, &doc));
    }

    #[test]
    fn hash_ignores_object_key_order(doc in document()) {
        // Both sides parsed from text, as documents arrive from the apiserver (the
        // parser's float rounding then applies to both alike).
        let parsed: Value = serde_json::from_str(&doc.to_string()).unwrap();
        let reordered: Value = serde_json::from_str(&reversed_text(&doc)).unwrap();
        prop_assert_eq!(&reordered, &parsed);
        prop_assert_eq!(hash(&reordered), hash(&parsed));
    }

    #[test]
    fn hash_changes_with_the_document(doc in document(), other in document()) {
        prop_assume!(doc != other);
        prop_assert_ne!(hash(&doc), hash(&other));
    }

    /// Pinot adds defaults and derived fields: a key added to any object on the
    /// observed side that the desired side lacks keeps the spec covered.
    #[test]
    fn fields_only_pinot_has_are_ignored(
        doc in document(),
        pick in any::<prop::sample::Index>(),
        key in "[a-zA-Z_]{1,10}",
        value in document_with(any::<i64>()),
    ) {
        let mut paths = Vec::new();
        objects(&doc, String::new(), &mut paths);
        let mut actual = doc.clone();
        let target = actual.pointer_mut(pick.get::<String>(&paths)).unwrap().as_object_mut().unwrap();
        prop_assume!(!target.contains_key(&key));
        target.insert(key, value);
        prop_assert!(covers(&actual, &doc));
    }

    /// A leaf of the spec changed to a different setting is drift (integers within
    /// ±2^53; beyond that see `large_integer_changes_are_drift`).
    #[test]
    fn a_changed_desired_leaf_is_drift(
        (doc, pick, new) in document().prop_flat_map(|doc| {
            (Just(doc), any::<prop::sample::Index>())
        }).prop_flat_map(|(doc, pick)| {
            let mut paths = Vec::new();
            leaves(&doc, String::new(), &mut paths);
            let old = if paths.is_empty() { Value::Null } else {
                doc.pointer(pick.get::<String>(&paths)).unwrap().clone()
            };
            (Just(doc), Just(pick), changed(&old, -EXACT..=EXACT))
        }),
    ) {
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        prop_assume!(!paths.is_empty());
        leaf_change_is_drift(&doc, pick.get::<String>(&paths), &new)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The same property over the whole `i64` range (found `covers` comparing
    /// integers as `f64`, where two above 2^53 that differ by one compare equal).
    #[test]
    fn large_integer_changes_are_drift(n in any::<i64>(), key in "[a-z]{1,8}") {
        let doc = Value::Object(Map::from_iter([(key.clone(), Value::from(n))]));
        leaf_change_is_drift(&doc, &format!("/{key}"), &Value::from(n.wrapping_add(1)))?;
    }
}

/// The minimal input `large_integer_changes_are_drift` found.
#[test]
fn integers_beyond_f64_precision_are_drift() {
    let actual = serde_json::json!({"n": 9_007_199_254_740_993_i64});
    let desired = serde_json::json!({"n": 9_007_199_254_740_992_i64});
    assert!(!covers(&actual, &desired));
}

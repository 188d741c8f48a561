//! Property tests of the `.conf` renderer ([`crate::cluster::desired::config`]): whatever the user
//! writes into `pinot.properties` (and whatever strings reach values: ZooKeeper
//! connect strings, passwords in the credentials file), the rendered file is one
//! `key=value` per line, injects no key, is deterministic, and a Java properties
//! reader gets the effective values back.
//!
//! Keys are not escaped by the renderer: the operator's spec validation
//! ([`crate::cluster::desired::validate::validate`], which runs before every render in
//! `build::build`) refuses keys that are not letters, digits, `.`, `_`, `-`. The
//! injection property is therefore stated for the pipeline: for every property map,
//! either validation refuses the spec, or the rendered file holds no injected key.

use std::collections::{BTreeMap, BTreeSet};

use api::PinotClusterSpec;
use proptest::prelude::*;
use serde_json::json;

use crate::cluster::component::{Component, PINOT_ROLES};
use crate::cluster::desired::config::{ConfInput, RenderedConf, properties_text, render};
use crate::cluster::desired::validate::validate;

/// Characters with a meaning in a properties file, mixed into arbitrary text.
const SPECIAL: &[&str] = &[
    "\n", "\r", "\r\n", "=", ":", "\\", "#", "!", " ", "\t", "\u{c}", "\\n", "\\u0041", "${x}",
    "\u{2028}", "\u{85}", "é", "\u{0}",
];

/// Arbitrary unicode text with properties-file metacharacters mixed in.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_map(String::from),
            2 => prop::sample::select(SPECIAL).prop_map(str::to_owned),
            2 => "[a-z0-9.]{1,6}",
        ],
        0..max,
    )
    .prop_map(|parts| parts.concat())
}

/// Keys as users write them (most valid, some hostile).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9._-]{1,24}",
        1 => text(12),
        1 => "[a-z.]{1,10}".prop_flat_map(|k| {
            prop::sample::select(vec!["\n", "=", ":", " ", "#", "\r"])
                .prop_map(move |s| format!("{k}{s}pinot.zk.server=evil"))
        }),
    ]
}

fn properties() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key(), text(24), 0..12)
}

/// Property maps with keys validation accepts (values still arbitrary).
fn valid_properties() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[A-Za-z0-9._-]{1,24}", text(24), 0..12)
}

fn component() -> impl Strategy<Value = Component> {
    prop::sample::select(PINOT_ROLES.to_vec())
}

#[derive(Debug, Clone)]
struct Case {
    component: Component,
    zookeeper: String,
    tenant: Option<String>,
    properties: BTreeMap<String, String>,
    production: Vec<(String, String)>,
}

fn case() -> impl Strategy<Value = Case> {
    case_with(properties())
}

fn case_with(
    properties: impl Strategy<Value = BTreeMap<String, String>>,
) -> impl Strategy<Value = Case> {
    (
        component(),
        // `zookeeper.external.connectString` is only length-checked at admission.
        text(24),
        prop::option::of("[A-Za-z0-9_]{1,16}"),
        properties,
        // Production properties: operator-made keys, values from the spec.
        prop::collection::vec(("[a-z][a-z.]{0,20}", text(16)), 0..4),
    )
        .prop_map(
            |(component, zookeeper, tenant, properties, production)| Case {
                component,
                zookeeper,
                tenant,
                properties,
                production,
            },
        )
}

fn render_case(case: &Case) -> RenderedConf {
    render(&ConfInput {
        component: case.component,
        cluster_name: "analytics",
        zookeeper: &case.zookeeper,
        tenant: case.tenant.as_deref(),
        properties: &case.properties,
        production: &case.production,
        secret_file: Some("/var/pinot/credentials/pinot.properties"),
    })
}

/// Whether the operator's spec validation accepts `properties` (at every level).
fn accepted(properties: &BTreeMap<String, String>) -> bool {
    let spec: PinotClusterSpec = serde_json::from_value(json!({
        "zookeeper": {"managed": {"replicas": 1}},
        "controller": {"pools": [{"name": "main", "replicas": 1}]},
        "pinot": {"properties": properties},
    }))
    .unwrap();
    validate("analytics", &spec).is_ok()
}

/// A reader of `.properties` text as `java.util.Properties#load` reads it: logical
/// lines joined over a trailing odd backslash, `#`/`!` comments, the key up to the
/// first unescaped `=`, `:` or whitespace, then one separator and the whitespace
/// around it, then the value with `\t \n \r \f \\ \uXXXX` escapes (any other escaped
/// character stands for itself).
fn java_properties(text: &str) -> BTreeMap<String, String> {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\u{c}');
    let mut out = BTreeMap::new();
    let mut physical = text.split(['\n', '\r']).peekable();
    while let Some(first) = physical.next() {
        let line = first.trim_start_matches(is_ws);
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let mut logical = line.to_owned();
        while ends_in_odd_backslashes(&logical) {
            logical.pop();
            match physical.next() {
                Some(next) => logical.push_str(next.trim_start_matches(is_ws)),
                None => break,
            }
        }
        let chars: Vec<char> = logical.chars().collect();
        let mut i = 0;
        while i < chars.len() && !matches!(chars[i], '=' | ':') && !is_ws(chars[i]) {
            i += if chars[i] == '\\' { 2 } else { 1 };
        }
        let key_end = i.min(chars.len());
        while i < chars.len() && is_ws(chars[i]) {
            i += 1;
        }
        if i < chars.len() && matches!(chars[i], '=' | ':') {
            i += 1;
        }
        while i < chars.len() && is_ws(chars[i]) {
            i += 1;
        }
        let key = unescape(&chars[..key_end]);
        let value = unescape(&chars[i.min(chars.len())..]);
        out.insert(key, value);
    }
    out
}

fn ends_in_odd_backslashes(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

fn unescape(chars: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' || i == chars.len() {
            out.push(c);
            continue;
        }
        let e = chars[i];
        i += 1;
        match e {
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars[i..(i + 4).min(chars.len())].iter().collect();
                i += 4;
                let code = u32::from_str_radix(&hex, 16).expect("malformed \\uXXXX");
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    out
}

/// Every line is empty, a comment, or `key=value` with a key from `allowed`;
/// every key is written once. Returns the keys found.
fn check_lines(conf: &str, allowed: &BTreeSet<String>) -> Result<(), TestCaseError> {
    let mut seen = BTreeSet::new();
    for line in conf.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        prop_assert!(!line.contains('\r'), "raw CR in line {:?}", line);
        let (key, _) = line
            .split_once('=')
            .ok_or_else(|| TestCaseError::fail(format!("line without '=': {line:?}\n{conf}")))?;
        prop_assert!(
            allowed.contains(key),
            "injected key {:?} in line {:?}\n{}",
            key,
            line,
            conf
        );
        prop_assert!(seen.insert(key.to_owned()), "key {:?} written twice", key);
    }
    Ok(())
}

/// The keys the operator itself writes for `case` (no user properties).
fn operator_keys(case: &Case) -> BTreeSet<String> {
    let bare = Case {
        properties: BTreeMap::new(),
        production: case.production.clone(),
        zookeeper: case.zookeeper.clone(),
        tenant: case.tenant.clone(),
        component: case.component,
    };
    render_case(&bare).effective.into_keys().collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Rendering never panics and is deterministic (same input, same bytes).
    #[test]
    fn render_is_total_and_deterministic(case in case()) {
        let a = render_case(&case);
        let b = render_case(&case);
        prop_assert_eq!(&a, &b);
        prop_assert!(a.text.starts_with("# Pinot "));
    }

    /// Validation refuses the spec, or the file holds exactly the input's and the
    /// operator's keys, once each, one per line.
    #[test]
    fn accepted_properties_inject_no_keys(case in case()) {
        let conf = render_case(&case);
        if accepted(&case.properties) {
            let mut allowed = operator_keys(&case);
            allowed.extend(case.properties.keys().cloned());
            check_lines(&conf.text, &allowed)?;
            let written: BTreeSet<_> = java_properties(&conf.text).into_keys().collect();
            prop_assert_eq!(written, conf.effective.keys().cloned().collect::<BTreeSet<_>>());
        } else {
            // Refused specs are never rendered; only keys can make it refuse here.
            prop_assert!(case.properties.keys().any(|k| k.is_empty()
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                || matches!(k.as_str(), "pinot.cluster.name" | "controller.helix.cluster.name"
                    | "pinot.zk.server" | "controller.zk.str" | "pinot.set.instance.id.to.hostname"
                    | "controller.data.dir" | "config.paths" | "pinot.server.instance.dataDir"
                    | "pinot.server.instance.segmentTarDir")));
        }
    }

    /// A Java properties reader gets every effective value back.
    #[test]
    fn reading_the_file_back_gives_the_effective_values(case in case_with(valid_properties())) {
        prop_assume!(accepted(&case.properties));
        let conf = render_case(&case);
        prop_assert_eq!(java_properties(&conf.text), conf.effective.clone());
    }

    /// The credentials file (`properties_text`): secret values round-trip too.
    #[test]
    fn secret_properties_round_trip(
        pairs in prop::collection::btree_map("[a-z][a-z0-9._-]{0,30}", text(32), 0..8),
    ) {
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        let text = properties_text("Secret Pinot properties rendered by pinot-operator", &pairs);
        let allowed = pairs.iter().map(|(k, _)| k.clone()).collect();
        check_lines(&text, &allowed)?;
        let expected: BTreeMap<_, _> = pairs.into_iter().collect();
        prop_assert_eq!(java_properties(&text), expected);
    }
}

#[test]
fn the_reader_handles_escapes_continuations_and_comments() {
    let text = "# c\n! c\n  a = 1\nb:2\nc 3\nd=x\\\n   y\ne=\\\\n\\n\\u0041\\=\nf\n";
    let read = java_properties(text);
    let expected: BTreeMap<String, String> = [
        ("a", "1"),
        ("b", "2"),
        ("c", "3"),
        ("d", "xy"),
        ("e", "\\n\nA="),
        ("f", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(read, expected);
}

#[test]
fn hostile_keys_are_refused_before_rendering() {
    for key in [
        "a\npinot.zk.server",
        "a=b",
        "a:b",
        "a b",
        "#a",
        "../a",
        "${env:HOME}",
        "",
        "config.paths",
        "pinot.zk.server",
    ] {
        let properties = BTreeMap::from([(key.to_owned(), "x".to_owned())]);
        assert!(!accepted(&properties), "{key:?} accepted");
    }
}

/// Found by the round-trip property: a value starting with whitespace, which every
/// Java properties reader drops unless escaped (a password `" secret"` would reach
/// Pinot as `"secret"`).
#[test]
fn leading_whitespace_of_a_value_is_kept() {
    let text = properties_text("t", &[("password".to_owned(), " secret".to_owned())]);
    assert_eq!(java_properties(&text)["password"], " secret", "{text}");
}

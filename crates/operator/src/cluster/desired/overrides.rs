//! `kubernetes.podOverrides`: a patch of the pod template the operator built, for what
//! the typed settings do not cover (sidecars, init containers, volumes and mounts,
//! topology spread, priority classes, security contexts, probe tweaks).
//!
//! The patch merges the way `kubectl patch --type strategic` does for pod templates:
//! objects merge key by key (`null` removes a key); the lists Kubernetes merges by a
//! key merge by the same key (containers, volumes and env by `name`, volume mounts by
//! `mountPath`, ports by `containerPort`, ...), and an item with `"$patch": "delete"`
//! removes the item of that key; every other list is replaced. The levels patch in
//! turn: cluster, then role, then pool.
//!
//! What the operator relies on is refused with `InvalidSpec` rather than left to the
//! user's risk, because a pod that lost it would not fail loudly: it would run
//! another Pinot than the status says, read no configuration, or never be routed to.
//! See [`owned`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Map, Value};

/// The key a list of this field merges by, where Kubernetes' strategic merge has one.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ports" => Some("containerPort"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "hostAliases" => Some("ip"),
        _ => None,
    }
}

/// `patch` merged into `base` (both JSON objects of the same kind).
fn merge(base: &mut Value, patch: &Value) {
    let (Value::Object(base), Value::Object(patch)) = (&mut *base, patch) else {
        *base = patch.clone();
        return;
    };
    for (field, over) in patch {
        match (base.get_mut(field), over, merge_key(field)) {
            (_, Value::Null, _) => {
                base.remove(field);
            }
            (Some(Value::Array(items)), Value::Array(overs), Some(key)) => {
                merge_list(items, overs, key)
            }
            (Some(existing @ Value::Object(_)), Value::Object(_), _) => merge(existing, over),
            _ => {
                let mut fresh = over.clone();
                strip_directives(&mut fresh);
                base.insert(field.clone(), fresh);
            }
        }
    }
}

/// Items of `overs` merged into the item of `items` with the same `key`, or appended;
/// `"$patch": "delete"` removes the item instead.
fn merge_list(items: &mut Vec<Value>, overs: &[Value], key: &str) {
    for over in overs {
        let id = over.get(key);
        let position = items.iter().position(|i| id.is_some() && i.get(key) == id);
        let delete = over.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(at), true) => {
                items.remove(at);
            }
            (None, true) => {}
            (Some(at), false) => merge(&mut items[at], over),
            (None, false) => {
                let mut fresh = over.clone();
                strip_directives(&mut fresh);
                items.push(fresh);
            }
        }
    }
}

/// A value added whole keeps no `$patch` directive and no `null` placeholders.
fn strip_directives(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("$patch");
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// The template with the levels' overrides applied in turn (least specific first), or
/// why they are refused. `container` is the operator's main container.
pub fn apply(
    template: PodTemplateSpec,
    levels: &[Option<&Value>],
    container: &str,
) -> Result<PodTemplateSpec, String> {
    if levels.iter().all(Option::is_none) {
        return Ok(template);
    }
    let before = serde_json::to_value(&template).map_err(|e| e.to_string())?;
    let mut after = before.clone();
    for overrides in levels.iter().flatten() {
        let Some(fields) = overrides.as_object() else {
            return Err("podOverrides must be an object (a pod template: metadata, spec)".into());
        };
        if let Some(other) = fields
            .keys()
            .find(|k| !matches!(k.as_str(), "metadata" | "spec"))
        {
            return Err(format!(
                "podOverrides holds a pod template's metadata and spec only, not {other}"
            ));
        }
        merge(&mut after, overrides);
    }
    let now: BTreeMap<String, Value> = owned(&after, container).into_iter().collect();
    let changed = owned(&before, container)
        .into_iter()
        .find(|(what, was)| now.get(what).unwrap_or(&Value::Null) != was);
    if let Some((what, _)) = changed {
        return Err(format!(
            "podOverrides may not change {what}, which the operator owns"
        ));
    }
    serde_json::from_value(after).map_err(|e| format!("podOverrides is not a pod template: {e}"))
}

/// What the operator owns in a template, by name, for comparison before and after the
/// overrides: its container's identity and command line, its volumes and their
/// mounts, its labels and annotations (the pod selector, the config and secrets
/// hashes that restart pods), and the readiness gate of servers.
fn owned(template: &Value, container: &str) -> Vec<(String, Value)> {
    let spec = &template["spec"];
    let main = (spec["containers"].as_array().into_iter().flatten())
        .find(|c| c["name"] == container)
        .cloned()
        .unwrap_or(Value::Null);
    let mut parts = vec![
        (format!("the {container} container"), main["name"].clone()),
        (format!("the image of {container}"), main["image"].clone()),
        (
            format!("the command of {container}"),
            main["command"].clone(),
        ),
        (
            format!("the arguments of {container}"),
            main["args"].clone(),
        ),
        ("spec.readinessGates".into(), spec["readinessGates"].clone()),
    ];
    let operator_keys = |map: &Value, prefixes: &[&str]| -> Value {
        let map = map.as_object().cloned().unwrap_or_default();
        let owned: Map<String, Value> = (map.into_iter())
            .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
            .collect();
        Value::Object(owned)
    };
    let labels = &template["metadata"]["labels"];
    let annotations = &template["metadata"]["annotations"];
    parts.push((
        "the operator's pod labels".into(),
        operator_keys(labels, &["pinot.operator.dev/", "app.kubernetes.io/"]),
    ));
    parts.push((
        "the operator's pod annotations".into(),
        operator_keys(annotations, &["pinot.operator.dev/"]),
    ));
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let name = volume["name"].as_str().unwrap_or_default();
        parts.push((format!("volume {name}"), volume.clone()));
    }
    for mount in main["volumeMounts"].as_array().into_iter().flatten() {
        let path = mount["mountPath"].as_str().unwrap_or_default();
        parts.push((format!("the mount of {container} at {path}"), mount.clone()));
    }
    parts
}

#[cfg(test)]
mod tests;

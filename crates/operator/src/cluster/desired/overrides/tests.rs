//! The merge rules of `podOverrides`, one by one, and what it may not change.

use serde_json::json;

use super::*;
use crate::cluster::component::Component;
use crate::cluster::desired::build;
use crate::cluster::desired::tests::{HETEROGENEOUS, cluster, desired, pod_spec, pool};
use crate::cluster::error::ClusterError;
use crate::cluster::names::CLUSTER_DOMAIN;
use crate::secrets::SecretValues;

/// What the operator builds, in miniature: one container with a config mount.
fn template() -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"labels": {"pinot.operator.dev/pool": "hot", "team": "data"},
                     "annotations": {"pinot.operator.dev/config-hash": "abc"}},
        "spec": {
            "containers": [{
                "name": "pinot", "image": "pinot:1", "args": ["StartServer"],
                "env": [{"name": "JAVA_OPTS", "value": "-Xmx1g"}],
                "ports": [{"containerPort": 8098, "name": "netty"}],
                "readinessProbe": {"periodSeconds": 5, "httpGet": {"path": "/health", "port": "admin"}},
                "volumeMounts": [{"name": "config", "mountPath": "/conf", "readOnly": true}]
            }],
            "volumes": [{"name": "config", "configMap": {"name": "hot"}}],
            "tolerations": [{"key": "a", "operator": "Exists"}],
            "readinessGates": [{"conditionType": "pinot.operator.dev/routable"}]
        }
    }))
    .unwrap()
}

fn patched(levels: &[Value]) -> Result<Value, String> {
    let levels: Vec<Option<&Value>> = levels.iter().map(Some).collect();
    apply(template(), &levels, "pinot").map(|t| serde_json::to_value(t).unwrap())
}

#[test]
fn no_overrides_leave_the_template_as_built() {
    assert_eq!(
        apply(template(), &[None, None], "pinot").unwrap(),
        template()
    );
}

#[test]
fn a_sidecar_and_its_volume_are_added_and_the_main_container_keeps_everything() {
    let out = patched(&[json!({"spec": {
        "containers": [{"name": "sidecar", "image": "busybox", "volumeMounts": [{"name": "scratch", "mountPath": "/s"}]}],
        "volumes": [{"name": "scratch", "emptyDir": {}}]
    }})])
    .unwrap();
    let names: Vec<&str> = (out["spec"]["containers"].as_array().unwrap().iter())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pinot", "sidecar"]);
    assert_eq!(out["spec"]["volumes"][1]["name"], "scratch");
    assert_eq!(out["spec"]["containers"][0]["args"], json!(["StartServer"]));
}

#[test]
fn the_main_container_s_fields_merge_by_their_keys() {
    let out = patched(&[json!({"spec": {"containers": [{
        "name": "pinot",
        "env": [{"name": "JAVA_OPTS", "value": "-Xmx2g"}, {"name": "TZ", "value": "UTC"}],
        "volumeMounts": [{"name": "extra", "mountPath": "/extra"}],
        "readinessProbe": {"periodSeconds": 2}
    }], "volumes": [{"name": "extra", "emptyDir": {}}]}})])
    .unwrap();
    let pinot = &out["spec"]["containers"][0];
    assert_eq!(
        pinot["env"],
        json!([{"name": "JAVA_OPTS", "value": "-Xmx2g"}, {"name": "TZ", "value": "UTC"}])
    );
    assert_eq!(pinot["volumeMounts"].as_array().unwrap().len(), 2);
    // A probe tweak keeps the rest of the operator's probe.
    assert_eq!(pinot["readinessProbe"]["periodSeconds"], 2);
    assert_eq!(pinot["readinessProbe"]["httpGet"]["path"], "/health");
}

#[test]
fn lists_without_a_merge_key_are_replaced_and_null_removes_a_key() {
    let out = patched(&[json!({"spec": {
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "priorityClassName": "pinot-critical",
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}],
        "securityContext": {"runAsUser": 2000}
    }, "metadata": {"labels": {"team": null}}})])
    .unwrap();
    assert_eq!(
        out["spec"]["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
    assert_eq!(out["spec"]["priorityClassName"], "pinot-critical");
    assert_eq!(out["spec"]["securityContext"]["runAsUser"], 2000);
    assert_eq!(
        out["spec"]["topologySpreadConstraints"][0]["topologyKey"],
        "zone"
    );
    assert!(out["metadata"]["labels"].get("team").is_none());
}

#[test]
fn levels_patch_in_turn_so_a_pool_overrides_the_cluster() {
    let cluster = json!({"spec": {"priorityClassName": "low",
        "containers": [{"name": "sidecar", "image": "agent:1"}]}});
    let pool = json!({"spec": {"priorityClassName": "high",
        "containers": [{"name": "sidecar", "image": "agent:2"}]}});
    let out = patched(&[cluster, pool]).unwrap();
    assert_eq!(out["spec"]["priorityClassName"], "high");
    assert_eq!(out["spec"]["containers"][1]["image"], "agent:2");
    assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 2);
}

#[test]
fn a_delete_directive_removes_an_item_an_earlier_level_added() {
    let cluster = json!({"spec": {"containers": [{"name": "sidecar", "image": "agent:1"}]}});
    let pool = json!({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}});
    let out = patched(&[cluster, pool]).unwrap();
    assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 1);
}

#[test]
fn what_the_operator_owns_is_refused_by_name() {
    let refused = |patch: Value| patched(&[patch]).unwrap_err();
    for (patch, what) in [
        (
            json!({"spec": {"containers": [{"name": "pinot", "image": "other:1"}]}}),
            "the image of pinot",
        ),
        (
            json!({"spec": {"containers": [{"name": "pinot", "args": ["StartBroker"]}]}}),
            "the arguments of pinot",
        ),
        (
            json!({"spec": {"containers": [{"name": "pinot", "command": ["sh"]}]}}),
            "the command of pinot",
        ),
        (
            json!({"spec": {"containers": [{"name": "pinot", "$patch": "delete"}]}}),
            "the pinot container",
        ),
        (
            json!({"spec": {"volumes": [{"name": "config", "emptyDir": {}}]}}),
            "volume config",
        ),
        (
            json!({"spec": {"containers": [{"name": "pinot", "volumeMounts": [{"mountPath": "/conf", "readOnly": false}]}]}}),
            "the mount of pinot at /conf",
        ),
        (
            json!({"spec": {"readinessGates": null}}),
            "spec.readinessGates",
        ),
        (
            json!({"metadata": {"labels": {"pinot.operator.dev/pool": "cold"}}}),
            "the operator's pod labels",
        ),
        (
            json!({"metadata": {"annotations": {"pinot.operator.dev/config-hash": null}}}),
            "the operator's pod annotations",
        ),
    ] {
        let why = refused(patch.clone());
        assert_eq!(
            why,
            format!("podOverrides may not change {what}, which the operator owns"),
            "{patch}"
        );
    }
}

#[test]
fn an_override_that_is_no_pod_template_is_refused() {
    assert!(
        patched(&[json!({"spec": {"priorityClassName": 5}})])
            .unwrap_err()
            .contains("not a pod template")
    );
    assert!(
        patched(&[json!({"replicas": 3})])
            .unwrap_err()
            .contains("metadata and spec only")
    );
    assert!(
        patched(&[json!(["a"])])
            .unwrap_err()
            .contains("must be an object")
    );
}

#[test]
fn a_pool_s_sidecar_joins_its_statefulset_only_and_a_refused_override_names_its_pool() {
    let mut c = cluster(HETEROGENEOUS);
    let server = &mut c.spec.server;
    server.pools[0].kubernetes.pod_overrides =
        Some(json!({"spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}));
    server.kubernetes.pod_overrides = Some(json!({"spec": {"priorityClassName": "pinot"}}));
    let d = build(&c, &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    let hot = pod_spec(&pool(&d, Component::Server, "hot").statefulset);
    let cold = pod_spec(&pool(&d, Component::Server, "cold").statefulset);
    assert_eq!(hot.containers.len(), 2);
    assert_eq!(cold.containers.len(), 1);
    assert_eq!(cold.priority_class_name.as_deref(), Some("pinot"));
    assert_ne!(
        pool(&d, Component::Server, "hot").hash,
        pool(&desired(), Component::Server, "hot").hash,
        "a changed override rolls the pool"
    );

    c.spec.server.pools[1].kubernetes.pod_overrides =
        Some(json!({"spec": {"containers": [{"name": "pinot", "image": "x"}]}}));
    let Err(ClusterError::InvalidSpec(why)) = build(&c, &SecretValues::new(), CLUSTER_DOMAIN)
    else {
        panic!("accepted")
    };
    assert_eq!(
        why,
        "server/cold: kubernetes.podOverrides: podOverrides may not change the image of pinot, which the operator owns"
    );
}

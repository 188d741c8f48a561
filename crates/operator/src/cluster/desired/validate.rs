//! Checks a deployed cluster's spec for what admission (OpenAPI + CEL) cannot see:
//! object name lengths, property keys, and that there is something to deploy.

use api::PinotClusterSpec;
use api::cluster::RoleSpec;

use crate::cluster::component::{Component, PINOT_ROLES};
use crate::cluster::desired::expected_pinot_pools;
use crate::cluster::error::ClusterError;
use crate::cluster::names::{MAX_WORKLOAD_NAME, PoolId};

/// The role spec of a Pinot role.
pub fn role_spec(spec: &PinotClusterSpec, component: Component) -> Option<&RoleSpec> {
    match component {
        Component::Controller => Some(&spec.controller),
        Component::Broker => Some(&spec.broker),
        Component::Server => Some(&spec.server),
        Component::Minion => Some(&spec.minion),
        Component::Zookeeper => None,
    }
}

/// Every problem found, joined into one `InvalidSpec` so the user fixes them at once.
pub fn validate(name: &str, spec: &PinotClusterSpec) -> Result<(), ClusterError> {
    let mut problems = Vec::new();
    if spec.zookeeper.is_none() {
        problems.push("spec.zookeeper is required for a deployed cluster".to_owned());
    }
    if spec.controller.pools.is_empty() {
        problems.push(
            "spec.controller.pools is empty: a deployed cluster needs a controller".to_owned(),
        );
    }
    for component in PINOT_ROLES {
        let Some(role) = role_spec(spec, component) else {
            continue;
        };
        for pool in &role.pools {
            let workload = PoolId::new(component, &pool.name).workload(name);
            if workload.len() > MAX_WORKLOAD_NAME {
                problems.push(format!(
                    "StatefulSet name {workload} has {} characters, Kubernetes allows {MAX_WORKLOAD_NAME}: \
                     shorten the cluster or pool name",
                    workload.len()
                ));
            }
        }
        let levels = std::iter::once(&role.pinot).chain(role.pools.iter().map(|p| &p.pinot));
        for settings in std::iter::once(&spec.pinot).chain(levels) {
            problems.extend(settings.properties.keys().filter_map(|k| bad_key(k)));
            problems.extend(settings.properties.keys().filter_map(|k| owned_key(k)));
        }
    }
    problems.extend(broker_storage(spec));
    problems.extend(shared_pinot_pools(spec));
    if problems.is_empty() {
        Ok(())
    } else {
        problems.sort();
        problems.dedup();
        Err(ClusterError::InvalidSpec(problems.join("; ")))
    }
}

/// Brokers keep nothing on disk, so a data volume on them would hold nothing: refused
/// where it is set on the broker role or one of its pools (a cluster-wide `storage`
/// is for the roles that keep data).
fn broker_storage(spec: &PinotClusterSpec) -> Vec<String> {
    let role = spec
        .broker
        .kubernetes
        .storage
        .is_some()
        .then(|| "spec.broker".to_owned());
    let pools = (spec.broker.pools.iter())
        .filter(|p| p.kubernetes.storage.is_some())
        .map(|p| format!("spec.broker.pools[{}]", p.name));
    (role.into_iter().chain(pools))
        .map(|at| {
            format!(
                "{at}.kubernetes.storage: brokers keep no data on disk; \
                 use kubernetes.volumeClaims to mount a volume at a path of your choice"
            )
        })
        .collect()
}

/// Two server pools of one tenant in the same Pinot pool would let pool-based replica
/// groups put two replicas of a segment in one operator pool, which then restarts both.
fn shared_pinot_pools(spec: &PinotClusterSpec) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<(String, i32), &str> = Default::default();
    let mut problems = vec![];
    for (index, pool) in spec.server.pools.iter().enumerate() {
        for (tag, number) in expected_pinot_pools(Component::Server, pool, index) {
            match seen.insert((tag.clone(), number), &pool.name) {
                Some(other) if tag.ends_with("_OFFLINE") => problems.push(format!(
                    "server pools {other} and {} would share Pinot pool {number} of tenant {}: \
                     give each its own pinotPool",
                    pool.name,
                    tag.trim_end_matches("_OFFLINE")
                )),
                _ => {}
            }
        }
    }
    problems
}

/// Keys are written verbatim into a properties file, where `=`, `:`, whitespace and
/// `#` have meaning.
fn bad_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    (!ok).then(|| {
        format!("pinot property key {key:?} may only hold letters, digits, '.', '_' and '-'")
    })
}

/// Properties the operator derives from the spec and the pod layout. Overriding one
/// would silently split the cluster (another ZooKeeper or cluster name), change
/// instance ids on restart, or move data off its volume.
const OPERATOR_OWNED: &[(&str, &str)] = &[
    ("pinot.cluster.name", "set spec.clusterName"),
    ("controller.helix.cluster.name", "set spec.clusterName"),
    ("pinot.zk.server", "set spec.zookeeper"),
    ("controller.zk.str", "set spec.zookeeper"),
    (
        "pinot.set.instance.id.to.hostname",
        "instance ids must follow the stable pod names",
    ),
    (
        "controller.data.dir",
        "set spec.deepStorage (otherwise it stays on the data volume)",
    ),
    (
        "config.paths",
        "the operator loads its credentials file through it; mount files with spec.plugins or kubernetes settings instead",
    ),
    (
        "pinot.server.instance.dataDir",
        "it must stay on the data volume",
    ),
    (
        "pinot.server.instance.segmentTarDir",
        "it must stay on the data volume",
    ),
];

fn owned_key(key: &str) -> Option<String> {
    OPERATOR_OWNED
        .iter()
        .find(|(owned, _)| *owned == key)
        .map(|(_, instead)| format!("pinot property {key} is set by the operator: {instead}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PinotClusterSpec {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn operator_owned_properties_are_refused() {
        let s = spec(
            "zookeeper: {managed: {replicas: 1}}
controller: {pools: [{name: main, replicas: 1}]}
pinot: {properties: {pinot.zk.server: 'other:2181'}}
server:
  pools: [{name: hot, replicas: 1, pinot: {properties: {pinot.server.instance.dataDir: /tmp}}}]",
        );
        let message = validate("analytics", &s).unwrap_err().to_string();
        assert!(
            message.contains(
                "pinot property pinot.zk.server is set by the operator: set spec.zookeeper"
            ),
            "{message}"
        );
        assert!(
            message.contains("pinot.server.instance.dataDir is set by the operator"),
            "{message}"
        );
    }

    #[test]
    fn two_server_pools_of_a_tenant_may_not_share_a_pinot_pool() {
        let s = spec(
            "zookeeper: {managed: {replicas: 1}}
controller: {pools: [{name: main, replicas: 1}]}
server:
  pools:
  - {name: a, replicas: 2, tenant: T, pinotPool: 1}
  - {name: b, replicas: 2, tenant: T}
  - {name: c, replicas: 2, tenant: Other, pinotPool: 1}",
        );
        let message = validate("analytics", &s).unwrap_err().to_string();
        assert_eq!(
            message,
            "server pools a and b would share Pinot pool 1 of tenant T: give each its own pinotPool"
        );
    }

    #[test]
    fn a_minimal_cluster_is_valid() {
        let s = spec(
            "zookeeper: {managed: {replicas: 1}}\ncontroller: {pools: [{name: main, replicas: 1}]}",
        );
        validate("analytics", &s).unwrap();
    }

    #[test]
    fn long_names_and_bad_keys_are_reported_together() {
        let s = spec(
            "zookeeper: {managed: {replicas: 1}}
controller: {pools: [{name: main, replicas: 1}]}
server:
  pinot: {properties: {'bad key': x}}
  pools: [{name: abcdefghijklmnopqrst, replicas: 1}]",
        );
        let err = validate("a-rather-long-cluster-name-here", &s).unwrap_err();
        let message = err.to_string();
        assert_eq!(err.reason(), "InvalidSpec");
        assert!(message.contains("Kubernetes allows 52"), "{message}");
        assert!(message.contains("\"bad key\""), "{message}");
    }

    #[test]
    fn a_cluster_needs_zookeeper_and_a_controller() {
        let err = validate("a", &spec("{}")).unwrap_err().to_string();
        assert!(err.contains("spec.zookeeper"), "{err}");
        assert!(err.contains("spec.controller.pools"), "{err}");
    }
}

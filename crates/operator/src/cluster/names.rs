//! Names, labels and annotations of everything the cluster controller creates, and
//! the Pinot instance ids they imply. Stable names are what make Pinot instance ids
//! stable: `<cluster>-<role>-<pool>-<ordinal>` behind the headless Service
//! `<cluster>-<role>-<pool>` is always the same instance.

use std::collections::BTreeMap;
use std::fmt;

use super::component::Component;

/// Where a pool's instance ids come from.
pub struct Naming<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    /// The Kubernetes cluster's DNS domain (`--cluster-domain`).
    pub domain: &'a str,
}

/// Label every object of a cluster carries (used to list them back).
pub const CLUSTER_LABEL: &str = "pinot.operator.dev/cluster";
pub const COMPONENT_LABEL: &str = "pinot.operator.dev/component";
pub const POOL_LABEL: &str = "pinot.operator.dev/pool";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// On a StatefulSet: hash of every object of its pool as last applied. The planner
/// compares it with the desired hash to see whether the pool needs an apply.
pub const APPLIED_HASH_ANNOTATION: &str = "pinot.operator.dev/applied-hash";
/// On a pod template: hash of the Secret values a pod reads (passwords, storage
/// keys); never the values.
pub const SECRETS_HASH_ANNOTATION: &str = "pinot.operator.dev/secrets-hash";
/// On a pod template: hash of the rendered `.conf`, so a config change rolls the pool.
pub const CONFIG_HASH_ANNOTATION: &str = "pinot.operator.dev/config-hash";
/// A server pod's readiness gate: the operator sets this condition True once every
/// broker routes queries to the pod's instance. Until then the pod is not Ready, so
/// neither a rollout nor a node drain (the disruption budget counts Ready pods) takes
/// the next server away while this one is not serving yet.
pub const ROUTABLE_CONDITION: &str = "pinot.operator.dev/routable";
/// On a server pod about to restart: when the operator asked Pinot to force-commit
/// the segments it was consuming, and which (see `plan::force_commit`).
pub const FORCE_COMMIT_ANNOTATION: &str = "pinot.operator.dev/force-commit";
/// On a server pod: the segments the operator reset on it, space separated (see
/// `plan::error_segments`). A new pod starts without it.
pub const RESET_ANNOTATION: &str = "pinot.operator.dev/segments-reset";
/// Set by the StatefulSet controller on every pod: the revision it was created from.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// The default of `--cluster-domain`: the domain pod DNS names (and so Pinot instance
/// ids, which are pod host names) end in.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The StatefulSet controller labels pods with `controller-revision-hash:
/// <statefulset>-<10 chars>`; a label value holds 63 characters, so a StatefulSet
/// name holds at most 52.
pub const MAX_WORKLOAD_NAME: usize = 52;
/// Pool name used for the managed ZooKeeper ensemble.
pub const ZOOKEEPER_POOL: &str = "managed";
pub const ZOOKEEPER_CLIENT_PORT: i32 = 2181;

/// One pool of one component: the unit of deployment and rollout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId {
    pub component: Component,
    pub pool: String,
}

impl PoolId {
    pub fn new(component: Component, pool: impl Into<String>) -> Self {
        PoolId {
            component,
            pool: pool.into(),
        }
    }

    pub fn zookeeper() -> Self {
        PoolId::new(Component::Zookeeper, ZOOKEEPER_POOL)
    }

    /// StatefulSet, headless Service, ConfigMap and PDB name of the pool.
    pub fn workload(&self, cluster: &str) -> String {
        match self.component {
            Component::Zookeeper => format!("{cluster}-zookeeper"),
            role => format!("{cluster}-{role}-{}", self.pool),
        }
    }

    /// Headless Service that gives each pod a stable DNS name.
    pub fn headless_service(&self, cluster: &str) -> String {
        match self.component {
            Component::Zookeeper => format!("{cluster}-zookeeper-headless"),
            _ => self.workload(cluster),
        }
    }

    /// Labels that select exactly this pool's pods (immutable in a StatefulSet).
    pub fn selector(&self, cluster: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CLUSTER_LABEL.to_owned(), cluster.to_owned()),
            (
                COMPONENT_LABEL.to_owned(),
                self.component.as_str().to_owned(),
            ),
            (POOL_LABEL.to_owned(), self.pool.clone()),
        ])
    }

    /// Labels of every object of the pool: the selector plus the recommended
    /// `app.kubernetes.io/*` labels.
    pub fn labels(&self, cluster: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector(cluster);
        labels.extend(common_labels(cluster, self.component));
        labels
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.component, self.pool)
    }
}

/// Labels shared by all objects of a component of a cluster.
pub fn common_labels(cluster: &str, component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "pinot".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), cluster.to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            component.as_str().to_owned(),
        ),
        (MANAGED_BY_LABEL.to_owned(), crate::FIELD_MANAGER.to_owned()),
        (CLUSTER_LABEL.to_owned(), cluster.to_owned()),
        (COMPONENT_LABEL.to_owned(), component.as_str().to_owned()),
    ])
}

/// Client Service of a role (all its pools), e.g. `<cluster>-controller`, which is
/// what content controllers and users connect to.
pub fn client_service(cluster: &str, component: Component) -> String {
    format!("{cluster}-{component}")
}

/// Address Pinot uses for a managed ZooKeeper.
pub fn zookeeper_address(cluster: &str, namespace: &str) -> String {
    format!(
        "{}.{namespace}.svc:{ZOOKEEPER_CLIENT_PORT}",
        client_service(cluster, Component::Zookeeper)
    )
}

/// DNS name of a StatefulSet pod behind its headless Service; with
/// `pinot.set.instance.id.to.hostname=true` this is the instance's host.
pub fn pod_fqdn(pod: &str, service: &str, namespace: &str, domain: &str) -> String {
    format!("{pod}.{service}.{namespace}.svc.{domain}")
}

/// Pinot instance id of pod `pod` of `pool`, e.g.
/// `Server_analytics-server-hot-0.analytics-server-hot.data.svc.cluster.local_8098`.
pub fn instance_id(pool: &PoolId, naming: &Naming<'_>, pod: &str, port: i32) -> String {
    let service = pool.headless_service(naming.cluster);
    let host = pod_fqdn(pod, &service, naming.namespace, naming.domain);
    format!("{}_{host}_{port}", pool.component.instance_prefix())
}

/// Pod name of ordinal `ordinal` of a StatefulSet.
pub fn pod_name(workload: &str, ordinal: i32) -> String {
    format!("{workload}-{ordinal}")
}

/// Ordinal of a StatefulSet pod from its name.
pub fn ordinal(pod: &str) -> Option<i32> {
    pod.rsplit_once('-')?.1.parse().ok()
}

/// The Helix cluster name: `spec.clusterName`, else the object name with characters
/// Helix does not like in a ZooKeeper path replaced.
pub fn helix_cluster_name(spec_name: Option<&str>, object_name: &str) -> String {
    match spec_name {
        Some(name) => name.to_owned(),
        None => object_name.replace('.', "_"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_objects_are_named_cluster_role_pool() {
        let hot = PoolId::new(Component::Server, "hot");
        assert_eq!(hot.workload("analytics"), "analytics-server-hot");
        assert_eq!(hot.headless_service("analytics"), "analytics-server-hot");
        let zk = PoolId::zookeeper();
        assert_eq!(zk.workload("analytics"), "analytics-zookeeper");
        assert_eq!(
            zk.headless_service("analytics"),
            "analytics-zookeeper-headless"
        );
        assert_eq!(
            client_service("analytics", Component::Controller),
            "analytics-controller"
        );
    }

    #[test]
    fn instance_ids_follow_the_pod_hostname() {
        let hot = PoolId::new(Component::Server, "hot");
        let naming = |domain| Naming {
            cluster: "a",
            namespace: "data",
            domain,
        };
        assert_eq!(
            instance_id(&hot, &naming(CLUSTER_DOMAIN), "a-server-hot-0", 8098),
            "Server_a-server-hot-0.a-server-hot.data.svc.cluster.local_8098"
        );
        assert_eq!(
            instance_id(&hot, &naming("corp.example"), "a-server-hot-0", 8098),
            "Server_a-server-hot-0.a-server-hot.data.svc.corp.example_8098"
        );
    }

    #[test]
    fn ordinals_come_from_the_pod_name_suffix() {
        assert_eq!(ordinal("a-server-hot-12"), Some(12));
        assert_eq!(ordinal("nodash"), None);
        assert_eq!(pod_name("a-broker-x", 3), "a-broker-x-3");
    }

    #[test]
    fn labels_include_the_selector_and_managed_by() {
        let labels = PoolId::new(Component::Broker, "default").labels("c");
        assert_eq!(labels[POOL_LABEL], "default");
        assert_eq!(labels[COMPONENT_LABEL], "broker");
        assert_eq!(labels[MANAGED_BY_LABEL], "pinot-operator");
        assert_eq!(labels["app.kubernetes.io/instance"], "c");
    }

    #[test]
    fn helix_cluster_name_defaults_to_the_object_name() {
        assert_eq!(helix_cluster_name(None, "a.b"), "a_b");
        assert_eq!(helix_cluster_name(Some("X"), "a"), "X");
    }
}

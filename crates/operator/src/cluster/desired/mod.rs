//! Spec → Kubernetes objects. Pure: the same `PinotCluster` always gives the same
//! objects (and hashes), which is what lets the planner compare them with what is
//! running without remembering anything.
//!
//! `validate` refuses what admission cannot; `merge` layers cluster, role and
//! pool settings; [`config`] and `jvm` render each role's `.conf` and JVM options;
//! [`features`] adds auth, TLS, deep storage and plugins; `pool`, `zookeeper`,
//! `workload`, `pod` and `credentials` assemble the objects, `meta` names and hashes
//! them.

mod claims;
pub mod config;
#[cfg(test)]
mod config_proptest;
mod credentials;
pub mod features;
pub(crate) mod jvm;
pub(crate) mod merge;
mod meta;
mod overrides;
mod pod;
mod pool;
pub(crate) mod validate;
mod workload;
mod zookeeper;

pub use credentials::{SECRET_FILE, credentials_secret_name, service_account_name};
pub use meta::hash;
pub use pod::{container_security_context, read_only_mount, secret_key_volume};
pub use pool::{expected_pinot_pools, expected_tags};
pub use zookeeper::{ADMIN_PORT as ZOOKEEPER_ADMIN_PORT, DEFAULT_ZOOKEEPER_IMAGE};

use std::collections::BTreeMap;

use api::cluster::DEFAULT_IMAGE;
use api::{PinotCluster, PinotClusterSpec};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Resource, ResourceExt};

use crate::cluster::component::{Component, PINOT_ROLES};
use crate::cluster::error::ClusterError;
use crate::cluster::names::{
    APPLIED_HASH_ANNOTATION, PoolId, helix_cluster_name, zookeeper_address,
};
use crate::secrets::SecretValues;
use validate::{role_spec, validate};

/// Everything a deployed cluster should consist of.
#[derive(Debug, Clone)]
pub struct DesiredCluster {
    /// `metadata.name` of the `PinotCluster`.
    pub cluster: String,
    /// Pinot image (the target version).
    pub image: String,
    /// Pools in deployment order: ZooKeeper (if managed), controllers, brokers,
    /// servers, minions; within a role in spec order.
    pub pools: Vec<DesiredPool>,
    /// Secret Pinot properties per role (`spec.auth`, deep storage keys).
    pub credentials: Option<Secret>,
    /// ServiceAccount for deep storage workload identity.
    pub service_account: Option<ServiceAccount>,
    /// One PodDisruptionBudget over every server pod of the cluster (when it has
    /// servers): a segment's replicas live in different server pools, so a node drain
    /// may take only one server at a time, whatever its pool.
    pub server_pdb: Option<PodDisruptionBudget>,
}

/// The objects of one pool, applied together.
#[derive(Debug, Clone)]
pub struct DesiredPool {
    pub id: PoolId,
    /// Pods wanted (0 when the cluster is stopped).
    pub replicas: i32,
    pub image: String,
    /// Pinot tags the operator keeps on the pool's instances.
    pub tags: Vec<String>,
    /// Pinot instance pool number per tag the operator keeps on the pool's instances
    /// (servers with a tenant); empty: pools are left as they are.
    pub pinot_pools: BTreeMap<String, i32>,
    /// Port in the pool's Pinot instance ids; `None` for ZooKeeper.
    pub instance_port: Option<i32>,
    pub config_map: ConfigMap,
    pub services: Vec<Service>,
    /// The pool's own budget; `None` for servers, which share
    /// [`DesiredCluster::server_pdb`].
    pub pdb: Option<PodDisruptionBudget>,
    pub statefulset: StatefulSet,
    /// Hash of all of the above; also stamped on the StatefulSet.
    pub hash: String,
}

impl DesiredPool {
    /// Computes the hash of the pool's objects and stamps it on the StatefulSet.
    fn new(mut pool: DesiredPool) -> Self {
        pool.hash = hash(&(
            &pool.config_map,
            &pool.services,
            &pool.pdb,
            &pool.statefulset,
        ));
        pool.statefulset
            .metadata
            .annotations
            .get_or_insert_default()
            .insert(APPLIED_HASH_ANNOTATION.into(), pool.hash.clone());
        pool
    }

    /// Name of the pool's StatefulSet (its pods are `<workload>-<ordinal>`).
    pub fn workload(&self) -> &str {
        self.statefulset
            .metadata
            .name
            .as_deref()
            .unwrap_or_default()
    }
}

/// Where and for whom objects are built.
pub struct Scope<'a> {
    /// `metadata.name` of the `PinotCluster`: prefix of every object name.
    pub name: &'a str,
    pub namespace: &'a str,
    pub owner: OwnerReference,
    pub stopped: bool,
    /// The Kubernetes cluster's DNS domain (`--cluster-domain`).
    pub domain: &'a str,
}

/// What every Pinot pool of a cluster shares.
pub struct PinotScope<'a> {
    pub scope: &'a Scope<'a>,
    pub spec: &'a PinotClusterSpec,
    pub cluster_name: String,
    pub zookeeper: String,
    pub image: String,
    pub production: &'a credentials::Production,
}

/// Builds every object of a deployed cluster; `secrets` holds the values of every
/// Secret key the spec references ([`features::additions::referenced_secrets`]).
pub fn build(
    cluster: &PinotCluster,
    secrets: &SecretValues,
    domain: &str,
) -> Result<DesiredCluster, ClusterError> {
    let name = cluster.name_any();
    let namespace = cluster.namespace().unwrap_or_default();
    let spec = &cluster.spec;
    validate(&name, spec)?;
    let owner = cluster
        .controller_owner_ref(&())
        .ok_or_else(|| ClusterError::InvalidSpec("the PinotCluster has no uid yet".into()))?;
    let scope = Scope {
        name: &name,
        namespace: &namespace,
        owner,
        stopped: spec.stopped,
        domain,
    };
    let zookeeper = spec
        .zookeeper
        .as_ref()
        .ok_or_else(|| ClusterError::InvalidSpec("spec.zookeeper is required".into()))?;
    let mut pools = Vec::new();
    let zookeeper_connect = match (&zookeeper.managed, &zookeeper.external) {
        (Some(managed), _) => {
            pools.push(zookeeper::zookeeper_pool(&scope, managed)?);
            zookeeper_address(&name, &namespace)
        }
        (None, Some(external)) => format!(
            "{}{}",
            external.connect_string,
            external.chroot.as_deref().unwrap_or_default()
        ),
        (None, None) => {
            return Err(ClusterError::InvalidSpec(
                "set zookeeper.managed or zookeeper.external".into(),
            ));
        }
    };
    let image = spec
        .image
        .clone()
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    let production = credentials::production(&scope, spec, secrets);
    let pinot = PinotScope {
        scope: &scope,
        production: &production,
        spec,
        cluster_name: helix_cluster_name(spec.cluster_name.as_deref(), &name),
        zookeeper: zookeeper_connect,
        image: image.clone(),
    };
    for component in PINOT_ROLES {
        let Some(role) = role_spec(spec, component) else {
            continue;
        };
        for (index, pool) in role.pools.iter().enumerate() {
            pools.push(pool::pinot_pool(&pinot, component, role, pool, index)?);
        }
    }
    let has_servers = pools.iter().any(|p| p.id.component == Component::Server);
    Ok(DesiredCluster {
        cluster: name.clone(),
        image,
        pools,
        credentials: production.credentials,
        service_account: production.service_account,
        server_pdb: has_servers.then(|| workload::server_disruption_budget(&scope)),
    })
}

#[cfg(test)]
mod production_tests;
#[cfg(test)]
pub(crate) mod tests;

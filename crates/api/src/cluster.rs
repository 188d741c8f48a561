//! `PinotCluster`: a Pinot cluster this operator deploys, or an external one it only
//! connects to in order to manage schemas, tables and tenants.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::auth::AuthSpec;
use crate::deep_storage::DeepStorageSpec;
use crate::plugins::PluginsSpec;
use crate::service::ServiceSettings;
use crate::settings::{KubernetesSettings, PinotSettings};
use crate::tls::TlsSpec;

/// Image used when `spec.image` is unset.
pub const DEFAULT_IMAGE: &str = "apachepinot/pinot:1.5.1";

/// A Pinot cluster: ZooKeeper plus controller, broker, server and minion pools.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "pinot.operator.dev",
    version = "v1alpha1",
    kind = "PinotCluster",
    namespaced,
    shortname = "pinot",
    category = "pinot",
    status = "PinotClusterStatus",
    printcolumn = r#"{"name":"Available","type":"string","jsonPath":".status.conditions[?(@.type==\"Available\")].status"}"#,
    printcolumn = r#"{"name":"Progressing","type":"string","jsonPath":".status.conditions[?(@.type==\"Progressing\")].status"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version.current"}"#,
    printcolumn = r#"{"name":"Controller","type":"string","priority":1,"jsonPath":".status.controllerUrl"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(oldSelf.clusterName) == has(self.clusterName)")
    .message("clusterName is immutable (it cannot be added or removed after creation)"))]
#[x_kube(validation = Rule::new("has(self.external) || has(self.zookeeper)")
    .message("a deployed cluster needs spec.zookeeper (managed or external); set spec.external to only connect to an existing Pinot"))]
#[x_kube(validation = Rule::new("(!has(self.controller) || !has(self.controller.pools) || self.controller.pools.all(p, !has(p.pinotPool))) && (!has(self.broker) || !has(self.broker.pools) || self.broker.pools.all(p, !has(p.pinotPool))) && (!has(self.minion) || !has(self.minion.pools) || self.minion.pools.all(p, !has(p.pinotPool)))")
    .message("pinotPool applies to server pools only"))]
#[x_kube(validation = Rule::new("(!has(self.server) || !has(self.server.service)) && (!has(self.minion) || !has(self.minion.service))")
    .message("service applies to the broker and controller roles (their client Services)"))]
#[serde(rename_all = "camelCase")]
pub struct PinotClusterSpec {
    /// Container image of every Pinot role. Changing it rolls the cluster role by role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Name of the cluster inside Pinot (Helix cluster name). Defaults to `metadata.name`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterName is immutable"))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_-]{1,63}$')").message("clusterName may hold letters, digits, '_' and '-' (at most 63)"))]
    #[schemars(length(max = 63))]
    pub cluster_name: Option<String>,
    /// ZooKeeper: deployed by the operator (`managed`) or an existing ensemble (`external`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<ZookeeperSpec>,
    /// Connect to an existing Pinot instead of deploying one: only schemas, tables and
    /// tenants are managed. Role and ZooKeeper settings are ignored when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalCluster>,
    /// Pinot settings for every role.
    #[serde(default)]
    pub pinot: PinotSettings,
    /// Kubernetes settings for every pod.
    #[serde(default)]
    pub kubernetes: KubernetesSettings,
    /// Controller pools.
    #[serde(default)]
    pub controller: RoleSpec,
    /// Broker pools.
    #[serde(default)]
    pub broker: RoleSpec,
    /// Server pools.
    #[serde(default)]
    pub server: RoleSpec,
    /// Minion pools.
    #[serde(default)]
    pub minion: RoleSpec,
    /// Basic authentication. Unset: Pinot accepts every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// Where segments are stored for good. Unset: the controllers' data volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_storage: Option<DeepStorageSpec>,
    /// Which plugins load, and extra plugin jars.
    #[serde(default)]
    pub plugins: PluginsSpec,
    /// HTTPS on controllers and brokers. Unset: plain HTTP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
    /// How changes reach running pods.
    #[serde(default)]
    pub rollout: RolloutSpec,
    /// Scale every workload to zero while keeping data, configuration and Services.
    #[serde(default)]
    pub stopped: bool,
}

/// ZooKeeper for a deployed cluster; exactly one of `managed` and `external`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.managed) != has(self.external)")
    .message("set exactly one of zookeeper.managed and zookeeper.external"))]
#[serde(rename_all = "camelCase")]
pub struct ZookeeperSpec {
    /// A ZooKeeper ensemble deployed by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedZookeeper>,
    /// An existing ZooKeeper ensemble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalZookeeper>,
}

/// A ZooKeeper ensemble the operator deploys as a StatefulSet.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZookeeper {
    /// Ensemble size; use an odd number (1, 3 or 5).
    #[serde(default = "default_zookeeper_replicas")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 7 && self % 2 == 1").message("zookeeper.managed.replicas must be odd, between 1 and 7"))]
    pub replicas: i32,
    /// Data volume size per member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Quantity>,
    /// ZooKeeper image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Kubernetes settings for the ZooKeeper pods (the cluster-level block does not apply).
    #[serde(default)]
    pub kubernetes: KubernetesSettings,
}

fn default_zookeeper_replicas() -> i32 {
    3
}

/// An existing ZooKeeper ensemble.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalZookeeper {
    /// `host:port[,host:port...]`.
    #[x_kube(validation = Rule::new("self.size() > 0").message("zookeeper.external.connectString must not be empty"))]
    #[schemars(length(max = 1024))]
    pub connect_string: String,
    /// Path under which Pinot keeps its cluster, e.g. `/pinot/analytics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("zookeeper.external.chroot must start with '/'"))]
    #[schemars(length(max = 256))]
    pub chroot: Option<String>,
}

/// An existing Pinot cluster reached through its controller.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalCluster {
    /// Base URL of the Pinot controller, e.g. `http://pinot-controller.pinot:9000`.
    #[x_kube(validation = Rule::new("self.matches('^https?://[^\\\\s]+$')").message("external.controllerUrl must be an http:// or https:// URL"))]
    #[schemars(length(max = 2048))]
    pub controller_url: String,
    /// Secret with credentials for the controller: keys `username` and `password`
    /// (basic auth) or `token` (bearer). Unset: no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<SecretRef>,
    /// A Secret key holding PEM CA certificates to trust for an `https` controller,
    /// besides the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<crate::auth::SecretKeyRef>,
    /// Accept a controller certificate no CA vouches for. Only for testing.
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

/// A Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct SecretRef {
    /// Secret name.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub name: String,
}

/// One Pinot role: defaults for its pools, and the pools.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSpec {
    /// Pinot settings for every pool of this role; override the cluster's key by key.
    #[serde(default)]
    pub pinot: PinotSettings,
    /// Kubernetes settings for every pool of this role; override the cluster's key by key.
    #[serde(default)]
    pub kubernetes: KubernetesSettings,
    /// Brokers and controllers only: the role's client Service (`<cluster>-broker`,
    /// `<cluster>-controller`): type, annotations, source ranges, traffic policy,
    /// extra ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSettings>,
    /// Pools (role groups) of this role, each its own StatefulSet. Names are unique.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(max = 16))]
    pub pools: Vec<PoolSpec>,
}

/// A pool: pods of one role that share hardware, tags and settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    /// Pool name, part of the StatefulSet and Pinot instance names: lower-case letters,
    /// digits and '-', at most 20 characters.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$')")
        .message("pool name must be 1-20 lower-case letters, digits or '-', starting and ending with a letter or digit"))]
    #[schemars(length(max = 20))]
    pub name: String,
    /// Number of pods.
    #[x_kube(validation = Rule::new("self >= 0").message("replicas must be >= 0"))]
    pub replicas: i32,
    /// Pinot image of this pool; `spec.image` when unset. A canary: one server pool on
    /// a new image while the others stay (rollouts still go role by role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.size() > 0").message("image must not be empty"))]
    #[schemars(length(max = 512))]
    pub image: Option<String>,
    /// Pinot tenant the instances of this pool serve (servers and brokers). The
    /// operator tags every instance with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,64}$')").message("tenant may hold letters, digits and '_'"))]
    #[schemars(length(max = 64))]
    pub tenant: Option<String>,
    /// Storage tier tag of this pool's servers (e.g. `hot`, `cold`), for tier-based
    /// segment placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,64}$')").message("tier may hold letters, digits and '_'"))]
    #[schemars(length(max = 64))]
    pub tier: Option<String>,
    /// Servers only: the Pinot instance pool number the operator sets on this pool's
    /// instances (for each of its tenant's tags) and keeps set. A table whose
    /// `instanceAssignmentConfigMap` uses `tagPoolConfig.poolBased: true` then keeps
    /// each replica group in a pool of its own, so one pool holds a whole replica of
    /// every segment. Unset: the pool's position among the server pools (0, 1, ...):
    /// set it before reordering or removing server pools. Needs `tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 1000").message("pinotPool must be between 0 and 1000"))]
    pub pinot_pool: Option<i32>,
    /// Pinot settings of this pool; override the role's key by key.
    #[serde(default)]
    pub pinot: PinotSettings,
    /// Kubernetes settings of this pool; override the role's key by key.
    #[serde(default)]
    pub kubernetes: KubernetesSettings,
}

/// How changes reach running pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Stop every change to workloads; status keeps being updated.
    #[serde(default)]
    pub paused: bool,
    /// How server pods restart during a rollout.
    #[serde(default)]
    pub server_strategy: ServerRolloutStrategy,
    /// What a rollout does when the operator cannot ask the cluster's Pinot whether a
    /// pool is healthy (instances registered, segments ONLINE, last replicas), or a
    /// managed ZooKeeper ensemble which member leads (restarted last).
    #[serde(default)]
    pub pinot_checks: PinotChecks,
    /// Force-commit the CONSUMING segments a wave of server pods hosts before the wave
    /// restarts, and wait (up to 5 minutes) until they are committed, so the restarted
    /// servers resume consuming where the commit ended instead of re-consuming the
    /// whole segment. Unset: on. Off, a segment that commits while a server drains
    /// may be unavailable for a moment on Pinot 0.11 (see docs/operations.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_commit: Option<bool>,
}

impl RolloutSpec {
    /// Whether server waves force-commit first: the spec's word, else on.
    pub fn force_commits(&self) -> bool {
        self.force_commit.unwrap_or(true)
    }
}

/// What a rollout does when the operator cannot ask the cluster's Pinot.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum PinotChecks {
    /// Wait until Pinot answers, and say why in `Progressing` and an Event: the
    /// rollout never restarts a pod without Pinot's checks (the default).
    #[default]
    Required,
    /// Go on without the checks while Pinot cannot be asked (they still run whenever
    /// it can). For clusters the operator cannot reach, such as simulated nodes.
    SkipWhenUnreachable,
}

/// How server pods restart during a rollout.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum ServerRolloutStrategy {
    /// All pods of a pool restart together, one pool at a time (the pools must hold
    /// replicas of each other's segments, e.g. through pool-based instance assignment).
    #[default]
    PoolByPool,
    /// One pod at a time.
    OneByOne,
}

/// Observed state of a `PinotCluster`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PinotClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Available`, `Progressing`, `Degraded` and `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Running and target image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionStatus>,
    /// Per pool replica counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolStatus>,
    /// URL of the Pinot controller the operator talks to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_url: Option<String>,
}

/// Running (`current`) and desired (`target`) image.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
pub struct VersionStatus {
    /// `target` once every Pinot pod runs its pool's image (a pool's own `image`
    /// counts as done); during a rollout, the image most pods still run instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Image the spec asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Replica counts of one pool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolStatus {
    /// `zookeeper`, `controller`, `broker`, `server` or `minion`.
    pub role: String,
    /// Pool name.
    pub name: String,
    /// Pods the pool should have.
    pub replicas: i32,
    /// Pods that are Ready.
    pub ready_replicas: i32,
    /// Pods on the pool's current spec (image and configuration).
    pub updated_replicas: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_force_commit_unless_the_spec_says_not_to() {
        let rollout = |strategy, force_commit| RolloutSpec {
            server_strategy: strategy,
            force_commit,
            ..RolloutSpec::default()
        };
        use ServerRolloutStrategy::{OneByOne, PoolByPool};
        assert!(rollout(PoolByPool, None).force_commits());
        assert!(rollout(OneByOne, None).force_commits());
        assert!(!rollout(PoolByPool, Some(false)).force_commits());
        assert!(!rollout(OneByOne, Some(false)).force_commits());
    }
}

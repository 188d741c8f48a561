//! The two settings blocks every level of a `PinotCluster` carries: `pinot:` (what
//! goes into Pinot's own configuration) and `kubernetes:` (how pods run). A pool's
//! block overrides its role's, which overrides the cluster's, key by key.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, ResourceRequirements, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Pinot settings: rendered into the role's `.conf` file and the JVM command line.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PinotSettings {
    /// Pinot configuration properties (e.g. `pinot.server.query.executor.timeout: "30000"`),
    /// written to the role's `.conf` after the operator's defaults; a key set here wins.
    /// Merged key by key: cluster, then role, then pool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Extra JVM options. When unset at every level, heap options are derived from the
    /// container memory limit (half of it for the heap). The most specific level that sets it wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jvm_options: Option<String>,
}

/// Persistent storage for controller (segment store) and server (segments) data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSettings {
    /// Size of the data volume, e.g. `100Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Quantity>,
    /// StorageClass of the data volume; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// A PersistentVolumeClaim of its own for each pod, mounted in the Pinot (or
/// ZooKeeper) container: a volume for what Pinot's data directory does not hold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeClaimSettings {
    /// Name of the claim template and of the volume; each pod's claim is
    /// `<name>-<pod>`. It must not be a volume the pod already has (`data`, `config`,
    /// `credentials`, or one added by `podOverrides`).
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Where the container mounts it: an absolute path no other mount uses.
    #[schemars(length(min = 2, max = 1024), regex(pattern = r"^/.*[^/]$"))]
    pub mount_path: String,
    /// Size of each claim, e.g. `20Gi`. It may grow later (the claims are expanded in
    /// place); it cannot shrink.
    pub size: Quantity,
    /// StorageClass of the claims; the cluster default when unset. Fixed once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// Kubernetes settings for the pods of a cluster, role or pool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSettings {
    /// CPU and memory requests and limits of the Pinot container. Replaced as a whole
    /// by a more specific level that sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Data volume: of controllers and servers always, of minions when set on the
    /// minion role or pool (their task scratch directory is an `emptyDir` otherwise).
    /// Brokers keep no data: set on a broker it is refused (`volumeClaims` mounts a
    /// volume anywhere). `size` and `storageClassName` merge separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSettings>,
    /// Extra volume claims of every pod, merged by `name` (a more specific level
    /// replaces an entry of the same name). Adding or removing one re-creates the
    /// StatefulSet (its pods keep running) and then restarts the pods, the rollout's
    /// way, to mount it; a removed one's claims are kept, with their data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(max = 8))]
    pub volume_claims: Vec<VolumeClaimSettings>,
    /// Node labels the pods must match; merged key by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations (core/v1 Toleration); a more specific level that sets any replaces the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "opaque_array")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Affinity (core/v1 Affinity); a more specific level that sets it replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "opaque_object")]
    pub affinity: Option<Affinity>,
    /// Extra pod labels; merged key by key. Labels the operator sets cannot be overridden.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
    /// Extra pod annotations; merged key by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
    /// Extra environment variables (core/v1 EnvVar) of the Pinot container; merged by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "opaque_array")]
    pub env: Option<Vec<EnvVar>>,
    /// ServiceAccount the pods run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secrets used to pull the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Seconds a pod gets to shut down. Defaults per role leave Pinot time to drain
    /// queries (servers: 300, brokers: 90, others: 30). A broker spends its first 35 s
    /// in a preStop sleep, still serving, while clients move to other brokers: below
    /// about 50 s it is stopped before it has finished its queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("terminationGracePeriodSeconds must be >= 0"))]
    pub termination_grace_period_seconds: Option<i64>,
    /// A patch of the pod template the operator builds (`metadata` and `spec` of a
    /// core/v1 PodTemplateSpec), for what the fields above do not cover: sidecars, init
    /// containers, volumes and mounts, topology spread, priority class, security
    /// contexts, probe tweaks. Merged like `kubectl patch --type strategic`: objects key
    /// by key (`null` removes a key), containers, volumes and env by `name`, mounts by
    /// `mountPath`, ports by `containerPort`, other lists replaced; `"$patch": "delete"`
    /// on a list item removes it. Applied cluster, then role, then pool (not merged
    /// with each other first). The main container's name, image, command and args, the
    /// operator's volumes and mounts, its labels and annotations and the readiness
    /// gate cannot be changed: the cluster reports `InvalidSpec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "opaque_object")]
    pub pod_overrides: Option<serde_json::Value>,
}

// Affinity, tolerations and env vars are validated by the apiserver when the operator
// applies the StatefulSet; embedding their full schemas at every level of the spec
// would make the CRD several hundred kilobytes.
fn opaque_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn opaque_array(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "nullable": true,
        "items": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
    })
}

//! Types shared by every kind: the cluster reference, deletion policy and status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Points at a `PinotCluster` in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct ClusterRef {
    /// Name of the `PinotCluster` (same namespace) whose Pinot holds this object.
    // One rule, two messages: every write of a schema, table or tenant evaluates it
    // (docs/benchmarks.md, admission).
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message(Message::Expression(r#"self.size() == 0 ? "clusterRef.name must not be empty" : "must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces""#.into())))]
    #[schemars(length(max = 253))]
    pub name: String,
}

/// What happens in Pinot when the Kubernetes object is deleted.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum DeletionPolicy {
    /// Remove only the Kubernetes object; the Pinot object stays (the default).
    #[default]
    Retain,
    /// Delete the object from Pinot too.
    Delete,
}

/// Status of a content resource (schema, table, tenant).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Synced` (Pinot matches the spec) and `Ready` (the last sync confirmed the object
    /// exists in Pinot; Unknown while a sync fails).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Hash of the last document applied to Pinot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_hash: Option<String>,
    /// When Pinot was last seen matching the spec (RFC 3339). Refreshed with any other
    /// status change, otherwise at most every 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<String>,
    /// Follow-up work an applied change still needs because it failed (tables: a
    /// segment reload or a rebalance). Retried at every sync until it succeeds, without
    /// applying the change itself again; `Synced` is False with reason `FollowUpFailed`
    /// meanwhile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_follow_ups: Vec<FollowUp>,
}

/// Work Pinot needs after a table config change, for the change to take effect.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema,
)]
pub enum FollowUp {
    /// Move segments to the instances the new config assigns (tenants, replication).
    Rebalance,
    /// Reload existing segments (new indexes, columns, ingestion transforms).
    Reload,
}

/// Condition types: `Synced` and `Ready` of content resources, the others of `PinotCluster`.
pub mod condition {
    pub const SYNCED: &str = "Synced";
    pub const READY: &str = "Ready";
    pub const AVAILABLE: &str = "Available";
    pub const PROGRESSING: &str = "Progressing";
    pub const DEGRADED: &str = "Degraded";
    pub const PAUSED: &str = "Paused";
}

//! `PinotTenant`: a Pinot server or broker tenant.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::common::{ClusterRef, ContentStatus, DeletionPolicy};

/// A Pinot tenant: a named group of servers or brokers that tables are placed on.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "pinot.operator.dev",
    version = "v1alpha1",
    kind = "PinotTenant",
    namespaced,
    shortname = "ptenant",
    category = "pinot",
    status = "ContentStatus",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.clusterRef.name"}"#,
    printcolumn = r#"{"name":"Tenant","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".spec.role"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("self.role != 'Broker' || has(self.instances)")
    .message("a Broker tenant needs instances"))]
#[x_kube(validation = Rule::new("self.role != 'Server' || has(self.offlineInstances) || has(self.realtimeInstances)")
    .message("a Server tenant needs offlineInstances and/or realtimeInstances"))]
#[x_kube(validation = Rule::new("self.role != 'Broker' || (!has(self.offlineInstances) && !has(self.realtimeInstances))")
    .message("offlineInstances and realtimeInstances apply to Server tenants only"))]
#[serde(rename_all = "camelCase")]
pub struct PinotTenantSpec {
    /// The `PinotCluster` (same namespace) whose Pinot holds the tenant. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: ClusterRef,
    /// `Server` or `Broker`. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("role is immutable"))]
    pub role: TenantRole,
    /// Tenant name in Pinot (tables refer to it). Immutable.
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,64}$')").message("tenant name may hold letters, digits and '_' (at most 64)"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    #[schemars(length(max = 64))]
    pub name: String,
    /// Broker tenants: number of brokers tagged for the tenant. Server tenants: number
    /// of distinct servers (defaults to offlineInstances + realtimeInstances; fewer makes
    /// Pinot put both tags on the same servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("instances must be >= 0"))]
    pub instances: Option<i32>,
    /// Server tenants: number of servers tagged for OFFLINE tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("offlineInstances must be >= 0"))]
    pub offline_instances: Option<i32>,
    /// Server tenants: number of servers tagged for REALTIME tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("realtimeInstances must be >= 0"))]
    pub realtime_instances: Option<i32>,
    /// What happens in Pinot when this object is deleted: `Retain` (default) keeps the
    /// tenant; `Delete` removes it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A tenant's role.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum TenantRole {
    Server,
    Broker,
}

//! Custom resources of pinot-operator: group `pinot.operator.dev`, version `v1alpha1`.
//!
//! Types only — no I/O. Field doc comments become the CRD's OpenAPI descriptions
//! (what `kubectl explain` prints), so they are written for users.

pub mod auth;
pub mod cluster;
pub mod common;
pub mod deep_storage;
pub mod plugins;
pub mod schema;
pub mod service;
pub mod settings;
pub mod table;
pub mod tenant;
pub mod tls;

pub use cluster::{PinotCluster, PinotClusterSpec, PinotClusterStatus};
pub use common::{ClusterRef, ContentStatus, DeletionPolicy, FollowUp};
pub use schema::{PinotSchema, PinotSchemaSpec};
pub use table::{PinotTable, PinotTableSpec};
pub use tenant::{PinotTenant, PinotTenantSpec};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every kind.
pub const GROUP: &str = "pinot.operator.dev";

/// Every CustomResourceDefinition this operator serves, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        PinotCluster::crd(),
        PinotSchema::crd(),
        PinotTable::crd(),
        PinotTenant::crd(),
    ]
}

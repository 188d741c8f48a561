//! `PinotSchema`: a Pinot schema, written as Pinot's own JSON document in YAML.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{ClusterRef, ContentStatus, DeletionPolicy};

/// A Pinot schema kept in sync with `spec.schema`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "pinot.operator.dev",
    version = "v1alpha1",
    kind = "PinotSchema",
    namespaced,
    shortname = "pschema",
    category = "pinot",
    status = "ContentStatus",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.clusterRef.name"}"#,
    printcolumn = r#"{"name":"Schema","type":"string","jsonPath":".spec.schema.schemaName"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PinotSchemaSpec {
    /// The `PinotCluster` (same namespace) whose Pinot holds the schema. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: ClusterRef,
    /// Pinot's schema document (`schemaName`, `dimensionFieldSpecs`, `metricFieldSpecs`,
    /// `dateTimeFieldSpecs`, `primaryKeyColumns`, ...), exactly as Pinot's REST API takes it.
    pub schema: SchemaDocument,
    /// What happens in Pinot when this object is deleted: `Retain` (default) keeps the
    /// schema; `Delete` removes it once no table uses it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// How updates Pinot considers risky are applied.
    #[serde(default)]
    pub update_policy: SchemaUpdatePolicy,
}

/// Pinot's schema JSON; fields beyond `schemaName` are passed through unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDocument {
    /// Name of the schema in Pinot. Immutable.
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,128}$')").message("schemaName may hold letters, digits and '_' (at most 128)"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("schemaName is immutable"))]
    #[schemars(length(max = 128))]
    pub schema_name: String,
    /// The rest of the document.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

/// How schema updates that Pinot considers risky are applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaUpdatePolicy {
    /// Retry a change Pinot refuses as backward-incompatible with Pinot's `force=true`
    /// (Pinot 1.x; 0.11 has no force and still refuses). Without it such a change is
    /// reported in status (`IncompatibleSchemaChange`) and not applied.
    #[serde(default)]
    pub force: bool,
    /// Reload the segments of tables using the schema after an update, so new columns
    /// are served (Pinot's `reload=true`).
    #[serde(default)]
    pub reload: bool,
}

impl SchemaDocument {
    /// The whole document as Pinot takes it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a schema document serializes")
    }
}

//! `PinotTable`: a Pinot table, written as Pinot's own TableConfig JSON in YAML.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::{ClusterRef, ContentStatus, DeletionPolicy};

/// A Pinot table kept in sync with `spec.table`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "pinot.operator.dev",
    version = "v1alpha1",
    kind = "PinotTable",
    namespaced,
    shortname = "ptable",
    category = "pinot",
    status = "ContentStatus",
    printcolumn = r#"{"name":"Cluster","type":"string","jsonPath":".spec.clusterRef.name"}"#,
    printcolumn = r#"{"name":"Table","type":"string","jsonPath":".spec.table.tableName"}"#,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.table.tableType"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Synced\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PinotTableSpec {
    /// The `PinotCluster` (same namespace) whose Pinot holds the table. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: ClusterRef,
    /// The `PinotSchema` (same namespace) the table uses. The table waits until that
    /// schema exists in Pinot. Unset: the schema named like the table must exist in Pinot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_ref: Option<LocalRef>,
    /// Pinot's TableConfig document (`tableName`, `tableType`, `segmentsConfig`,
    /// `tableIndexConfig`, `tenants`, `ingestionConfig`, ...), as Pinot's REST API takes it.
    pub table: TableDocument,
    /// What happens in Pinot when this object is deleted: `Retain` (default) keeps the
    /// table; `Delete` removes it (Pinot keeps the deleted segments for its own
    /// deleted-segments retention).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// What the operator does after applying a changed TableConfig.
    #[serde(default)]
    pub on_change: TableChangePolicy,
    /// Whether a REALTIME table consumes from its stream: `Running` (default) or
    /// `Paused`. Pausing commits what was consumed (it stays queryable) and stops
    /// consuming; resuming continues from where it stopped, so nothing produced in
    /// between is skipped. `Paused` is for REALTIME tables only.
    #[serde(default)]
    pub consumption: Consumption,
}

/// Whether a REALTIME table consumes from its stream.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum Consumption {
    /// Consume (the default); a paused table is resumed.
    #[default]
    Running,
    /// Pause consumption (Pinot's `pauseConsumption`).
    Paused,
}

/// A resource in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct LocalRef {
    /// Resource name.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub name: String,
}

/// Pinot's TableConfig; fields beyond name, type and `segmentsConfig.schemaName` are
/// passed through unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableDocument {
    /// Raw table name (without the `_OFFLINE`/`_REALTIME` suffix). Immutable.
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_]{1,128}$') && !self.endsWith('_OFFLINE') && !self.endsWith('_REALTIME')").message(Message::Expression(r#"self.matches('^[A-Za-z0-9_]{1,128}$') ? "tableName must not carry the _OFFLINE/_REALTIME suffix; tableType says it" : "tableName may hold letters, digits and '_' (at most 128)""#.into())))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("tableName is immutable"))]
    #[schemars(length(max = 128))]
    pub table_name: String,
    /// `OFFLINE` or `REALTIME`. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("tableType is immutable"))]
    pub table_type: TableType,
    /// Pinot's `segmentsConfig` (`timeColumnName`, `replication`, retention, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments_config: Option<SegmentsConfig>,
    /// The rest of the document.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

/// A table's `segmentsConfig`; fields beyond `schemaName` are passed through unchanged.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentsConfig {
    /// Deprecated by Pinot: 1.x ignores it (reporting it as an unrecognized property)
    /// and finds a table's schema by the table name. Allowed only equal to `tableName`,
    /// and never sent to Pinot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_name: Option<String>,
    /// The rest of `segmentsConfig`.
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

/// Pinot table type. Serialised and displayed as Pinot spells it: `OFFLINE`/`REALTIME`,
/// so the CRD field and Pinot's REST API share this one type (`pinot_client::TableType`
/// re-exports it).
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum TableType {
    Offline,
    Realtime,
}

impl TableType {
    pub fn as_str(self) -> &'static str {
        match self {
            TableType::Offline => "OFFLINE",
            TableType::Realtime => "REALTIME",
        }
    }

    /// Pinot's physical table name: `events` -> `events_OFFLINE`. Idempotent.
    pub fn table_name_with_type(self, raw_name: &str) -> String {
        let suffix = format!("_{}", self.as_str());
        if raw_name.ends_with(&suffix) {
            raw_name.to_owned()
        } else {
            format!("{raw_name}{suffix}")
        }
    }
}

impl std::fmt::Display for TableType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the operator does after applying a changed TableConfig.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableChangePolicy {
    /// Rebalance the table when a change moves it (e.g. tenants or replication changed).
    /// Without it, the need is reported in status.
    #[serde(default)]
    pub rebalance: bool,
    /// Reload segments when a change needs it (e.g. a new index). Without it, the need
    /// is reported in status.
    #[serde(default)]
    pub reload: bool,
}

impl TableDocument {
    /// The whole document as Pinot takes it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a table document serializes")
    }
}

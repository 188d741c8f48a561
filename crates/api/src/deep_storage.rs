//! `spec.deepStorage` of a `PinotCluster`: where segments are kept for good, and how
//! every role that reads or writes them reaches it.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyRef;

/// The segment store; exactly one kind. Unset: the controllers' data volume (`local`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.s3), has(self.gcs), has(self.adls), has(self.hdfs), has(self.local)].filter(x, x).size() == 1")
    .message("set exactly one of deepStorage.s3, gcs, adls, hdfs and local"))]
#[serde(rename_all = "camelCase")]
pub struct DeepStorageSpec {
    /// Amazon S3 or an S3-compatible store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Storage>,
    /// Google Cloud Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsStorage>,
    /// Azure Data Lake Storage Gen2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adls: Option<AdlsStorage>,
    /// HDFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdfs: Option<HdfsStorage>,
    /// A directory on the controllers' data volume. Only for a single controller or a
    /// volume all controllers share (tests, sandboxes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalStorage>,
    /// Annotations of the ServiceAccount the operator creates for controllers, servers
    /// and minions, for workload identity (e.g. `eks.amazonaws.com/role-arn`,
    /// `iam.gke.io/gcp-service-account`, `azure.workload.identity/client-id`). Unset: no
    /// ServiceAccount is created. A pool's `kubernetes.serviceAccountName` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_annotations: Option<BTreeMap<String, String>>,
}

/// S3 deep storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Storage {
    /// `s3://bucket/prefix`.
    #[x_kube(validation = Rule::new("self.matches('^s3://[^/\\\\s]+(/\\\\S*)?$')").message("s3.uri must look like s3://bucket/prefix"))]
    #[schemars(length(max = 1024))]
    pub uri: String,
    /// Bucket region, e.g. `us-east-1`.
    #[schemars(length(max = 64))]
    pub region: String,
    /// Endpoint of an S3-compatible store (MinIO, Ceph). Unset: AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub endpoint: Option<String>,
    /// Access key id. Unset with `secretAccessKey`: the default AWS credential chain
    /// (workload identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<SecretKeyRef>,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretKeyRef>,
}

/// Google Cloud Storage deep storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GcsStorage {
    /// `gs://bucket/prefix`.
    #[x_kube(validation = Rule::new("self.matches('^gs://[^/\\\\s]+(/\\\\S*)?$')").message("gcs.uri must look like gs://bucket/prefix"))]
    #[schemars(length(max = 1024))]
    pub uri: String,
    /// Google Cloud project id.
    #[schemars(length(max = 128))]
    pub project_id: String,
    /// Service account key (JSON). Unset: workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret_ref: Option<SecretKeyRef>,
}

/// Azure Data Lake Storage Gen2 deep storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdlsStorage {
    /// `adl2://<file system>/prefix`.
    #[x_kube(validation = Rule::new("self.matches('^adl2://[^/\\\\s]+(/\\\\S*)?$')").message("adls.uri must look like adl2://filesystem/prefix"))]
    #[schemars(length(max = 1024))]
    pub uri: String,
    /// Storage account name.
    #[schemars(length(max = 64))]
    pub account_name: String,
    /// File system (container) name.
    #[schemars(length(max = 64))]
    pub file_system_name: String,
    /// Storage account access key. Unset: workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<SecretKeyRef>,
}

/// HDFS deep storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HdfsStorage {
    /// `hdfs://namenode:8020/prefix`.
    #[x_kube(validation = Rule::new("self.matches('^hdfs://\\\\S+$')").message("hdfs.uri must look like hdfs://namenode/prefix"))]
    #[schemars(length(max = 1024))]
    pub uri: String,
    /// ConfigMap (same namespace) with `core-site.xml` and `hdfs-site.xml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub config_map_name: Option<String>,
    /// Kerberos principal. Needs `keytab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub kerberos_principal: Option<String>,
    /// The Kerberos keytab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keytab: Option<SecretKeyRef>,
}

/// Deep storage on the controllers' data volume.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalStorage {
    /// Absolute directory. Unset: the controller data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("local.path must be absolute"))]
    #[schemars(length(max = 1024))]
    pub path: Option<String>,
}

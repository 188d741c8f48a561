//! `spec.plugins` of a `PinotCluster`: which Pinot plugins load, and plugins that
//! are not in the image.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Which plugins load, and extra plugin jars.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginsSpec {
    /// Plugin directories to load (Pinot's `plugins.include`), e.g. `pinot-kafka-3.0`,
    /// `pinot-parquet`. The deep storage plugin and `extra` plugins are added. Unset:
    /// every plugin in the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub include: Option<Vec<String>>,
    /// Plugins not in the image, each loaded from its own directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(max = 16))]
    pub extra: Vec<ExtraPlugin>,
}

/// Jars of one plugin, from an image (copied by an init container) or a volume.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.image) != has(self.claimName)")
    .message("an extra plugin takes exactly one of image and claimName"))]
#[serde(rename_all = "camelCase")]
pub struct ExtraPlugin {
    /// Plugin name, also its directory name.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]{0,48}[a-z0-9])?$')").message("plugin name must be lower-case letters, digits, '-' and '.' (at most 50)"))]
    #[schemars(length(max = 50))]
    pub name: String,
    /// Image holding the jars; an init container copies `path` out of it (needs `cp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub image: Option<String>,
    /// Directory with the jars inside `image`, or within the volume.
    #[serde(default = "default_plugin_path")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("plugin path must be absolute"))]
    #[schemars(length(max = 512))]
    pub path: String,
    /// PersistentVolumeClaim (same namespace) holding the jars, mounted read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub claim_name: Option<String>,
}

fn default_plugin_path() -> String {
    "/plugins".into()
}

//! What a cluster's production settings (auth, deep storage, plugins) add to the
//! pods of one role. Each setting renders its own `Additions`; the pool builder
//! merges them into the role's `.conf`, the credentials Secret and the pod spec.

use api::PinotClusterSpec;
use api::auth::SecretKeyRef;
use k8s_openapi::api::core::v1::{Container, EnvVar, Volume, VolumeMount};

use super::{auth, deep_storage, plugins, tls};
use crate::cluster::component::Component;
use crate::secrets::SecretValues;

/// Additions of one role.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Additions {
    /// Properties for the role's `.conf` (ConfigMap). Never secret.
    pub properties: Vec<(String, String)>,
    /// Secret properties: rendered into the operator's credentials Secret, which Pinot
    /// loads through `config.paths`.
    pub secret_properties: Vec<(String, String)>,
    pub env: Vec<EnvVar>,
    pub volumes: Vec<Volume>,
    pub mounts: Vec<VolumeMount>,
    pub init_containers: Vec<Container>,
    pub jvm_flags: Vec<String>,
    /// Container (and Service) ports besides the role's own, e.g. `https`.
    pub extra_ports: Vec<(&'static str, i32)>,
    /// Secret keys the pods read (through files, env or the credentials Secret): a
    /// change to any of them restarts the role.
    pub secret_inputs: Vec<SecretKeyRef>,
}

impl Additions {
    pub fn extend(&mut self, other: Additions) {
        self.properties.extend(other.properties);
        self.secret_properties.extend(other.secret_properties);
        self.env.extend(other.env);
        self.volumes.extend(other.volumes);
        self.mounts.extend(other.mounts);
        self.init_containers.extend(other.init_containers);
        self.jvm_flags.extend(other.jvm_flags);
        self.extra_ports.extend(other.extra_ports);
        self.secret_inputs.extend(other.secret_inputs);
    }
}

/// Every Secret key the spec references, for the controller to read before building.
pub fn referenced_secrets(spec: &PinotClusterSpec) -> Vec<SecretKeyRef> {
    let mut refs = auth::secret_refs(spec.auth.as_ref());
    refs.extend(deep_storage::secret_refs(spec.deep_storage.as_ref()));
    refs.extend(tls::secret_refs(spec.tls.as_ref()));
    refs.sort();
    refs.dedup();
    refs
}

/// Everything the spec's production settings add to `component`'s pods.
pub fn additions(
    spec: &PinotClusterSpec,
    component: Component,
    secrets: &SecretValues,
) -> Additions {
    let mut all = Additions::default();
    if let Some(auth) = &spec.auth {
        all.extend(auth::additions(auth, component, secrets));
    }
    if let Some(tls) = &spec.tls {
        all.extend(tls::additions(tls, component, secrets));
    }
    if let Some(storage) = &spec.deep_storage {
        all.extend(deep_storage::additions(storage, component, secrets));
    }
    all.extend(plugins::additions(
        &spec.plugins,
        deep_storage::plugin(spec.deep_storage.as_ref()),
    ));
    all
}

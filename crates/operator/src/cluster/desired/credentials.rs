//! The objects production settings need besides pools: the credentials Secret
//! (secret Pinot properties per role, loaded through `config.paths`) and the
//! ServiceAccount for deep storage workload identity. Also what each role's pods
//! get from them.

use std::collections::BTreeMap;

use api::PinotClusterSpec;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};

use super::Scope;
use super::features::additions::{Additions, additions};
use super::meta::{hash, object_meta};
use crate::cluster::component::{Component, PINOT_ROLES};
use crate::cluster::desired::config::properties_text;
use crate::cluster::names::{CLUSTER_LABEL, MANAGED_BY_LABEL};
use crate::secrets::SecretValues;

/// Where a pod finds its role's secret properties.
pub const SECRET_DIR: &str = "/var/pinot/credentials";
pub const SECRET_FILE: &str = "/var/pinot/credentials/pinot.properties";

/// What one role's pods get from the production settings.
#[derive(Debug, Clone, Default)]
pub struct RoleExtras {
    pub additions: Additions,
    /// Key of the role's file in the credentials Secret, if it has secret properties.
    pub secret_key: Option<String>,
    /// Hash of every secret value the role reads: stamped on the pod template, so a
    /// rotated Secret restarts exactly the roles that use it.
    pub secrets_hash: Option<String>,
}

/// Extras per Pinot role, the credentials Secret and the ServiceAccount.
pub struct Production {
    pub roles: Vec<(Component, RoleExtras)>,
    pub credentials: Option<Secret>,
    pub service_account: Option<ServiceAccount>,
}

impl Production {
    pub fn role(&self, component: Component) -> RoleExtras {
        self.roles
            .iter()
            .find(|(c, _)| *c == component)
            .map(|(_, extras)| extras.clone())
            .unwrap_or_default()
    }
}

/// Name of the operator's credentials Secret of a cluster.
pub fn credentials_secret_name(cluster: &str) -> String {
    format!("{cluster}-credentials")
}

/// Name of the ServiceAccount for deep storage workload identity.
pub fn service_account_name(cluster: &str) -> String {
    format!("{cluster}-pinot")
}

pub fn production(
    scope: &Scope<'_>,
    spec: &PinotClusterSpec,
    secrets: &SecretValues,
) -> Production {
    let mut data = BTreeMap::new();
    let mut roles = Vec::new();
    for component in PINOT_ROLES {
        let additions = additions(spec, component, secrets);
        let mut extras = RoleExtras::default();
        if !additions.secret_properties.is_empty() {
            let key = format!("{component}.properties");
            let text = properties_text(
                "Secret Pinot properties rendered by pinot-operator",
                &additions.secret_properties,
            );
            data.insert(key.clone(), ByteString(text.into_bytes()));
            extras.secret_key = Some(key);
        }
        if !additions.secret_inputs.is_empty() {
            let values: Vec<_> = additions
                .secret_inputs
                .iter()
                .map(|r| (r, secrets.get(r)))
                .collect();
            extras.secrets_hash = Some(hash(&values));
        }
        extras.additions = additions;
        roles.push((component, extras));
    }
    let labels = BTreeMap::from([
        (CLUSTER_LABEL.to_owned(), scope.name.to_owned()),
        (MANAGED_BY_LABEL.to_owned(), crate::FIELD_MANAGER.to_owned()),
    ]);
    let meta = |name| object_meta(name, scope.namespace, labels.clone(), &scope.owner);
    let credentials = (!data.is_empty()).then(|| Secret {
        metadata: meta(credentials_secret_name(scope.name)),
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Secret::default()
    });
    let annotations = spec
        .deep_storage
        .as_ref()
        .and_then(|d| d.service_account_annotations.clone());
    let service_account = annotations.map(|annotations| {
        let mut metadata = meta(service_account_name(scope.name));
        metadata.annotations = Some(annotations);
        ServiceAccount {
            metadata,
            ..ServiceAccount::default()
        }
    });
    Production {
        roles,
        credentials,
        service_account,
    }
}

//! `spec.tls` of a `PinotCluster`: HTTPS on controllers and brokers.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use crate::auth::SecretKeyRef;

/// HTTPS listeners on controllers (port 9443) and brokers (8443), next to plain HTTP,
/// which kubelet probes keep using. The operator then calls the controller over HTTPS
/// and trusts the Secret's `ca.crt`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// Secret (same namespace) with `keystore.p12` (PKCS#12 holding the certificate and
    /// its key, valid for `<cluster>-controller.<namespace>.svc`) and `ca.crt` (PEM), as
    /// cert-manager writes them with `keystores.pkcs12.create: true`.
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')").message("must name an object in this namespace (lower-case letters, digits, '-', '.'): references never cross namespaces"))]
    #[schemars(length(max = 253))]
    pub secret_name: String,
    /// The keystore password.
    pub keystore_password_secret_ref: SecretKeyRef,
}

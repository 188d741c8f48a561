//! Where a cluster's Pinot controller answers, and as whom the operator calls it.
//! An external `PinotCluster` names a URL, a credentials Secret and a CA; one this
//! operator deploys is reached through its controller Service, as its admin user,
//! trusting the CA of its `spec.tls`. Secrets are read by name, never listed.

use api::PinotCluster;
use api::auth::{AuthSpec, SecretKeyRef};
use api::cluster::ExternalCluster;
use api::tls::TlsSpec;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};
use pinot_client::{Auth, ClientConfig};

use crate::cluster::desired::features::tls::BROKER_HTTPS_PORT;
use crate::secrets::{self, SecretError, SecretValues};

/// Port of the Pinot controller's REST API in clusters this operator deploys.
pub const CONTROLLER_PORT: u16 = 9000;
/// Its HTTPS listener, when the cluster has `spec.tls`.
pub const CONTROLLER_HTTPS_PORT: i32 = 9443;

/// Why a cluster's Pinot cannot be addressed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A Secret the operator needs to call Pinot is missing or incomplete.
    #[error("{0}")]
    CredentialsUnavailable(String),
    #[error("invalid controller URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("Kubernetes API error: {0}")]
    Kubernetes(#[from] kube::Error),
}

impl From<SecretError> for AccessError {
    fn from(e: SecretError) -> Self {
        // A failed Secret read means the credentials are not available (yet).
        AccessError::CredentialsUnavailable(e.to_string())
    }
}

/// The controller URL of a deployed cluster: its client Service inside the cluster,
/// over HTTPS when the cluster has `spec.tls`.
pub fn deployed_controller_url(cluster: &str, namespace: &str, tls: bool) -> String {
    match tls {
        false => format!("http://{cluster}-controller.{namespace}.svc:{CONTROLLER_PORT}"),
        true => format!("https://{cluster}-controller.{namespace}.svc:{CONTROLLER_HTTPS_PORT}"),
    }
}

/// One broker pod's REST API by its stable DNS name: the plain port, or HTTPS when
/// the cluster has `spec.tls` (the certificate must then cover the pod names).
pub fn broker_pod_url(pod_fqdn: &str, http_port: i32, tls: bool) -> String {
    match tls {
        false => format!("http://{pod_fqdn}:{http_port}"),
        true => format!("https://{pod_fqdn}:{BROKER_HTTPS_PORT}"),
    }
}

/// How to call one broker pod of a deployed cluster: as [`deployed_config`], at
/// `url`.
pub fn broker_config(
    cluster: &PinotCluster,
    secrets: &SecretValues,
    url: &str,
) -> Result<ClientConfig, AccessError> {
    let mut config = deployed_config(cluster, secrets)?;
    config.base_url = parse_url(url)?;
    Ok(config)
}

/// The Secret key of the admin's password.
pub fn admin_secret_ref(auth: &AuthSpec) -> Option<SecretKeyRef> {
    auth.users
        .iter()
        .find(|u| u.name == auth.admin_user)
        .map(|u| u.password_secret_ref.clone())
}

/// The admin's credentials, which the operator uses for its own Pinot calls.
pub fn admin_credentials(auth: &AuthSpec, secrets: &SecretValues) -> Option<Auth> {
    let admin = auth.users.iter().find(|u| u.name == auth.admin_user)?;
    Some(Auth::Basic {
        username: admin.name.clone(),
        password: secrets.get(&admin.password_secret_ref)?.clone(),
    })
}

/// The CA certificate (PEM) the operator's Pinot client trusts.
pub fn ca_ref(tls: &TlsSpec) -> SecretKeyRef {
    SecretKeyRef {
        name: tls.secret_name.clone(),
        key: "ca.crt".into(),
    }
}

/// How to call a deployed cluster's Pinot, from the values of its Secret keys (the
/// admin password, the CA); `secrets` may hold more keys than these.
pub fn deployed_config(
    cluster: &PinotCluster,
    secrets: &SecretValues,
) -> Result<ClientConfig, AccessError> {
    let namespace = cluster.namespace().unwrap_or_default();
    let spec = &cluster.spec;
    let url = deployed_controller_url(&cluster.name_any(), &namespace, spec.tls.is_some());
    let mut config = ClientConfig::new(parse_url(&url)?);
    config.auth = spec
        .auth
        .as_ref()
        .and_then(|auth| admin_credentials(auth, secrets));
    config.tls.ca_pem = spec
        .tls
        .as_ref()
        .and_then(|tls| secrets.get(&ca_ref(tls)))
        .map(|pem| pem.clone().into_bytes());
    Ok(config)
}

/// How to call the Pinot of `cluster`, reading the Secrets it names.
pub async fn resolve(kube: &Client, cluster: &PinotCluster) -> Result<ClientConfig, AccessError> {
    let namespace = cluster.namespace().unwrap_or_default();
    match &cluster.spec.external {
        Some(external) => external_config(kube, &namespace, external).await,
        None => {
            let spec = &cluster.spec;
            let admin = spec.auth.as_ref().and_then(admin_secret_ref);
            let refs: Vec<_> = admin
                .into_iter()
                .chain(spec.tls.as_ref().map(ca_ref))
                .collect();
            let values = secrets::read(kube, &namespace, &refs).await?;
            deployed_config(cluster, &values)
        }
    }
}

async fn external_config(
    kube: &Client,
    namespace: &str,
    external: &ExternalCluster,
) -> Result<ClientConfig, AccessError> {
    let mut config = ClientConfig::new(parse_url(&external.controller_url)?);
    config.tls.insecure_skip_verify = external.insecure_skip_tls_verify;
    if let Some(ca) = &external.ca_secret_ref {
        let values = secrets::read(kube, namespace, std::slice::from_ref(ca)).await?;
        config.tls.ca_pem = values.get(ca).map(|pem| pem.clone().into_bytes());
    }
    if let Some(secret_ref) = &external.auth_secret_ref {
        let secrets: Api<Secret> = Api::namespaced(kube.clone(), namespace);
        let secret = secrets.get_opt(&secret_ref.name).await?.ok_or_else(|| {
            AccessError::CredentialsUnavailable(format!("Secret {} not found", secret_ref.name))
        })?;
        config.auth = Some(auth_from_secret(&secret_ref.name, &secret)?);
    }
    Ok(config)
}

fn parse_url(url: &str) -> Result<url::Url, AccessError> {
    url.parse()
        .map_err(|e: url::ParseError| AccessError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })
}

/// Reads `token` (bearer) or `username` + `password` (basic) from a Secret. Never
/// puts a value into an error message.
pub fn auth_from_secret(name: &str, secret: &Secret) -> Result<Auth, AccessError> {
    let data = secret.data.clone().unwrap_or_default();
    let value = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8(v.0.clone()))
            .transpose()
            .map_err(|_| {
                AccessError::CredentialsUnavailable(format!("Secret {name} key {key} is not UTF-8"))
            })
    };
    if let Some(token) = value("token")? {
        return Ok(Auth::Bearer(token));
    }
    match (value("username")?, value("password")?) {
        (Some(username), Some(password)) => Ok(Auth::Basic { username, password }),
        _ => Err(AccessError::CredentialsUnavailable(format!(
            "Secret {name} needs keys username and password, or token"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::auth::AuthUser;
    use k8s_openapi::ByteString;

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn basic_auth_from_username_and_password() {
        let auth = auth_from_secret(
            "s",
            &secret(&[("username", "admin"), ("password", "hunter2")]),
        )
        .unwrap();
        assert_eq!(
            auth,
            Auth::Basic {
                username: "admin".into(),
                password: "hunter2".into()
            }
        );
    }

    #[test]
    fn bearer_token_wins() {
        let auth = auth_from_secret("s", &secret(&[("token", "t0k"), ("username", "u")])).unwrap();
        assert_eq!(auth, Auth::Bearer("t0k".into()));
    }

    #[test]
    fn incomplete_secret_is_reported_without_values() {
        let err = auth_from_secret("creds", &secret(&[("username", "admin")])).unwrap_err();
        assert!(matches!(err, AccessError::CredentialsUnavailable(_)));
        assert!(!err.to_string().contains("admin"));
    }

    #[test]
    fn deployed_clusters_use_the_controller_service() {
        assert_eq!(
            deployed_controller_url("analytics", "data", false),
            "http://analytics-controller.data.svc:9000"
        );
        assert_eq!(
            deployed_controller_url("analytics", "data", true),
            "https://analytics-controller.data.svc:9443"
        );
    }

    #[test]
    fn the_operator_uses_the_admin() {
        let key = |name: &str| SecretKeyRef {
            name: name.into(),
            key: "password".into(),
        };
        let user = |name: &str| AuthUser {
            name: name.into(),
            password_secret_ref: key(&format!("{name}-pw")),
            permissions: None,
            tables: None,
        };
        let auth = AuthSpec {
            admin_user: "admin".into(),
            users: vec![user("reader"), user("admin")],
        };
        let secrets = SecretValues::from([
            (key("admin-pw"), "s3cret".into()),
            (key("reader-pw"), "r3ad".into()),
        ]);
        assert_eq!(admin_secret_ref(&auth), Some(key("admin-pw")));
        assert_eq!(
            admin_credentials(&auth, &secrets),
            Some(Auth::Basic {
                username: "admin".into(),
                password: "s3cret".into()
            })
        );
    }
}

//! Dereference: from a content resource's `clusterRef` to a Pinot client. The
//! referenced `PinotCluster` is either external (URL + credentials Secret) or
//! deployed by this operator (its controller Service).

use std::sync::Arc;

use api::PinotCluster;
use api::cluster::ExternalCluster;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};
use pinot_client::{Auth, CallObserver, ClientConfig, PinotClient};

use super::clients::PinotClients;
use super::error::SyncError;
use crate::cluster::additions::SecretValues;
use crate::cluster::auth::{admin_credentials, admin_secret_ref};
use crate::cluster::secrets;
use crate::cluster::tls::{CONTROLLER_HTTPS_PORT, ca_ref};
use api::auth::SecretKeyRef;

/// Port of the Pinot controller's REST API in clusters this operator deploys.
pub const CONTROLLER_PORT: u16 = 9000;

/// The controller URL of a deployed cluster: its client Service inside the cluster,
/// over HTTPS when the cluster has `spec.tls`.
pub fn deployed_controller_url(cluster: &str, namespace: &str, tls: bool) -> String {
    match tls {
        false => format!("http://{cluster}-controller.{namespace}.svc:{CONTROLLER_PORT}"),
        true => format!("https://{cluster}-controller.{namespace}.svc:{CONTROLLER_HTTPS_PORT}"),
    }
}

/// A client for the Pinot of cluster `name` in `namespace`: the cached one while the
/// cluster's address, credentials and TLS settings are unchanged.
pub async fn connect(
    kube: &Client,
    clients: &PinotClients,
    namespace: &str,
    name: &str,
    observer: Arc<dyn CallObserver>,
) -> Result<PinotClient, SyncError> {
    let clusters: Api<PinotCluster> = Api::namespaced(kube.clone(), namespace);
    let cluster = clusters
        .get_opt(name)
        .await?
        .ok_or_else(|| SyncError::ClusterNotFound(name.to_owned()))?;
    let mut config = match &cluster.spec.external {
        Some(external) => external_config(kube, namespace, external).await?,
        None => deployed_config(kube, namespace, &cluster).await?,
    };
    config.observer = Some(observer);
    clients
        .get(namespace, name, config)
        .map_err(|e| SyncError::ClusterNotReady(e.to_string()))
}

async fn external_config(
    kube: &Client,
    namespace: &str,
    external: &ExternalCluster,
) -> Result<ClientConfig, SyncError> {
    let mut config = ClientConfig::new(parse_url(&external.controller_url)?);
    config.tls.insecure_skip_verify = external.insecure_skip_tls_verify;
    if let Some(ca) = &external.ca_secret_ref {
        let values = read_secrets(kube, namespace, std::slice::from_ref(ca)).await?;
        config.tls.ca_pem = values.get(ca).map(|pem| pem.clone().into_bytes());
    }
    if let Some(secret_ref) = &external.auth_secret_ref {
        let secrets: Api<Secret> = Api::namespaced(kube.clone(), namespace);
        let secret = secrets.get_opt(&secret_ref.name).await?.ok_or_else(|| {
            SyncError::CredentialsUnavailable(format!("Secret {} not found", secret_ref.name))
        })?;
        config.auth = Some(auth_from_secret(&secret_ref.name, &secret)?);
    }
    Ok(config)
}

/// A deployed cluster: its controller Service, as the admin user when auth is on.
async fn deployed_config(
    kube: &Client,
    namespace: &str,
    cluster: &PinotCluster,
) -> Result<ClientConfig, SyncError> {
    let name = cluster.name_any();
    let spec = &cluster.spec;
    let url = deployed_controller_url(&name, namespace, spec.tls.is_some());
    let mut config = ClientConfig::new(parse_url(&url)?);
    let admin = spec.auth.as_ref().and_then(admin_secret_ref);
    let ca = spec.tls.as_ref().map(ca_ref);
    let refs: Vec<_> = admin.iter().chain(ca.iter()).cloned().collect();
    let values = read_secrets(kube, namespace, &refs).await?;
    config.auth = spec
        .auth
        .as_ref()
        .and_then(|auth| admin_credentials(auth, &values));
    config.tls.ca_pem = ca
        .and_then(|r| values.get(&r))
        .map(|pem| pem.clone().into_bytes());
    Ok(config)
}

async fn read_secrets(
    kube: &Client,
    namespace: &str,
    refs: &[SecretKeyRef],
) -> Result<SecretValues, SyncError> {
    secrets::read(kube, namespace, refs)
        .await
        .map_err(|e| SyncError::CredentialsUnavailable(e.to_string()))
}

fn parse_url(url: &str) -> Result<url::Url, SyncError> {
    url.parse()
        .map_err(|e| SyncError::ClusterNotReady(format!("invalid controller URL {url:?}: {e}")))
}

/// Reads `token` (bearer) or `username` + `password` (basic) from a Secret. Never
/// puts a value into an error message.
pub fn auth_from_secret(name: &str, secret: &Secret) -> Result<Auth, SyncError> {
    let data = secret.data.clone().unwrap_or_default();
    let value = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8(v.0.clone()))
            .transpose()
            .map_err(|_| {
                SyncError::CredentialsUnavailable(format!("Secret {name} key {key} is not UTF-8"))
            })
    };
    if let Some(token) = value("token")? {
        return Ok(Auth::Bearer(token));
    }
    match (value("username")?, value("password")?) {
        (Some(username), Some(password)) => Ok(Auth::Basic { username, password }),
        _ => Err(SyncError::CredentialsUnavailable(format!(
            "Secret {name} needs keys username and password, or token"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(err.reason(), "CredentialsUnavailable");
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
}

//! Reads the Secret keys a cluster spec references, so the pure builder can render
//! them. Values never reach errors, logs or status.

use std::collections::BTreeMap;

use api::auth::SecretKeyRef;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use super::additions::SecretValues;
use super::error::ClusterError;

/// Every referenced key's value; one read per Secret.
pub async fn read(
    client: &Client,
    namespace: &str,
    refs: &[SecretKeyRef],
) -> Result<SecretValues, ClusterError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut secrets: BTreeMap<&str, Option<Secret>> = BTreeMap::new();
    let mut values = SecretValues::new();
    for r in refs {
        if !secrets.contains_key(r.name.as_str()) {
            secrets.insert(&r.name, api.get_opt(&r.name).await?);
        }
        let secret = secrets[r.name.as_str()].as_ref().ok_or_else(|| {
            ClusterError::CredentialsUnavailable(format!("Secret {} not found", r.name))
        })?;
        values.insert(r.clone(), value(secret, r)?);
    }
    Ok(values)
}

fn value(secret: &Secret, r: &SecretKeyRef) -> Result<String, ClusterError> {
    let missing =
        || ClusterError::CredentialsUnavailable(format!("Secret {} has no key {}", r.name, r.key));
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(missing)?;
    String::from_utf8(bytes).map_err(|_| {
        ClusterError::CredentialsUnavailable(format!(
            "Secret {} key {} is not UTF-8 text",
            r.name, r.key
        ))
    })
}

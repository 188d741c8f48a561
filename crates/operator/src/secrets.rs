//! Reads Secret keys by name (the operator never lists or watches Secrets): for the
//! cluster builder to render them, and for the credentials the operator calls Pinot
//! with. Values never reach errors, logs or status.

use std::collections::BTreeMap;

use api::auth::SecretKeyRef;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

/// Resolved values of Secret keys.
pub type SecretValues = BTreeMap<SecretKeyRef, String>;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// A Secret or key is missing, or not text.
    #[error("{0}")]
    Unavailable(String),
    #[error("Kubernetes API error: {0}")]
    Kubernetes(#[from] kube::Error),
}

/// Every referenced key's value; one read per Secret.
pub async fn read(
    client: &Client,
    namespace: &str,
    refs: &[SecretKeyRef],
) -> Result<SecretValues, SecretError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut secrets: BTreeMap<&str, Option<Secret>> = BTreeMap::new();
    let mut values = SecretValues::new();
    for r in refs {
        if !secrets.contains_key(r.name.as_str()) {
            secrets.insert(&r.name, api.get_opt(&r.name).await?);
        }
        let secret = secrets[r.name.as_str()]
            .as_ref()
            .ok_or_else(|| SecretError::Unavailable(format!("Secret {} not found", r.name)))?;
        values.insert(r.clone(), value(secret, r)?);
    }
    Ok(values)
}

fn value(secret: &Secret, r: &SecretKeyRef) -> Result<String, SecretError> {
    let missing = || SecretError::Unavailable(format!("Secret {} has no key {}", r.name, r.key));
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
        SecretError::Unavailable(format!("Secret {} key {} is not UTF-8 text", r.name, r.key))
    })
}

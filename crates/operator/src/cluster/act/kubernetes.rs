//! The only writes to workloads: server-side apply of a pool's objects, and deleting
//! outdated pods. Everything is applied with the operator's field manager and
//! `force`, so the operator owns the fields it sets and nothing else.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::desired::{DesiredCluster, DesiredPool, credentials_secret_name};
use crate::cluster::error::ClusterError;
use crate::cluster::plan::rollout::PodRef;

/// Applies a pool's objects; the StatefulSet last, so the ConfigMap and Services it
/// uses exist before its pods do.
pub async fn apply_pool(
    client: &Client,
    namespace: &str,
    pool: &DesiredPool,
) -> Result<(), ClusterError> {
    apply(client, namespace, &pool.config_map).await?;
    for service in &pool.services {
        apply(client, namespace, service).await?;
    }
    apply(client, namespace, &pool.pdb).await?;
    apply(client, namespace, &pool.statefulset).await
}

/// Applies what pools share (credentials Secret, ServiceAccount) before any pool
/// mounts it. A credentials Secret the spec no longer needs is deleted: it holds
/// passwords.
pub async fn apply_shared(
    client: &Client,
    namespace: &str,
    desired: &DesiredCluster,
) -> Result<(), ClusterError> {
    match &desired.credentials {
        Some(secret) => apply(client, namespace, secret).await?,
        None => {
            let name = credentials_secret_name(&desired.cluster);
            let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(account) = &desired.service_account {
        apply(client, namespace, account).await?;
    }
    Ok(())
}

async fn apply<K>(client: &Client, namespace: &str, object: &K) -> Result<(), ClusterError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Serialize
        + DeserializeOwned
        + Clone
        + Debug,
{
    let name = object.name_any();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(crate::FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .map(|_| ())
        .map_err(|source| ClusterError::ApplyFailed {
            object: format!("{} {name}", K::kind(&())),
            source,
        })
}

/// Deletes pods, each only if it is still the pod that was observed (same uid): a
/// pod the StatefulSet already recreated is never hit twice. Returns how many it
/// deleted.
pub async fn delete_pods(
    client: &Client,
    namespace: &str,
    pods: &[PodRef],
) -> Result<u64, ClusterError> {
    let mut deleted = 0;
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for pod in pods {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(pod.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&pod.name, &params).await {
            Ok(_) => deleted += 1,
            // Gone already, or replaced (uid precondition failed): nothing to do.
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}

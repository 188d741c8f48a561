//! The only writes to workloads: server-side apply of a pool's objects, and deleting
//! outdated pods. Everything is applied with the operator's field manager and
//! `force`, so the operator owns the fields it sets and nothing else.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cluster::desired::{DesiredCluster, DesiredPool, credentials_secret_name};
use crate::cluster::error::ClusterError;
use crate::cluster::names::ROUTABLE_CONDITION;
use crate::cluster::plan::marks::PodMarks;
use crate::cluster::plan::rollout::PodRef;
use crate::cluster::plan::storage::Grow;

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
    if let Some(pdb) = &pool.pdb {
        apply(client, namespace, pdb).await?;
    }
    apply(client, namespace, &pool.statefulset).await
}

/// Deletes the per-pool PodDisruptionBudget earlier versions gave a server pool: the
/// cluster-wide server budget replaces it, and the eviction API refuses a pod that
/// two budgets select.
pub async fn delete_pool_pdb(
    client: &Client,
    namespace: &str,
    pool: &DesiredPool,
) -> Result<(), ClusterError> {
    let params = DeleteParams::default();
    delete_if_present::<PodDisruptionBudget>(client, namespace, pool.workload(), &params).await
}

/// Deletes an object; one already gone is no error.
async fn delete_if_present<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    params: &DeleteParams,
) -> Result<(), ClusterError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Grows claims in place. A merge patch, not server-side apply: an apply to a claim
/// that does not exist yet (an ordinal not started) would try to create it, where a
/// patch answers 404 and the claim is skipped (the new template creates it at size).
pub async fn expand_claims(
    client: &Client,
    namespace: &str,
    claims: &[Grow],
) -> Result<(), ClusterError> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    for grow in claims {
        let patch =
            serde_json::json!({"spec": {"resources": {"requests": {"storage": grow.size}}}});
        let params = PatchParams::default();
        match api.patch(&grow.claim, &params, &Patch::Merge(&patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(source) => {
                let object = format!("PersistentVolumeClaim {}", grow.claim);
                return Err(ClusterError::ApplyFailed { object, source });
            }
        }
    }
    Ok(())
}

/// Deletes a pool's StatefulSet but not its pods or claims (orphan propagation), so
/// that it can be created again with other claim templates.
pub async fn orphan_statefulset(
    client: &Client,
    namespace: &str,
    pool: &DesiredPool,
) -> Result<(), ClusterError> {
    let params = DeleteParams::orphan();
    delete_if_present::<StatefulSet>(client, namespace, pool.workload(), &params).await
}

/// Applies what pools share (credentials Secret, ServiceAccount, the servers'
/// PodDisruptionBudget) before any pool
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
            let params = DeleteParams::default();
            delete_if_present::<Secret>(client, namespace, &name, &params).await?;
        }
    }
    if let Some(account) = &desired.service_account {
        apply(client, namespace, account).await?;
    }
    if let Some(pdb) = &desired.server_pdb {
        apply(client, namespace, pdb).await?;
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

/// Sets the readiness gate condition on server pods (a strategic merge of the
/// status's conditions, keyed by type, so the kubelet's own stay as they are).
pub async fn mark_routable(
    client: &Client,
    namespace: &str,
    pods: &[String],
) -> Result<(), ClusterError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let patch = serde_json::json!({"status": {"conditions": [{
        "type": ROUTABLE_CONDITION,
        "status": "True",
        "reason": "RoutedByEveryBroker",
        "message": "every broker routes queries to this server",
        "lastTransitionTime": now,
    }]}});
    for pod in pods {
        match api
            .patch_status(pod, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Sets the operator's annotations on pods (server-side apply of those alone).
pub async fn mark_pods(
    client: &Client,
    namespace: &str,
    marks: &[PodMarks],
) -> Result<(), ClusterError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for mark in marks {
        let pod = &mark.pod;
        let patch = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "annotations": mark.annotations}});
        let params = PatchParams::apply(crate::FIELD_MANAGER).force();
        match api.patch(pod, &params, &Patch::Apply(&patch)).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
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

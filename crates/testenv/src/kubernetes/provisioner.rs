//! The environment's storage: a minimal external provisioner, like kind's local-path one.
//!
//! There is no kubelet and no CSI driver, so something must turn claims into volumes
//! for StatefulSets with volumeClaimTemplates to come up. For every Pending claim whose
//! StorageClass names [`PROVISIONER`], this creates a hostPath PersistentVolume of the
//! requested size, pre-bound to the claim through `claimRef`; kube-controller-manager's
//! PV binder then completes the binding exactly as for any provisioned volume. Volumes
//! whose claim is gone (phase Released) are deleted, honouring the Delete reclaim policy.
//!
//! It is the resizer too, as a CSI driver's external resizer would be: a bound claim
//! of ours asking for more than its `status.capacity` gets its volume's capacity and
//! its own `status.capacity` raised (a hostPath volume has no size to grow, so that is
//! all there is to do). The operator's side of an expansion is what tests look at.
//! A class with parameter [`RESIZE_PARAMETER`]`: offline` stands for a driver that
//! grows a file system only while it is not mounted: the claim gets condition
//! `FileSystemResizePending` instead of its new capacity, and the capacity (the
//! condition gone) once a pod created after that mounts it, as kubelet would do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeSpec, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::oneshot;

/// The `provisioner` of the environment's storage classes.
pub const PROVISIONER: &str = "testenv.pinot.operator.dev/hostpath";
/// StorageClass parameter: `offline` makes a grown claim wait for a new pod.
pub const RESIZE_PARAMETER: &str = "testenv.pinot.operator.dev/resize";
/// The claim condition of a file system that grows on its next mount.
const RESIZE_PENDING: &str = "FileSystemResizePending";
/// Label on every volume this provisioner created, so it only ever deletes its own.
const PROVISIONED_LABEL: &str = "testenv.pinot.operator.dev/provisioned";
/// Set on dynamically provisioned volumes; tells the PV controller that an external
/// provisioner, not an in-tree plugin, deletes the volume when it is released.
const PROVISIONED_BY_ANNOTATION: &str = "pv.kubernetes.io/provisioned-by";
/// How long a claim's provisioning is retried. The watch delivers a claim once; if the
/// apiserver is down then (a restart made it unavailable for 21 s here), the claim
/// must still get its volume once the apiserver is back, or its pod stays Pending.
const RETRY_FOR: Duration = Duration::from_secs(180);

/// The provisioner's thread; stops (and is joined) on drop.
pub struct Provisioner {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Provisioner {
    /// Starts watching with a client built from `kubeconfig`, on a thread with its own
    /// runtime so it outlives whichever test runtime happened to start the environment.
    pub fn start(kubeconfig: PathBuf, volumes: PathBuf) -> anyhow::Result<Provisioner> {
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<anyhow::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("testenv-provisioner".into())
            .spawn(move || run_thread(&kubeconfig, volumes, stop_rx, ready_tx))?;
        ready_rx
            .recv()
            .context("the provisioner thread ended before it started")??;
        Ok(Provisioner {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Provisioner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_thread(
    kubeconfig: &Path,
    volumes: PathBuf,
    stop: oneshot::Receiver<()>,
    ready: mpsc::Sender<anyhow::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    runtime.block_on(async move {
        let client = match super::client_from(kubeconfig).await {
            Ok(client) => client,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        tokio::select! {
            () = provision_claims(client.clone(), volumes) => {}
            () = finish_offline_resizes(client.clone()) => {}
            () = delete_released_volumes(client) => {}
            _ = stop => {}
        }
    });
}

/// Watches every claim and provisions the Pending ones of our storage classes.
async fn provision_claims(client: Client, volumes: PathBuf) {
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let mut events = watcher(claims, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(claim) => provision_with_retries(&client, &volumes, &claim).await,
            Err(e) => tracing::warn!("testenv provisioner: watching claims: {e}"),
        }
    }
}

async fn provision_with_retries(client: &Client, volumes: &Path, claim: &PersistentVolumeClaim) {
    let deadline = tokio::time::Instant::now() + RETRY_FOR;
    let mut pause = Duration::from_millis(200);
    loop {
        let done = match provision(client, volumes, claim).await {
            Ok(()) => resize(client, claim).await,
            failed => failed,
        };
        match done {
            Ok(()) => return,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                tracing::error!(
                    "testenv provisioner: claim {}/{}: {e:#}",
                    claim.namespace().unwrap_or_default(),
                    claim.name_any()
                );
                return;
            }
            Err(_) => tokio::time::sleep(pause).await,
        }
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Creates the volume for `claim` if it needs one from us. Idempotent: the volume is
/// named after the claim's uid, so a repeated event finds it already there.
async fn provision(
    client: &Client,
    volumes: &Path,
    claim: &PersistentVolumeClaim,
) -> anyhow::Result<()> {
    if !needs_volume(claim) {
        return Ok(());
    }
    let Some(class) = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone())
    else {
        return Ok(());
    };
    let provisioner = Api::<StorageClass>::all(client.clone())
        .get_opt(&class)
        .await?
        .map(|c| c.provisioner);
    if provisioner.as_deref() != Some(PROVISIONER) {
        return Ok(());
    }
    let Some(volume) = volume_for(claim, volumes) else {
        return Ok(());
    };
    if let Some(path) = volume.spec.as_ref().and_then(|s| s.host_path.as_ref()) {
        std::fs::create_dir_all(&path.path)?;
        // Kubernetes never applies fsGroup to hostPath volumes, so on the real node a pod
        // running as a non-root user (Pinot, ZooKeeper: 1000) could not write to a
        // root-owned directory. World-writable, as local-path provisioners make them.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path.path, std::fs::Permissions::from_mode(0o777))?;
    }
    match Api::<PersistentVolume>::all(client.clone())
        .create(&PostParams::default(), &volume)
        .await
    {
        Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(()),
        other => other.map(drop).context("create PersistentVolume"),
    }
}

/// Grows the volume of a bound claim of ours that asks for more than it has.
async fn resize(client: &Client, claim: &PersistentVolumeClaim) -> anyhow::Result<()> {
    let Some((volume, wanted)) = grown(claim) else {
        return Ok(());
    };
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let ours = volumes
        .get_opt(&volume)
        .await?
        .is_some_and(|v| v.labels().get(PROVISIONED_LABEL).map(String::as_str) == Some("true"));
    if !ours {
        return Ok(());
    }
    let capacity = serde_json::json!({"storage": wanted});
    let params = PatchParams::default();
    let patch = Patch::Merge(serde_json::json!({"spec": {"capacity": capacity}}));
    volumes
        .patch(&volume, &params, &patch)
        .await
        .context("grow PersistentVolume")?;
    let status = match grows_offline(client, claim).await? {
        // Set once: its time says since when the claim waits for a new pod.
        true if pending_since(claim).is_some() => return Ok(()),
        true => serde_json::json!({"conditions": [{"type": RESIZE_PENDING, "status": "True",
            "lastTransitionTime": Time(k8s_openapi::jiff::Timestamp::now())}]}),
        false => serde_json::json!({"capacity": capacity}),
    };
    patch_claim_status(client, claim, status).await
}

async fn patch_claim_status(
    client: &Client,
    claim: &PersistentVolumeClaim,
    status: serde_json::Value,
) -> anyhow::Result<()> {
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &claim.namespace().unwrap_or_default());
    let patch = Patch::Merge(serde_json::json!({ "status": status }));
    (claims
        .patch_status(&claim.name_any(), &PatchParams::default(), &patch)
        .await)
        .context("record the claim's resize")?;
    Ok(())
}

/// Whether `claim`'s class grows file systems only offline.
async fn grows_offline(client: &Client, claim: &PersistentVolumeClaim) -> anyhow::Result<bool> {
    let class = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.clone());
    let Some(class) = class else { return Ok(false) };
    let class = Api::<StorageClass>::all(client.clone())
        .get_opt(&class)
        .await?;
    let parameters = class.and_then(|c| c.parameters).unwrap_or_default();
    Ok(parameters.get(RESIZE_PARAMETER).map(String::as_str) == Some("offline"))
}

/// When `claim` began waiting for a new pod to finish growing, if it is.
fn pending_since(claim: &PersistentVolumeClaim) -> Option<k8s_openapi::jiff::Timestamp> {
    let conditions = (claim.status.iter()).flat_map(|s| s.conditions.iter().flatten());
    conditions
        .filter(|c| c.type_ == RESIZE_PENDING && c.status == "True")
        .find_map(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// Kubelet's part of an offline resize: a pod created after a claim of its started
/// waiting mounts it, and the file system has grown: the claim gets its new capacity
/// and loses the condition.
async fn finish_offline_resizes(client: Client) {
    let pods: Api<Pod> = Api::all(client.clone());
    let mut events = watcher(pods, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = events.next().await {
        let Ok(pod) = event else { continue };
        if let Err(e) = finish_resizes_of(&client, &pod).await {
            tracing::warn!("testenv provisioner: pod {}: {e:#}", pod.name_any());
        }
    }
}

async fn finish_resizes_of(client: &Client, pod: &Pod) -> anyhow::Result<()> {
    let (Some(created), Some(namespace)) =
        (pod.metadata.creation_timestamp.as_ref(), pod.namespace())
    else {
        return Ok(());
    };
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &namespace);
    let volumes = (pod.spec.iter()).flat_map(|s| s.volumes.iter().flatten());
    for name in volumes.filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
    {
        let Some(claim) = claims.get_opt(&name).await? else {
            continue;
        };
        let Some(since) = pending_since(&claim) else {
            continue;
        };
        let wanted = (claim.spec.as_ref()).and_then(|s| {
            s.resources
                .as_ref()?
                .requests
                .as_ref()?
                .get("storage")
                .cloned()
        });
        if created.0 > since
            && let Some(wanted) = wanted
        {
            let status = serde_json::json!({"capacity": {"storage": wanted}, "conditions": null});
            patch_claim_status(client, &claim, status).await?;
        }
    }
    Ok(())
}

/// The volume of a bound claim and the size it asks for, when that differs from its
/// capacity.
fn grown(claim: &PersistentVolumeClaim) -> Option<(String, Quantity)> {
    let spec = claim.spec.as_ref()?;
    let wanted = spec.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    let status = claim.status.as_ref()?;
    let has = status.capacity.as_ref()?.get("storage")?;
    (status.phase.as_deref() == Some("Bound") && has != wanted)
        .then(|| Some((spec.volume_name.clone()?, wanted.clone())))
        .flatten()
}

/// Pending, not pre-bound to a volume, and not being deleted.
fn needs_volume(claim: &PersistentVolumeClaim) -> bool {
    let pending = claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_none_or(|phase| phase == "Pending");
    let prebound = claim.spec.as_ref().is_some_and(|s| s.volume_name.is_some());
    pending && !prebound && claim.metadata.deletion_timestamp.is_none()
}

/// The hostPath volume for `claim`: its requested size, class, access and volume modes,
/// and a `claimRef` with the claim's uid so only this very claim can bind it.
pub fn volume_for(claim: &PersistentVolumeClaim, volumes: &Path) -> Option<PersistentVolume> {
    let uid = claim.metadata.uid.clone()?;
    let spec = claim.spec.as_ref()?;
    let size = spec.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    let name = format!("pvc-{uid}");
    let path = volumes.join(&name).display().to_string();
    Some(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(BTreeMap::from([(
                PROVISIONED_LABEL.to_owned(),
                "true".to_owned(),
            )])),
            annotations: Some(BTreeMap::from([(
                PROVISIONED_BY_ANNOTATION.to_owned(),
                PROVISIONER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            capacity: Some(BTreeMap::from([("storage".to_owned(), size.clone())])),
            access_modes: Some(
                spec.access_modes
                    .clone()
                    .unwrap_or_else(|| vec!["ReadWriteOnce".to_owned()]),
            ),
            volume_mode: spec.volume_mode.clone(),
            storage_class_name: spec.storage_class_name.clone(),
            persistent_volume_reclaim_policy: Some("Delete".to_owned()),
            host_path: Some(HostPathVolumeSource {
                path,
                type_: Some("DirectoryOrCreate".to_owned()),
            }),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                name: claim.metadata.name.clone(),
                namespace: claim.metadata.namespace.clone(),
                uid: Some(uid),
                ..ObjectReference::default()
            }),
            ..PersistentVolumeSpec::default()
        }),
        ..PersistentVolume::default()
    })
}

/// Deletes our volumes once released: their claim was deleted and the policy is Delete.
async fn delete_released_volumes(client: Client) {
    let api: Api<PersistentVolume> = Api::all(client);
    let config = watcher::Config::default().labels(&format!("{PROVISIONED_LABEL}=true"));
    let mut events = watcher(api.clone(), config)
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = events.next().await {
        let volume = match event {
            Ok(volume) => volume,
            Err(e) => {
                tracing::warn!("testenv provisioner: watching volumes: {e}");
                continue;
            }
        };
        let released = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
        if released && volume.metadata.deletion_timestamp.is_none() {
            delete_volume(&api, &volume).await;
        }
    }
}

async fn delete_volume(api: &Api<PersistentVolume>, volume: &PersistentVolume) {
    let name = volume.name_any();
    if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
        tracing::warn!("testenv provisioner: delete volume {name}: {e}");
        return;
    }
    if let Some(path) = volume.spec.as_ref().and_then(|s| s.host_path.as_ref()) {
        let _ = std::fs::remove_dir_all(&path.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(yaml: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn volume_mirrors_the_claim_and_is_prebound_to_its_uid() {
        let claim = claim(serde_json::json!({
            "metadata": { "name": "data-server-0", "namespace": "ns", "uid": "u-1" },
            "spec": {
                "storageClassName": "nvme",
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": "5Gi" } },
            },
        }));
        let volume = volume_for(&claim, Path::new("/v")).unwrap();
        let spec = volume.spec.unwrap();
        assert_eq!(volume.metadata.name.as_deref(), Some("pvc-u-1"));
        assert_eq!(spec.capacity.unwrap()["storage"].0, "5Gi");
        assert_eq!(spec.storage_class_name.as_deref(), Some("nvme"));
        assert_eq!(spec.host_path.unwrap().path, "/v/pvc-u-1");
        let claim_ref = spec.claim_ref.unwrap();
        assert_eq!(claim_ref.name.as_deref(), Some("data-server-0"));
        assert_eq!(claim_ref.namespace.as_deref(), Some("ns"));
        assert_eq!(claim_ref.uid.as_deref(), Some("u-1"));
    }

    #[test]
    fn a_bound_claim_asking_for_more_is_grown() {
        let bound = |wanted: &str| {
            claim(serde_json::json!({
                "spec": {"volumeName": "pvc-u-1", "resources": {"requests": {"storage": wanted}}},
                "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}},
            }))
        };
        let (volume, size) = grown(&bound("8Gi")).expect("grown");
        assert_eq!((volume.as_str(), size.0.as_str()), ("pvc-u-1", "8Gi"));
        assert_eq!(grown(&bound("5Gi")), None);
    }

    #[test]
    fn bound_or_prebound_claims_need_no_volume() {
        let bound = claim(serde_json::json!({ "status": { "phase": "Bound" } }));
        let prebound = claim(serde_json::json!({ "spec": { "volumeName": "pv-1" } }));
        let pending = claim(serde_json::json!({ "status": { "phase": "Pending" } }));
        assert!(!needs_volume(&bound));
        assert!(!needs_volume(&prebound));
        assert!(needs_volume(&pending));
    }
}

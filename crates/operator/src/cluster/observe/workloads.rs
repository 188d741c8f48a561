//! What is running: the cluster's StatefulSets and pods, reduced to the few facts the
//! planner decides on. Read from the watched stores, not the apiserver.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;

use crate::cluster::names::{
    APPLIED_HASH_ANNOTATION, CLUSTER_LABEL, FORCE_COMMIT_ANNOTATION, RESET_ANNOTATION,
    REVISION_LABEL, ROUTABLE_CONDITION, ordinal,
};
use crate::stores::Stores;

/// Everything observed, by StatefulSet (workload) name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub pools: BTreeMap<String, ObservedPool>,
}

impl Observed {
    pub fn pool(&self, workload: &str) -> Option<&ObservedPool> {
        self.pools.get(workload)
    }
}

/// One pool: its StatefulSet (if it exists) and its pods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedPool {
    pub set: Option<ObservedSet>,
    /// Sorted by ordinal.
    pub pods: Vec<ObservedPod>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedSet {
    /// Hash of the pool's objects when the operator last applied them.
    pub applied_hash: Option<String>,
    /// `spec.replicas`: what the StatefulSet currently maintains.
    pub replicas: i32,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// The revision every pod should run (`status.updateRevision`).
    pub update_revision: Option<String>,
    /// Its `volumeClaimTemplates`, by name.
    pub claims: BTreeMap<String, ObservedClaim>,
}

/// A claim template as the StatefulSet has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedClaim {
    pub size: Option<Quantity>,
    pub storage_class: Option<String>,
}

impl ObservedClaim {
    pub fn of(claim: &PersistentVolumeClaim) -> ObservedClaim {
        let spec = claim.spec.as_ref();
        let requests = spec
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref());
        ObservedClaim {
            size: requests.and_then(|r| r.get("storage")).cloned(),
            storage_class: spec.and_then(|s| s.storage_class_name.clone()),
        }
    }
}

impl ObservedSet {
    /// The StatefulSet controller has seen the latest spec, so `update_revision` is
    /// the revision of that spec.
    pub fn is_current(&self) -> bool {
        self.update_revision.is_some() && self.observed_generation >= self.generation
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedPod {
    pub name: String,
    pub uid: String,
    pub ordinal: i32,
    /// `controller-revision-hash`: the revision the pod was created from.
    pub revision: Option<String>,
    /// The pod's `Ready` condition (for servers, including the routable gate).
    pub ready: bool,
    /// Its containers are ready (`ContainersReady`): the Pinot process says it serves.
    pub serving: bool,
    /// Its [`ROUTABLE_CONDITION`] is True.
    pub routable: bool,
    /// The force-commit mark the operator left on the pod, as written.
    pub force_commit: Option<String>,
    /// The segments the operator reset on this pod, as written.
    pub segments_reset: Option<String>,
    /// A claim of the pod grows its file system only once the pod restarts.
    pub awaits_resize: bool,
    pub terminating: bool,
    /// Image of the first container.
    pub image: Option<String>,
}

impl ObservedPod {
    /// Created from `revision`, and with no claim waiting for it to restart: nothing
    /// to restart it for.
    pub fn is_current(&self, revision: Option<&str>) -> bool {
        revision.is_some() && self.revision.as_deref() == revision && !self.awaits_resize
    }

    /// The operator's own annotations on the pod, as written.
    pub fn marks(&self) -> BTreeMap<&'static str, String> {
        let marks = [
            (FORCE_COMMIT_ANNOTATION, &self.force_commit),
            (RESET_ANNOTATION, &self.segments_reset),
        ];
        (marks.into_iter())
            .filter_map(|(key, value)| Some((key, value.clone()?)))
            .collect()
    }
}

impl Observed {
    /// The pod named `name`, in whichever pool.
    pub fn pod(&self, name: &str) -> Option<&ObservedPod> {
        self.pools
            .values()
            .flat_map(|p| &p.pods)
            .find(|p| p.name == name)
    }
}

impl ObservedPool {
    /// Pods created from the StatefulSet's update revision, with nothing waiting for
    /// them to restart.
    pub fn updated(&self) -> impl Iterator<Item = &ObservedPod> {
        let revision = self.set.as_ref().and_then(|s| s.update_revision.as_deref());
        self.pods.iter().filter(move |p| p.is_current(revision))
    }

    pub fn ready_count(&self) -> i32 {
        self.pods
            .iter()
            .filter(|p| p.ready && !p.terminating)
            .count() as i32
    }
}

/// The StatefulSets and pods of cluster `name` in `namespace`, from the watched
/// stores (which the cluster controller's own watches keep current).
pub fn read(stores: &Stores, namespace: &str, name: &str) -> Observed {
    let ours = |meta: &ObjectMeta| {
        meta.namespace.as_deref() == Some(namespace)
            && meta
                .labels
                .as_ref()
                .and_then(|l| l.get(CLUSTER_LABEL))
                .map(String::as_str)
                == Some(name)
    };
    let sets = stores.statefulsets.state();
    let pods = stores.pods.state();
    let claims = stores.claims.state();
    let claims: BTreeMap<String, &PersistentVolumeClaim> = (claims.iter())
        .filter(|c| ours(&c.metadata))
        .map(|c| (c.name_any(), c.as_ref()))
        .collect();
    let pods: Vec<&Pod> = (pods.iter().map(AsRef::as_ref))
        .filter(|p| ours(&p.metadata))
        .collect();
    let mut observed = index(
        sets.iter().map(AsRef::as_ref).filter(|s| ours(&s.metadata)),
        pods.iter().copied(),
    );
    for pod in pods.iter().filter(|p| awaits_resize(p, &claims)) {
        let name = pod.name_any();
        let found = observed.pools.values_mut().flat_map(|p| &mut p.pods);
        found
            .filter(|p| p.name == name)
            .for_each(|p| p.awaits_resize = true);
    }
    observed
}

/// Whether a claim of `pod` waits for its file system to grow, which the volume's
/// driver does only when the volume is mounted again (`FileSystemResizePending`,
/// since after the pod started: once restarted, the pod is not restarted again for
/// the same wait).
pub fn awaits_resize(pod: &Pod, claims: &BTreeMap<String, &PersistentVolumeClaim>) -> bool {
    let started = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let volumes = (pod.spec.iter()).flat_map(|s| s.volumes.iter().flatten());
    let names =
        volumes.filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.as_str()));
    names.filter_map(|n| claims.get(n)).any(|claim| {
        let conditions = (claim.status.iter()).flat_map(|s| s.conditions.iter().flatten());
        conditions
            .filter(|c| c.type_ == "FileSystemResizePending" && c.status == "True")
            .any(|c| c.last_transition_time.as_ref().map(|t| t.0) >= started)
    })
}

/// Groups pods under the StatefulSet that controls them.
pub fn index<'a>(
    sets: impl IntoIterator<Item = &'a StatefulSet>,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Observed {
    let mut pools: BTreeMap<String, ObservedPool> = BTreeMap::new();
    for set in sets {
        pools.entry(set.name_any()).or_default().set = Some(observe_set(set));
    }
    for pod in pods {
        let owner = pod
            .owner_references()
            .iter()
            .find(|o| o.kind == "StatefulSet" && o.controller == Some(true))
            .map(|o| o.name.clone());
        if let Some(owner) = owner {
            pools.entry(owner).or_default().pods.push(observe_pod(pod));
        }
    }
    for pool in pools.values_mut() {
        pool.pods.sort_by_key(|p| p.ordinal);
    }
    Observed { pools }
}

fn observe_set(set: &StatefulSet) -> ObservedSet {
    let status = set.status.as_ref();
    ObservedSet {
        applied_hash: set.annotations().get(APPLIED_HASH_ANNOTATION).cloned(),
        replicas: set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        generation: set.metadata.generation,
        observed_generation: status.and_then(|s| s.observed_generation),
        update_revision: status.and_then(|s| s.update_revision.clone()),
        claims: (set.spec.as_ref())
            .and_then(|s| s.volume_claim_templates.as_ref())
            .into_iter()
            .flatten()
            .map(|c| (c.name_any(), ObservedClaim::of(c)))
            .collect(),
    }
}

fn observe_pod(pod: &Pod) -> ObservedPod {
    let status = pod.status.as_ref();
    let condition = |kind: &str| {
        status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == kind && c.status == "True"))
    };
    let name = pod.name_any();
    ObservedPod {
        ordinal: ordinal(&name).unwrap_or(-1),
        uid: pod.uid().unwrap_or_default(),
        revision: pod.labels().get(REVISION_LABEL).cloned(),
        ready: condition("Ready"),
        serving: condition("ContainersReady"),
        routable: condition(ROUTABLE_CONDITION),
        terminating: pod.metadata.deletion_timestamp.is_some(),
        force_commit: pod.annotations().get(FORCE_COMMIT_ANNOTATION).cloned(),
        segments_reset: pod.annotations().get(RESET_ANNOTATION).cloned(),
        awaits_resize: false,
        image: pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone()),
        name,
    }
}

#[cfg(test)]
/// A test fixture: every pool exists with all pods ready on `image`, revision r2.
pub fn running(desired: &crate::cluster::desired::DesiredCluster, image: &str) -> Observed {
    let pools = desired.pools.iter().map(|p| {
        let workload = p.workload().to_owned();
        let pods = (0..p.replicas)
            .map(|i| ObservedPod {
                name: format!("{workload}-{i}"),
                ordinal: i,
                revision: Some("r2".into()),
                ready: true,
                serving: true,
                routable: true,
                image: Some(image.into()),
                ..Default::default()
            })
            .collect();
        let set = ObservedSet {
            applied_hash: Some(p.hash.clone()),
            replicas: p.replicas,
            update_revision: Some("r2".into()),
            ..Default::default()
        };
        (
            workload,
            ObservedPool {
                set: Some(set),
                pods,
            },
        )
    });
    Observed {
        pools: pools.collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pods_are_grouped_under_their_statefulset_by_ordinal() {
        let set: StatefulSet = serde_json::from_value(json!({
            "metadata": {"name": "a-server-hot", "generation": 2,
                         "annotations": {APPLIED_HASH_ANNOTATION: "h1"}},
            "spec": {"replicas": 2, "selector": {}, "serviceName": "x",
                     "template": {}},
            "status": {"replicas": 2, "observedGeneration": 2, "updateRevision": "a-server-hot-r2"}
        }))
        .unwrap();
        let pod = |name: &str, revision: &str, ready: &str| -> Pod {
            serde_json::from_value(json!({
                "metadata": {"name": name, "uid": format!("uid-{name}"),
                    "labels": {REVISION_LABEL: revision},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                        "name": "a-server-hot", "uid": "s", "controller": true}]},
                "spec": {"containers": [{"name": "pinot", "image": "img:1"}]},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}
            }))
            .unwrap()
        };
        let observed = index(
            &[set],
            &[
                pod("a-server-hot-1", "a-server-hot-r1", "False"),
                pod("a-server-hot-0", "a-server-hot-r2", "True"),
            ],
        );
        let pool = observed.pool("a-server-hot").unwrap();
        let set = pool.set.as_ref().unwrap();
        assert_eq!(set.applied_hash.as_deref(), Some("h1"));
        assert!(set.is_current());
        assert_eq!(pool.pods[0].name, "a-server-hot-0");
        assert!(pool.pods[0].ready && !pool.pods[1].ready);
        assert_eq!(pool.updated().count(), 1);
        assert_eq!(pool.ready_count(), 1);
        assert_eq!(pool.pods[1].image.as_deref(), Some("img:1"));
    }

    #[test]
    fn a_claim_growing_only_on_remount_since_the_pod_started_awaits_a_restart() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "a-server-hot-0", "creationTimestamp": "2026-11-30T10:00:00Z"},
            "spec": {"containers": [], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-a-server-hot-0"}},
                {"name": "config", "configMap": {"name": "c"}}]}
        }))
        .unwrap();
        let claim = |status: &str, since: &str| -> PersistentVolumeClaim {
            serde_json::from_value(json!({
                "metadata": {"name": "data-a-server-hot-0"},
                "status": {"conditions": [{"type": "FileSystemResizePending", "status": status,
                                           "lastTransitionTime": since}]}
            }))
            .unwrap()
        };
        let awaits = |claim: &PersistentVolumeClaim| {
            awaits_resize(&pod, &BTreeMap::from([(claim.name_any(), claim)]))
        };
        assert!(awaits(&claim("True", "2026-11-30T11:00:00Z")));
        // Pending since before the pod started: this pod is the restart it waited for.
        assert!(!awaits(&claim("True", "2026-11-30T09:00:00Z")));
        assert!(!awaits(&claim("False", "2026-11-30T11:00:00Z")));
        assert!(!awaits_resize(&pod, &BTreeMap::new()));
    }
}

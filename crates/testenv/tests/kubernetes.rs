//! The Kubernetes test environment against its real processes: what the operator's
//! tests will rely on (nodes, scheduling, StatefulSets with storage, rolling updates).
//! These fail, never skip, when a binary is missing: run tools/build-kubernetes.sh.

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use testenv::kubernetes::{Kubernetes, READY_DELAY_ANNOTATION};

const TIMEOUT: Duration = Duration::from_secs(90);
const PAUSE: &str = "registry.k8s.io/pause:3.10";

#[test]
fn kubectl_lists_the_four_ready_kwok_nodes() {
    let k8s = Kubernetes::shared();
    let output = k8s
        .kubectl()
        .args(["get", "nodes", "-o", "json"])
        .output()
        .expect("run kubectl");
    assert!(
        output.status.success(),
        "kubectl get nodes failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut ready: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|node| {
            node["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .map(|node| node["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    ready.sort();
    assert_eq!(
        ready,
        ["kwok-node-0", "kwok-node-1", "kwok-node-2", "kwok-node-3"]
    );
}

#[tokio::test]
async fn statefulset_with_volume_claims_runs_on_kwok_nodes_with_bound_claims() {
    let k8s = Kubernetes::shared();
    let ns = k8s.create_namespace("sts-storage").await;
    let client = k8s.client().await;
    create_statefulset(&client, &ns, "server", 3, true).await;

    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    eventually(k8s, &ns, "3 ready replicas", || async {
        let status = sets.get("server").await.ok()?.status?;
        (status.ready_replicas == Some(3)).then_some(())
    })
    .await;

    let pods = ready_pods(&client, &ns, "app=server").await;
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        let node = pod.spec.as_ref().unwrap().node_name.as_deref().unwrap();
        assert!(node.starts_with("kwok-node-"), "{node}");
    }

    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    eventually(k8s, &ns, "3 bound claims of class nvme", || async {
        let list = claims.list(&ListParams::default()).await.ok()?;
        let bound = list.items.iter().filter(|c| {
            let phase = c.status.as_ref().and_then(|s| s.phase.as_deref());
            let class = c
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref());
            phase == Some("Bound") && class == Some("nvme")
        });
        (bound.count() == 3).then_some(())
    })
    .await;
}

#[tokio::test]
async fn statefulset_rolling_update_completes() {
    let k8s = Kubernetes::shared();
    let ns = k8s.create_namespace("sts-rollout").await;
    let client = k8s.client().await;
    create_statefulset(&client, &ns, "broker", 3, false).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    eventually(k8s, &ns, "3 ready replicas", || async {
        let status = sets.get("broker").await.ok()?.status?;
        (status.ready_replicas == Some(3)).then_some(())
    })
    .await;

    let new_image = "registry.k8s.io/pause:3.10.1";
    let patch = json!({ "spec": { "template": { "spec": {
        "containers": [{ "name": "main", "image": new_image }]
    }}}});
    sets.patch("broker", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();

    eventually(k8s, &ns, "the rollout to finish", || async {
        let set = sets.get("broker").await.ok()?;
        let status = set.status?;
        let done = status.observed_generation == set.metadata.generation
            && status.update_revision.is_some()
            && status.update_revision == status.current_revision
            && status.updated_replicas == Some(3)
            && status.ready_replicas == Some(3);
        done.then_some(())
    })
    .await;
    let pods = ready_pods(&client, &ns, "app=broker").await;
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        let image = pod.spec.as_ref().unwrap().containers[0].image.as_deref();
        assert_eq!(
            image,
            Some(new_image),
            "{}",
            pod.metadata.name.as_ref().unwrap()
        );
    }
}

#[tokio::test]
async fn node_selector_places_pods_on_hdd_nodes_only() {
    let k8s = Kubernetes::shared();
    let ns = k8s.create_namespace("hdd").await;
    let client = k8s.client().await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "cold" },
        "spec": {
            "replicas": 6,
            "selector": { "matchLabels": { "app": "cold" } },
            "template": {
                "metadata": { "labels": { "app": "cold" } },
                "spec": {
                    "nodeSelector": { "pinot.operator.dev/disk": "hdd" },
                    "containers": [{ "name": "main", "image": PAUSE }],
                },
            },
        },
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let pods = eventually(k8s, &ns, "6 ready pods", || async {
        let pods = ready_pods(&client, &ns, "app=cold").await;
        (pods.len() == 6).then_some(pods)
    })
    .await;
    for pod in &pods {
        let node = pod.spec.as_ref().unwrap().node_name.as_deref().unwrap();
        assert!(
            node == "kwok-node-2" || node == "kwok-node-3",
            "pod on {node}"
        );
    }
}

#[tokio::test]
async fn deleting_a_claim_deletes_its_volume() {
    let k8s = Kubernetes::shared();
    let ns = k8s.create_namespace("reclaim").await;
    let client = k8s.client().await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": { "name": "scratch" },
        "spec": {
            "storageClassName": "hdd",
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": "2Gi" } },
        },
    }))
    .unwrap();
    claims.create(&PostParams::default(), &claim).await.unwrap();

    let volume = eventually(k8s, &ns, "the claim to bind", || async {
        let spec = claims.get("scratch").await.ok()?.spec?;
        spec.volume_name
    })
    .await;
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let capacity = volumes.get(&volume).await.unwrap().spec.unwrap().capacity;
    assert_eq!(capacity.unwrap()["storage"].0, "2Gi");

    claims
        .delete("scratch", &DeleteParams::default())
        .await
        .unwrap();
    eventually(k8s, &ns, "the released volume to be deleted", || async {
        volumes.get_opt(&volume).await.ok()?.is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn ready_delay_annotation_holds_a_pod_back() {
    let k8s = Kubernetes::shared();
    let ns = k8s.create_namespace("ready-delay").await;
    let client = k8s.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for (name, annotations) in [
        ("prompt", json!({})),
        ("delayed", json!({ READY_DELAY_ANNOTATION: "6s" })),
    ] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": name, "labels": { "app": name }, "annotations": annotations },
            "spec": { "containers": [{ "name": "main", "image": PAUSE }] },
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    eventually(k8s, &ns, "the pod without a delay ready", || async {
        ready_pods(&client, &ns, "app=prompt").await.pop()
    })
    .await;
    let delayed = eventually(k8s, &ns, "the delayed pod ready", || async {
        ready_pods(&client, &ns, "app=delayed").await.pop()
    })
    .await;
    // Timestamps have whole seconds: at least 6s after creation, less a second.
    let created = delayed.metadata.creation_timestamp.clone().unwrap().0;
    let ready = (delayed.status.unwrap().conditions.unwrap().into_iter())
        .find(|c| c.type_ == "Ready")
        .and_then(|c| c.last_transition_time)
        .unwrap()
        .0;
    let waited = ready.duration_since(created);
    assert!(waited.as_secs() >= 5, "Ready {waited:?} after creation");
}

/// A StatefulSet of `replicas` pause pods behind a headless Service, optionally with a
/// 1Gi `data` volume of class `nvme` per pod.
async fn create_statefulset(
    client: &kube::Client,
    ns: &str,
    name: &str,
    replicas: i32,
    with_storage: bool,
) {
    let service: Service = serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "clusterIP": "None", "selector": { "app": name },
                  "ports": [{ "name": "http", "port": 8080 }] },
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &service)
        .await
        .unwrap();

    let mut set = json!({
        "metadata": { "name": name },
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "main", "image": PAUSE }] },
            },
        },
    });
    if with_storage {
        set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{ "name": "data", "mountPath": "/data" }]);
        set["spec"]["volumeClaimTemplates"] = json!([{
            "metadata": { "name": "data" },
            "spec": {
                "storageClassName": "nvme",
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": "1Gi" } },
            },
        }]);
    }
    let set: StatefulSet = serde_json::from_value(set).unwrap();
    Api::<StatefulSet>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &set)
        .await
        .unwrap();
}

/// Pods matching `selector` that are Running and Ready and not being deleted.
async fn ready_pods(client: &kube::Client, ns: &str, selector: &str) -> Vec<Pod> {
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap();
    pods.items.into_iter().filter(pod_ready).collect()
}

fn pod_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    running && ready && pod.metadata.deletion_timestamp.is_none()
}

/// Polls `check` until it yields a value; on timeout fails with what the namespace
/// looks like, since "timed out" alone never explains a scheduling or binding problem.
async fn eventually<T, F, Fut>(k8s: &Kubernetes, ns: &str, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            let state = k8s.kubectl_output(&[
                "get",
                "statefulsets,deployments,pods,pvc,events",
                "-o",
                "wide",
                "-n",
                ns,
            ]);
            panic!("timed out after {TIMEOUT:?} waiting for {what} in {ns}:\n{state}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

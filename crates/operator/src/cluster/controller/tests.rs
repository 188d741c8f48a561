//! The shell against a scripted apiserver, request by request: what a reconcile
//! writes when the planner says to do nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use serde_json::json;

use super::*;
use crate::cluster::desired::DesiredPool;
use crate::cluster::desired::tests::HETEROGENEOUS;
use crate::cluster::names::CLUSTER_DOMAIN;
use crate::metrics::Metrics;
use crate::mock_apiserver::{self, Seen};

fn cluster(extra_spec: &str) -> PinotCluster {
    let yaml = HETEROGENEOUS.replace("\nspec:\n", &format!("\nspec:\n  {extra_spec}\n"));
    serde_norway::from_str(&yaml).unwrap()
}

fn context() -> (Arc<Context>, Arc<Mutex<Vec<Seen>>>) {
    let (client, seen) = mock_apiserver::client(vec![]);
    let metrics = Arc::new(Metrics::default());
    let ctx = Context::new(client, metrics, Duration::from_secs(60), None);
    (Arc::new(ctx), seen)
}

/// Fills the StatefulSet, pod and claim stores as their watches' first listing would.
fn listed(
    ctx: &Context,
    sets: Vec<StatefulSet>,
) -> (
    Writer<StatefulSet>,
    Writer<Pod>,
    Writer<PersistentVolumeClaim>,
) {
    let mut writers = ctx.writers();
    let (mut set_writer, mut pod_writer) = (writers.statefulsets(), writers.pods());
    let mut claim_writer = writers.claims();
    set_writer.apply_watcher_event(&watcher::Event::Init);
    for set in sets {
        set_writer.apply_watcher_event(&watcher::Event::InitApply(set));
    }
    for writer_event in [watcher::Event::Init, watcher::Event::InitDone] {
        pod_writer.apply_watcher_event(&writer_event);
    }
    for writer_event in [watcher::Event::Init, watcher::Event::InitDone] {
        claim_writer.apply_watcher_event(&writer_event);
    }
    set_writer.apply_watcher_event(&watcher::Event::InitDone);
    (set_writer, pod_writer, claim_writer)
}

fn taken(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test]
async fn a_paused_cluster_writes_its_status_and_nothing_else() {
    let (ctx, seen) = context();
    let _stores = listed(&ctx, vec![]);
    let paused = Arc::new(cluster("rollout: {paused: true}"));
    reconcile(paused, ctx.clone()).await.unwrap();
    let requests = taken(&seen);
    let status_writes = requests
        .iter()
        .filter(|r| {
            r.method == Method::PATCH && r.path().ends_with("/pinotclusters/analytics/status")
        })
        .count();
    assert_eq!(status_writes, 1, "{requests:#?}");
    let events = requests
        .iter()
        .filter(|r| r.path().ends_with("/events"))
        .count();
    assert!(
        events > 0,
        "the conditions' first state is announced: {requests:#?}"
    );
    assert_eq!(
        requests.len(),
        status_writes + events,
        "nothing but status and Events: {requests:#?}"
    );
    let status = &requests
        .iter()
        .find(|r| r.path().ends_with("/status"))
        .unwrap()
        .body;
    let paused = status["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Paused")
        .unwrap();
    assert_eq!(paused["status"], "True");
}

/// Every pool of a stopped cluster exists at zero replicas, as last applied.
fn stopped_and_settled(cluster: &PinotCluster) -> Vec<StatefulSet> {
    let desired = build(cluster, &Default::default(), CLUSTER_DOMAIN).unwrap();
    desired
        .pools
        .into_iter()
        .map(|pool| {
            let mut set = pool.statefulset;
            set.metadata.generation = Some(1);
            set.status = Some(
                serde_json::from_value(json!({"replicas": 0, "observedGeneration": 1,
                                              "updateRevision": "r1"}))
                .unwrap(),
            );
            set
        })
        .collect()
}

#[tokio::test]
async fn a_settled_resync_writes_no_status_no_event_and_deletes_no_pod() {
    let (ctx, seen) = context();
    let mut stopped = cluster("stopped: true");
    let _stores = listed(&ctx, stopped_and_settled(&stopped));
    reconcile(Arc::new(stopped.clone()), ctx.clone())
        .await
        .unwrap();
    let first = taken(&seen);
    let status = first
        .iter()
        .find(|r| r.path().ends_with("/status"))
        .expect("the first reconcile writes status");
    stopped.status = Some(serde_json::from_value(status.body["status"].clone()).unwrap());

    // The resync: the same cluster, with the status it wrote.
    reconcile(Arc::new(stopped.clone()), ctx.clone())
        .await
        .unwrap();
    let resync = taken(&seen);
    assert!(!resync.is_empty(), "the resync ran");
    for request in &resync {
        let path = request.path();
        assert!(!path.ends_with("/status"), "status rewritten: {request:?}");
        assert!(!path.ends_with("/events"), "Event: {request:?}");
        assert!(!path.contains("/pods/"), "pod touched: {request:?}");
    }
    // What it does write is the re-assertion of every pool and of the servers'
    // disruption budget (a server-side apply that changes nothing unless someone
    // edited an object) and the removal of a credentials Secret the spec does not
    // need (answered 404: there is none).
    let desired = build(&stopped, &Default::default(), CLUSTER_DOMAIN).unwrap();
    let pool_objects = |p: &DesiredPool| 2 + p.services.len() + usize::from(p.pdb.is_some());
    let shared = usize::from(desired.server_pdb.is_some());
    let objects: usize = desired.pools.iter().map(pool_objects).sum::<usize>() + shared;
    let applies = resync.iter().filter(|r| r.method == Method::PATCH).count();
    let deletes: Vec<&str> = resync
        .iter()
        .filter(|r| r.method == Method::DELETE)
        .map(Seen::path)
        .collect();
    assert_eq!(applies, objects, "{resync:#?}");
    assert_eq!(
        deletes,
        ["/api/v1/namespaces/data/secrets/analytics-credentials"]
    );
    assert_eq!(resync.len(), applies + deletes.len());
}

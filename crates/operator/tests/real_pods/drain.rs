//! A node drain as `kubectl drain` does it: every pod of the cluster evicted through
//! the Eviction API at once, each eviction retried every 5 s while a disruption
//! budget refuses it. Without the cordon: the environment has one real node, so a
//! cordoned node would leave every pod Pending for good. The budgets (one per pool,
//! one over all servers) and the servers' readiness gate decide the pace.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::EvictParams;
use testenv::load::{Load, Query};

use crate::rig::{Rig, ready};
use crate::stages::{Data, Report, examples};

const DRAIN_LIMIT: Duration = Duration::from_secs(900);

pub async fn drain(rig: &Rig, data: &Data, stream: &Query, report: &mut Report) {
    let before: BTreeMap<String, String> = (rig.pods().await.iter())
        .map(|p| (p.name_any(), p.uid().unwrap_or_default()))
        .collect();
    let loads = [Load::start(data.query.clone()), Load::start(stream.clone())];
    let started = Instant::now();
    let evictions: Vec<_> = (before.keys().cloned())
        .map(|name| tokio::spawn(evict(rig.api::<Pod>(), name)))
        .collect();
    for eviction in evictions {
        eviction.await.expect("an eviction task does not panic");
    }
    let evicted_in = started.elapsed();
    rig.wait_for("every evicted pod back and Ready", DRAIN_LIMIT, || async {
        let pods = rig.pods().await;
        let replaced = (pods.iter())
            .filter(|p| before.get(&p.name_any()) != p.uid().as_ref())
            .count();
        (replaced == before.len() && ready(&pods).len() == before.len()).then_some(())
    })
    .await;
    rig.wait_settled(DRAIN_LIMIT).await;
    let took = started.elapsed();
    let [offline, realtime] = loads;
    let (offline, realtime) = (offline.stop().await, realtime.stop().await);
    // Reported, not asserted: docs/operations.md says what a drain costs and why.
    report.line(format!(
        "node drain (every pod evicted, budgets honoured): the last of {} evictions \
         accepted after {:.0?}, all pods back and Ready after {:.0?}; OFFLINE {}{}; \
         REALTIME {}{}",
        before.len(),
        evicted_in,
        took,
        offline.summary(),
        examples(&offline),
        realtime.summary(),
        examples(&realtime),
    ));
}

/// Evicts `name`, retrying every 5 s while a budget refuses (429), as `kubectl
/// drain` does (the client may also retry a 429 itself before it returns).
async fn evict(pods: kube::Api<Pod>, name: String) {
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        match pods.evict(&name, &EvictParams::default()).await {
            Ok(_) => return,
            Err(kube::Error::Api(e)) if e.code == 404 => return,
            Err(kube::Error::Api(e)) if e.code == 429 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => panic!("evicting {name}: {e}"),
        }
    }
}

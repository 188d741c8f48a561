//! Growing the servers' data volumes on real pods: every claim grows in place, the
//! StatefulSets are re-created around the running pods, and no pod restarts.

use std::collections::BTreeMap;
use std::time::Instant;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use serde_json::json;
use testenv::load::Load;

use crate::rig::Rig;
use crate::stages::{Data, ROLLOUT_LIMIT, Report, examples};

const GROWN: &str = "2Gi";

/// The server pods by name, with their uids.
async fn server_uids(rig: &Rig) -> BTreeMap<String, String> {
    (rig.pods().await.into_iter())
        .filter(|p| p.name_any().contains("-server-"))
        .map(|p| (p.name_any(), p.uid().unwrap_or_default()))
        .collect()
}

/// The size each server claim asks for and has, and each server StatefulSet's template.
async fn sizes(rig: &Rig, pods: &[String]) -> Vec<(String, String)> {
    let mut out = vec![];
    for pod in pods {
        let claim = format!("data-{pod}");
        let pvc = rig
            .api::<PersistentVolumeClaim>()
            .get(&claim)
            .await
            .unwrap();
        let (asks, has) = crate::common::claim_sizes(pvc);
        out.push((format!("{claim} asks"), asks));
        out.push((format!("{claim} has"), has));
    }
    for pool in ["a", "b"] {
        let name = format!("{}-server-{pool}", rig.cluster);
        // Absent for a moment: the operator deletes and re-creates it.
        let set = rig.api::<StatefulSet>().get_opt(&name).await.unwrap();
        out.push((
            format!("{name} template"),
            crate::common::template_size(set),
        ));
    }
    out
}

pub async fn grow(rig: &Rig, data: &Data, report: &mut Report) {
    let before = server_uids(rig).await;
    let pods: Vec<String> = before.keys().cloned().collect();
    let load = Load::start(data.query.clone());
    let started = Instant::now();
    rig.patch_cluster(json!({"server": {"kubernetes": {"storage": {"size": GROWN}}}}))
        .await;
    rig.wait_for(
        "every server claim and template at 2Gi",
        ROLLOUT_LIMIT,
        || async {
            let sizes = sizes(rig, &pods).await;
            sizes.iter().all(|(_, size)| size == GROWN).then_some(())
        },
    )
    .await;
    rig.wait_settled(ROLLOUT_LIMIT).await;
    let tally = load.stop().await;
    report.line(format!(
        "server storage 1Gi -> {GROWN} ({} claims): {:.0?}; {}{}",
        pods.len(),
        started.elapsed(),
        tally.summary(),
        examples(&tally)
    ));
    report.expect_zero("server storage growth", "OFFLINE", &tally);
    assert_eq!(
        server_uids(rig).await,
        before,
        "growing volumes restarts no pod"
    );
    let owned = |pod: &Pod| {
        pod.owner_references()
            .iter()
            .any(|o| o.kind == "StatefulSet")
    };
    let servers = rig
        .pods()
        .await
        .into_iter()
        .filter(|p| p.name_any().contains("-server-"));
    for pod in servers {
        assert!(
            owned(&pod),
            "{} adopted by its new StatefulSet",
            pod.name_any()
        );
    }
}

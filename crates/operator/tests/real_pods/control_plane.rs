//! The control plane's side of the rollouts: which ZooKeeper member leads, asked the
//! way the operator asks (the AdminServer's `leader` command), here on each pod's IP.

use std::time::Duration;

use serde_json::Value;

use crate::rig::Rig;

/// The pod whose ZooKeeper member leads the ensemble (waits up to a minute for the
/// ensemble to have a leader).
pub async fn zookeeper_leader(rig: &Rig) -> String {
    rig.wait_for(
        "a ZooKeeper member that leads",
        Duration::from_secs(60),
        || async {
            for pod in rig.pods().await {
                let component = pod
                    .metadata
                    .labels
                    .as_ref()?
                    .get("pinot.operator.dev/component");
                let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
                let (Some("zookeeper"), Some(ip)) = (component.map(String::as_str), ip) else {
                    continue;
                };
                if leads(&ip).await {
                    return pod.metadata.name;
                }
            }
            None
        },
    )
    .await
}

/// Each ZooKeeper member's pod and count of digest mismatches (`monitor`): a member
/// whose data diverged from the leader's (ZOOKEEPER-4925 on 3.9.3) counts them.
/// Panics when a member does not say, so the check cannot pass unread.
pub async fn zookeeper_digest_mismatches(rig: &Rig) -> Vec<(String, u64)> {
    let mut counts = vec![];
    for pod in rig.pods().await {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
        let (Some("zookeeper"), Some(ip)) = (
            labels
                .get("pinot.operator.dev/component")
                .map(String::as_str),
            ip,
        ) else {
            continue;
        };
        let url = format!("http://{ip}:8080/commands/monitor");
        // A member answers `monitor` only while it serves; right after the rollout the
        // ensemble may still be electing (a CI run read `null` there), so ask again.
        let mut body = Value::Null;
        for _ in 0..30 {
            let answer = reqwest::Client::new()
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            body = answer.json().await.unwrap_or(Value::Null);
            if body["digest_mismatches_count"].is_u64() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let count = body["digest_mismatches_count"]
            .as_u64()
            .unwrap_or_else(|| panic!("{url} gives no digest_mismatches_count in 60 s: {body}"));
        counts.push((pod.metadata.name.unwrap_or_default(), count));
    }
    counts
}

async fn leads(ip: &str) -> bool {
    let url = format!("http://{ip}:8080/commands/leader");
    let answer = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    let Ok(answer) = answer else {
        return false;
    };
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    body["is_leader"] == Value::Bool(true)
}

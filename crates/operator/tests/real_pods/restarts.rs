//! Watches the cluster's pods and records each new pod (a new uid under a pod name):
//! what a rollout restarted, in which order, and whether any pod restarted twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// A pod that appeared (a restart, when its name existed before).
#[derive(Debug, Clone)]
pub struct Started {
    pub at: Instant,
    /// When the pod it replaced was deleted (its `deletionTimestamp` seen), which is
    /// when the operator acted: a pod that takes longer to stop starts later, in the
    /// same wave.
    pub deleted_at: Instant,
    pub name: String,
    /// `component/pool`, from the operator's labels.
    pub pool: String,
    pub component: String,
}

/// Per pod name: the uid last seen, and when that pod was first seen deleting.
type Known = BTreeMap<String, (String, Option<Instant>)>;

pub struct Restarts {
    uids: Arc<Mutex<Known>>,
    started: Arc<Mutex<Vec<Started>>>,
    task: JoinHandle<()>,
}

impl Restarts {
    /// Watches the pods of cluster `cluster` in `namespace`.
    pub fn watch(client: Client, namespace: &str, cluster: &str) -> Restarts {
        let uids = Arc::new(Mutex::new(BTreeMap::new()));
        let started = Arc::new(Mutex::new(Vec::new()));
        let pods: Api<Pod> = Api::namespaced(client, namespace);
        let config =
            watcher::Config::default().labels(&format!("pinot.operator.dev/cluster={cluster}"));
        let (seen, log) = (uids.clone(), started.clone());
        let task = tokio::spawn(async move {
            let mut stream = watcher(pods, config).boxed();
            while let Some(event) = stream.next().await {
                let Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else {
                    continue;
                };
                record(&seen, &log, &pod).await;
            }
        });
        Restarts {
            uids,
            started,
            task,
        }
    }

    /// Pods that appeared since `since` under a name seen before: the restarts.
    pub async fn since(&self, since: Instant) -> Vec<Started> {
        let log = self.started.lock().await;
        log.iter().filter(|s| s.at >= since).cloned().collect()
    }

    /// How many pods are known.
    pub async fn known(&self) -> usize {
        self.uids.lock().await.len()
    }
}

impl Drop for Restarts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(uids: &Mutex<Known>, log: &Mutex<Vec<Started>>, pod: &Pod) {
    let (name, uid) = (pod.name_any(), pod.uid().unwrap_or_default());
    let deleting = pod.metadata.deletion_timestamp.is_some();
    let mut known = uids.lock().await;
    let before = known.get(&name).cloned();
    match &before {
        Some((old, seen_deleting)) if *old == uid => {
            if deleting && seen_deleting.is_none() {
                known.insert(name, (uid, Some(Instant::now())));
            }
            return;
        }
        _ => {
            let deleting_since = deleting.then(Instant::now);
            known.insert(name.clone(), (uid, deleting_since));
        }
    }
    drop(known);
    let Some((_, deleted_at)) = before else {
        return;
    };
    let now = Instant::now();
    let label = |key: &str| pod.labels().get(key).cloned().unwrap_or_default();
    let component = label("pinot.operator.dev/component");
    log.lock().await.push(Started {
        at: now,
        deleted_at: deleted_at.unwrap_or(now),
        pool: format!("{component}/{}", label("pinot.operator.dev/pool")),
        component,
        name,
    });
}

/// Names restarted more than once among `restarts`.
pub fn restarted_twice(restarts: &[Started]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in restarts {
        *counts.entry(&r.name).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The pools in the order their first pod restarted.
pub fn pool_order(restarts: &[Started]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for r in restarts {
        if !order.contains(&r.pool) {
            order.push(r.pool.clone());
        }
    }
    order
}

/// Whether every restart of pool `first` came before any of pool `second`.
pub fn all_before(restarts: &[Started], first: &str, second: &str) -> bool {
    let last_first = restarts
        .iter()
        .filter(|r| r.pool == first)
        .map(|r| r.at)
        .max();
    let first_second = restarts
        .iter()
        .filter(|r| r.pool == second)
        .map(|r| r.at)
        .min();
    match (last_first, first_second) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

/// Deletions that came within this of the previous one belong to the same wave (the
/// operator deletes a wave's pods in one reconcile).
const SAME_WAVE: std::time::Duration = std::time::Duration::from_secs(3);

/// How many waves of restarts there were, by when each replaced pod was deleted.
pub fn waves(restarts: &[Started]) -> usize {
    let mut times: Vec<Instant> = restarts.iter().map(|r| r.deleted_at).collect();
    times.sort();
    let gaps = times.windows(2).filter(|w| w[1] - w[0] > SAME_WAVE).count();
    if times.is_empty() { 0 } else { gaps + 1 }
}

//! The Pinot instances of the operator's pools, decided purely: the tags, Pinot pools
//! and `queriesDisabled` each registered instance should carry (drift is reverted), and which
//! instances a finished scale-down left behind and can be forgotten.

use std::collections::BTreeMap;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredPool;
use crate::cluster::names::{Naming, instance_id, pod_name};
use crate::cluster::observe::pinot::Snapshot;
use crate::cluster::observe::workloads::Observed;

/// Registered instances of the operator's pools whose ordinal is beyond the pool's
/// replicas and that hold no segment: left behind by a scale-down, safe to drop.
/// Never called for a stopped cluster (every ordinal would look departed).
pub fn departed(pools: &[DesiredPool], snapshot: &Snapshot, naming: &Naming<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for pool in pools {
        let (Some(port), workload) = (pool.instance_port, pool.workload()) else {
            continue;
        };
        let prefix = format!("{}_{workload}-", pool.id.component.instance_prefix());
        for id in &snapshot.instances {
            let Some(rest) = id.strip_prefix(&prefix) else {
                continue;
            };
            let Some((ordinal, _)) = rest.split_once('.') else {
                continue;
            };
            let Ok(ordinal) = ordinal.parse::<i32>() else {
                continue;
            };
            let pod = pod_name(workload, ordinal);
            let expected = instance_id(&pool.id, naming, &pod, port);
            let holds_segments = snapshot.tables.iter().any(|t| t.hosts(id));
            if ordinal >= pool.replicas && *id == expected && !holds_segments {
                out.push(id.clone());
            }
        }
    }
    out
}

/// What the operator keeps on one Pinot instance.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedInstance {
    pub id: String,
    pub tags: Vec<String>,
    /// Pinot pool per tag; empty: left as it is.
    pub pools: BTreeMap<String, i32>,
    /// Servers: set while a restart takes them out of routing, cleared otherwise (a
    /// restarted server comes back with it set). `None`: left as it is.
    pub queries_disabled: Option<bool>,
}

/// What every serving pod (its Pinot process ready; a server need not be routable
/// yet) of a pool that has tags to keep should carry; `quiescing` are
/// the servers a restart is taking out of routing. A terminating pod is left alone:
/// it is on its way out.
pub fn wanted_instances(
    pools: &[DesiredPool],
    observed: &Observed,
    naming: &Naming<'_>,
    quiescing: &[String],
) -> Vec<WantedInstance> {
    let mut out = Vec::new();
    for pool in pools.iter().filter(|p| !p.tags.is_empty()) {
        let (Some(port), workload) = (pool.instance_port, pool.workload()) else {
            continue;
        };
        let Some(observed) = observed.pool(workload) else {
            continue;
        };
        for pod in observed
            .pods
            .iter()
            .filter(|p| p.serving && !p.terminating && p.ordinal < pool.replicas)
        {
            let id = instance_id(&pool.id, naming, &pod.name, port);
            let server = pool.id.component == Component::Server;
            out.push(WantedInstance {
                queries_disabled: server.then(|| quiescing.contains(&id)),
                id,
                tags: pool.tags.clone(),
                pools: pool.pinot_pools.clone(),
            });
        }
    }
    out
}

/// Whether an instance's current tags differ from the wanted ones (order aside).
pub fn tags_differ(current: &[String], wanted: &[String]) -> bool {
    let mut current = current.to_vec();
    current.sort();
    current.dedup();
    current != wanted
}

/// Whether an instance's Pinot pools differ from the wanted ones; no wanted pools means
/// the operator leaves them as they are.
pub fn pools_differ(current: &BTreeMap<String, i32>, wanted: &BTreeMap<String, i32>) -> bool {
    !wanted.is_empty() && current != wanted
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pinot_client::TableType;

    use super::*;
    use crate::cluster::desired::tests::{NAMING, desired};
    use crate::cluster::observe::pinot::TableStates;
    use crate::cluster::observe::workloads::{ObservedPod, ObservedPool};

    fn pools() -> Vec<DesiredPool> {
        desired().pools
    }

    fn id(ordinal: i32) -> String {
        format!(
            "Server_analytics-server-hot-{ordinal}.analytics-server-hot.data.svc.cluster.local_8098"
        )
    }

    #[test]
    fn departed_instances_are_beyond_replicas_and_empty() {
        let pools = pools();
        let snapshot = Snapshot {
            instances: [id(0), id(2), id(3), id(4), "Server_other_8098".into()].into(),
            tables: vec![TableStates {
                name: "t".into(),
                table_type: TableType::Offline,
                ideal: BTreeMap::from([("s".into(), BTreeMap::from([(id(4), "ONLINE".into())]))]),
                external: BTreeMap::new(),
            }],
        };
        assert_eq!(departed(&pools, &snapshot, &NAMING), [id(3)]);
    }

    #[test]
    fn ready_pods_of_tagged_pools_get_their_tags() {
        let pools = pools();
        let pod = |ordinal: i32, ready: bool| ObservedPod {
            name: format!("analytics-server-hot-{ordinal}"),
            ordinal,
            ready,
            serving: ready,
            ..Default::default()
        };
        let observed = Observed {
            pools: BTreeMap::from([(
                "analytics-server-hot".to_owned(),
                ObservedPool {
                    set: None,
                    pods: vec![pod(0, true), pod(1, false), pod(2, true), pod(3, true)],
                },
            )]),
        };
        let wanted = wanted_instances(&pools, &observed, &NAMING, &[id(2)]);
        assert_eq!(
            wanted.len(),
            2,
            "not-ready and leaving pods are skipped: {wanted:?}"
        );
        assert_eq!(wanted[0].id, id(0));
        assert_eq!(
            (wanted[0].queries_disabled, wanted[1].queries_disabled),
            (Some(false), Some(true)),
            "queries stay disabled only on the servers being restarted"
        );
        assert!(wanted[0].tags.contains(&"hot_OFFLINE".to_owned()));
        assert!(!tags_differ(
            &["b".into(), "a".into()],
            &["a".into(), "b".into()]
        ));
        assert!(tags_differ(&["server_untagged".into()], &["a".into()]));
    }

    #[test]
    fn a_terminating_pod_is_left_alone() {
        let pools = pools();
        let pod = ObservedPod {
            name: "analytics-server-hot-0".into(),
            ready: true,
            serving: true,
            terminating: true,
            ..Default::default()
        };
        let observed = Observed {
            pools: BTreeMap::from([(
                "analytics-server-hot".to_owned(),
                ObservedPool {
                    set: None,
                    pods: vec![pod],
                },
            )]),
        };
        assert!(wanted_instances(&pools, &observed, &NAMING, &[]).is_empty());
    }

    #[test]
    fn pinot_pools_are_kept_exactly_when_the_pool_has_some() {
        let wanted = BTreeMap::from([("T_OFFLINE".to_owned(), 1), ("T_REALTIME".to_owned(), 1)]);
        assert!(!pools_differ(&wanted.clone(), &wanted));
        assert!(pools_differ(&BTreeMap::new(), &wanted), "not set yet");
        let mut drifted = wanted.clone();
        drifted.insert("T_OFFLINE".into(), 0);
        assert!(pools_differ(&drifted, &wanted), "changed behind our back");
        let mut extra = wanted.clone();
        extra.insert("Other_OFFLINE".into(), 3);
        assert!(pools_differ(&extra, &wanted), "a pool we do not want");
        assert!(
            !pools_differ(&drifted, &BTreeMap::new()),
            "no tenant: left alone"
        );
    }
}

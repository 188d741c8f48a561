//! Pure decisions about Pinot instances of pools: which instances leave when a
//! server pool shrinks, what still holds their segments, which instances of removed
//! ordinals can be forgotten, and which tags and Pinot pools each instance should carry.

use std::collections::BTreeMap;

use super::build::DesiredPool;
use super::component::Component;
use super::health::{Naming, Snapshot, TableStates};
use super::names::{instance_id, pod_name};
use super::observe::Observed;

/// Instance ids of ordinals `to..from` of a pool: the pods a scale-down removes.
pub fn leaving(pool: &DesiredPool, from: i32, to: i32, naming: &Naming<'_>) -> Vec<String> {
    let (Some(port), workload) = (pool.instance_port, pool.workload()) else {
        return vec![];
    };
    (to..from)
        .map(|ordinal| {
            let pod = pod_name(workload, ordinal);
            instance_id(&pool.id, naming.cluster, naming.namespace, &pod, port)
        })
        .collect()
}

/// Tables whose ideal state or external view still places a segment on a leaving
/// instance: the scale-down waits until there are none.
pub fn hosting<'a>(snapshot: &'a Snapshot, leaving: &[String]) -> Vec<&'a TableStates> {
    snapshot
        .tables
        .iter()
        .filter(|t| leaving.iter().any(|id| t.hosts(id)))
        .collect()
}

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
            let expected = instance_id(&pool.id, naming.cluster, naming.namespace, &pod, port);
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
}

/// The tags and Pinot pools of every ready, current pod of a pool that has tags to keep.
pub fn wanted_instances(
    pools: &[DesiredPool],
    observed: &Observed,
    naming: &Naming<'_>,
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
            .filter(|p| p.ready && p.ordinal < pool.replicas)
        {
            out.push(WantedInstance {
                id: instance_id(&pool.id, naming.cluster, naming.namespace, &pod.name, port),
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

/// Only servers hold segments; everything else leaves without a drain.
pub fn needs_drain(component: Component) -> bool {
    component == Component::Server
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pinot_client::TableType;

    use super::*;
    use crate::cluster::build::build;
    use crate::cluster::observe::{ObservedPod, ObservedPool};

    const NAMING: Naming<'static> = Naming {
        cluster: "analytics",
        namespace: "data",
    };

    fn pools() -> Vec<DesiredPool> {
        let cluster = serde_norway::from_str(crate::cluster::build::tests::HETEROGENEOUS).unwrap();
        build(&cluster, &Default::default()).unwrap().pools
    }

    fn hot(pools: &[DesiredPool]) -> &DesiredPool {
        pools.iter().find(|p| p.id.pool == "hot").unwrap()
    }

    fn id(ordinal: i32) -> String {
        format!(
            "Server_analytics-server-hot-{ordinal}.analytics-server-hot.data.svc.cluster.local_8098"
        )
    }

    #[test]
    fn leaving_instances_are_the_highest_ordinals() {
        let pools = pools();
        assert_eq!(leaving(hot(&pools), 5, 3, &NAMING), [id(3), id(4)]);
    }

    #[test]
    fn tables_still_holding_leaving_segments_are_found() {
        let table = |instance: String| TableStates {
            name: "t".into(),
            table_type: TableType::Offline,
            ideal: BTreeMap::from([("s".into(), BTreeMap::from([(instance, "ONLINE".into())]))]),
            external: BTreeMap::new(),
        };
        let snapshot = Snapshot {
            instances: Default::default(),
            tables: vec![table(id(0)), table(id(4))],
        };
        let hosting = hosting(&snapshot, &[id(3), id(4)]);
        assert_eq!(hosting.len(), 1);
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
            ..Default::default()
        };
        let observed = Observed {
            pools: BTreeMap::from([(
                "analytics-server-hot".to_owned(),
                ObservedPool {
                    set: None,
                    pods: vec![pod(0, true), pod(1, false), pod(3, true)],
                },
            )]),
        };
        let wanted = wanted_instances(&pools, &observed, &NAMING);
        assert_eq!(
            wanted.len(),
            1,
            "not-ready and leaving pods are skipped: {wanted:?}"
        );
        assert_eq!(wanted[0].id, id(0));
        assert!(wanted[0].tags.contains(&"hot_OFFLINE".to_owned()));
        assert!(!tags_differ(
            &["b".into(), "a".into()],
            &["a".into(), "b".into()]
        ));
        assert!(tags_differ(&["server_untagged".into()], &["a".into()]));
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

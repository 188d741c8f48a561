//! Draining servers before a scale-down, decided purely: which instances leave when
//! a server pool shrinks, and which tables still hold their segments.

use pinot_client::TableType;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredPool;
use crate::cluster::names::{Naming, instance_id, pod_name};
use crate::cluster::observe::pinot::{Snapshot, TableStates};

/// Instance ids of ordinals `to..from` of a pool: the pods a scale-down removes.
pub fn leaving(pool: &DesiredPool, from: i32, to: i32, naming: &Naming<'_>) -> Vec<String> {
    let (Some(port), workload) = (pool.instance_port, pool.workload()) else {
        return vec![];
    };
    (to..from)
        .map(|ordinal| {
            let pod = pod_name(workload, ordinal);
            instance_id(&pool.id, naming, &pod, port)
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

/// How far a drain is, from Pinot's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum DrainProgress {
    /// No table holds a segment on the leaving instances: the pool may shrink.
    Done,
    Moving {
        /// Tables whose ideal state still places segments on the leaving instances.
        /// Once it no longer does the rebalance is under way, and the external view
        /// catching up is only waited for.
        rebalance: Vec<(String, TableType)>,
        /// Every table still holding such a segment (with its type), for status.
        tables: Vec<String>,
    },
}

/// What a drain of `leaving` still needs.
pub fn progress(snapshot: &Snapshot, leaving: &[String]) -> DrainProgress {
    let tables = hosting(snapshot, leaving);
    if tables.is_empty() {
        return DrainProgress::Done;
    }
    let placed = |t: &TableStates| {
        leaving
            .iter()
            .any(|id| t.ideal.values().any(|s| s.contains_key(id)))
    };
    DrainProgress::Moving {
        rebalance: tables
            .iter()
            .filter(|t| placed(t))
            .map(|t| (t.name.clone(), t.table_type))
            .collect(),
        tables: tables
            .iter()
            .map(|t| t.table_type.table_name_with_type(&t.name))
            .collect(),
    }
}

/// Only servers hold segments; everything else leaves without a drain.
pub fn needs_drain(component: Component) -> bool {
    component == Component::Server
}

#[cfg(test)]
mod tests {
    use pinot_client::TableType;

    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::desired::tests::{NAMING, desired};

    fn pools() -> Vec<DesiredPool> {
        desired().pools
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
}

//! What Pinot says about each pool: every instance registered, and every segment
//! the ideal state gives it ONLINE (or CONSUMING) in the external view. Pure: it
//! works on a [`Snapshot`] read once per reconcile.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::desired::DesiredPool;
use crate::cluster::names::{Naming, instance_id};
use crate::cluster::observe::pinot::{PinotView, Snapshot, serving};
use crate::cluster::observe::workloads::Observed;
use crate::cluster::plan::rollout::Verdict;

/// The instance ids of the pool's current pods.
pub fn pool_instances(pool: &DesiredPool, observed: &Observed, naming: &Naming<'_>) -> Vec<String> {
    let (Some(port), workload) = (pool.instance_port, pool.workload()) else {
        return vec![];
    };
    observed
        .pool(workload)
        .map(|p| {
            p.pods
                .iter()
                .map(|pod| instance_id(&pool.id, naming, &pod.name, port))
                .collect()
        })
        .unwrap_or_default()
}

/// A verdict for every Pinot pool.
pub fn verdicts(
    pools: &[DesiredPool],
    observed: &Observed,
    view: &PinotView,
    naming: &Naming<'_>,
) -> BTreeMap<crate::cluster::names::PoolId, Verdict> {
    pools
        .iter()
        .filter(|p| p.instance_port.is_some())
        .map(|pool| {
            let verdict = match view {
                PinotView::Unreachable(why) => Verdict::Unknown(why.clone()),
                PinotView::Reachable(snapshot) => {
                    verdict(&pool_instances(pool, observed, naming), snapshot)
                }
            };
            (pool.id.clone(), verdict)
        })
        .collect()
}

/// At most this many problems are spelled out in a message.
const SHOWN: usize = 3;

/// Healthy when every instance is registered and serves what it should.
pub fn verdict(instances: &[String], snapshot: &Snapshot) -> Verdict {
    let mut problems: Vec<String> = instances
        .iter()
        .filter(|id| !snapshot.instances.contains(*id))
        .map(|id| format!("{id} is not registered"))
        .collect();
    let wanted: BTreeSet<&str> = instances.iter().map(String::as_str).collect();
    for table in &snapshot.tables {
        for (segment, placement) in &table.ideal {
            for (instance, state) in placement {
                if !serving(state) || !wanted.contains(instance.as_str()) {
                    continue;
                }
                let actual = table.external.get(segment).and_then(|s| s.get(instance));
                if actual != Some(state) {
                    let actual = actual.map_or("missing", String::as_str);
                    problems.push(format!(
                        "{} segment {segment} on {instance} is {actual} (want {state})",
                        table.table_type.table_name_with_type(&table.name)
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        let alone = sole_replicas(&wanted, snapshot);
        if alone.is_empty() {
            return Verdict::Healthy;
        }
        return Verdict::SoleReplicas(summarize(alone));
    }
    Verdict::NotYet(summarize(problems))
}

/// The first few items, and how many more there are.
pub(crate) fn summarize(mut items: Vec<String>) -> String {
    let more = items.len().saturating_sub(SHOWN);
    items.truncate(SHOWN);
    let mut message = items.join("; ");
    if more > 0 {
        message.push_str(&format!(" (and {more} more)"));
    }
    message
}

/// Segments served by one of `pool` that no instance outside it serves: the last
/// online replicas, which a whole-pool restart would take away.
fn sole_replicas(pool: &BTreeSet<&str>, snapshot: &Snapshot) -> Vec<String> {
    let mut alone = vec![];
    for table in &snapshot.tables {
        for (segment, placement) in &table.external {
            let here = placement
                .iter()
                .any(|(i, s)| pool.contains(i.as_str()) && serving(s));
            let elsewhere = placement
                .iter()
                .any(|(i, s)| !pool.contains(i.as_str()) && serving(s));
            if here && !elsewhere {
                let table = table.table_type.table_name_with_type(&table.name);
                alone.push(format!(
                    "{table} segment {segment} has no replica outside the pool"
                ));
            }
        }
    }
    alone
}

#[cfg(test)]
mod tests {
    use pinot_client::{SegmentStates, TableType};

    use super::*;
    use crate::cluster::observe::pinot::TableStates;

    fn states(entries: &[(&str, &str, &str)]) -> SegmentStates {
        let mut out = SegmentStates::new();
        for (segment, instance, state) in entries {
            out.entry(segment.to_string())
                .or_default()
                .insert(instance.to_string(), state.to_string());
        }
        out
    }

    fn snapshot(ideal: SegmentStates, external: SegmentStates) -> Snapshot {
        Snapshot {
            instances: ["Server_a_8098", "Server_b_8098"].map(String::from).into(),
            tables: vec![TableStates {
                name: "events".into(),
                table_type: TableType::Offline,
                ideal,
                external,
            }],
        }
    }

    #[test]
    fn healthy_when_external_view_matches_ideal_state() {
        let ideal = states(&[
            ("s0", "Server_a_8098", "ONLINE"),
            ("s0", "Server_b_8098", "ONLINE"),
        ]);
        let snap = snapshot(ideal.clone(), ideal);
        assert_eq!(verdict(&["Server_a_8098".into()], &snap), Verdict::Healthy);
    }

    #[test]
    fn a_segment_not_online_yet_blocks() {
        let ideal = states(&[
            ("s0", "Server_a_8098", "ONLINE"),
            ("s1", "Server_a_8098", "ONLINE"),
        ]);
        let external = states(&[("s0", "Server_a_8098", "OFFLINE")]);
        let Verdict::NotYet(why) = verdict(&["Server_a_8098".into()], &snapshot(ideal, external))
        else {
            panic!("expected NotYet");
        };
        assert!(
            why.contains("events_OFFLINE segment s0 on Server_a_8098 is OFFLINE (want ONLINE)"),
            "{why}"
        );
        assert!(why.contains("s1 on Server_a_8098 is missing"), "{why}");
    }

    #[test]
    fn other_instances_and_dropped_segments_do_not_matter() {
        let ideal = states(&[
            ("s0", "Server_b_8098", "ONLINE"),
            ("s1", "Server_a_8098", "OFFLINE"),
        ]);
        let snap = snapshot(ideal, SegmentStates::new());
        assert_eq!(verdict(&["Server_a_8098".into()], &snap), Verdict::Healthy);
    }

    #[test]
    fn a_pool_holding_the_only_replica_is_flagged() {
        let placed = states(&[
            ("s0", "Server_a_8098", "ONLINE"),
            ("s1", "Server_a_8098", "ONLINE"),
            ("s1", "Server_b_8098", "ONLINE"),
        ]);
        let Verdict::SoleReplicas(why) =
            verdict(&["Server_a_8098".into()], &snapshot(placed.clone(), placed))
        else {
            panic!("expected SoleReplicas");
        };
        assert_eq!(
            why,
            "events_OFFLINE segment s0 has no replica outside the pool"
        );
    }

    #[test]
    fn a_replica_outside_the_pool_that_is_not_serving_does_not_count() {
        let ideal = states(&[
            ("s0", "Server_a_8098", "ONLINE"),
            ("s0", "Server_b_8098", "ONLINE"),
        ]);
        let external = states(&[
            ("s0", "Server_a_8098", "ONLINE"),
            ("s0", "Server_b_8098", "ERROR"),
        ]);
        let v = verdict(&["Server_a_8098".into()], &snapshot(ideal, external));
        assert!(matches!(v, Verdict::SoleReplicas(_)), "{v:?}");
    }

    #[test]
    fn unregistered_instances_block() {
        let snap = snapshot(SegmentStates::new(), SegmentStates::new());
        let v = verdict(&["Server_c_8098".into()], &snap);
        assert_eq!(v, Verdict::NotYet("Server_c_8098 is not registered".into()));
    }

    #[test]
    fn hosts_looks_at_both_views() {
        let table = TableStates {
            name: "t".into(),
            table_type: TableType::Offline,
            ideal: states(&[("s0", "A", "ONLINE")]),
            external: states(&[("s0", "B", "ONLINE")]),
        };
        assert!(table.hosts("A") && table.hosts("B") && !table.hosts("C"));
    }
}

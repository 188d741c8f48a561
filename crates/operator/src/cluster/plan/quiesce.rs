//! Taking servers out of query routing before they restart, decided purely.
//!
//! A server pod is deleted only once every broker has stopped routing to it and routes
//! each of its segments to another replica. The order is:
//!
//! 1. set `queriesDisabled` on the wave's instances (0.11 and 1.x brokers drop such a
//!    server from routing; its segments stay ONLINE, nothing moves);
//! 2. ask every ready broker pod for its routing of the tables the wave hosts, until
//!    none routes to the wave and each routes the wave's segments elsewhere;
//! 3. delete the pods. The restarted pods get `queriesDisabled` cleared once Ready
//!    (the instance upkeep), and the next wave's step 2 waits until the brokers
//!    route to them again: ready means routable before anything else restarts.
//!
//! A segment with no serving replica outside the wave (replication 1) cannot be kept
//! available; it does not hold the restart up.

use std::collections::BTreeSet;

use crate::cluster::component::Component;
use crate::cluster::names::instance_id;
use crate::cluster::observe::pinot::{PinotView, Snapshot, serving};
use crate::cluster::observe::routing::{Routing, Sample};
use crate::cluster::plan::Seen;
use crate::cluster::plan::force_commit::{Mark, Member};
use crate::cluster::plan::health::summarize;
use crate::cluster::plan::rollout::Step;

/// At most this many routing tables per table and broker.
const MAX_SAMPLES: usize = 4;

/// What a restart of server pods may do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Set `queriesDisabled` on these instances first.
    Disable(Vec<String>),
    /// The brokers have not caught up yet (why).
    Wait(String),
    /// Every broker routes around the wave: delete the pods.
    Go,
}

/// The instances of the serving, registered server pods `step` is about to delete (a
/// pod whose Pinot process is not ready serves nothing, and one Pinot does not know
/// has no routes).
pub fn wave(step: &Step, seen: &Seen<'_>) -> Vec<String> {
    members(step, seen)
        .into_iter()
        .map(|m| m.instance)
        .collect()
}

/// Those pods, with their instances and force-commit marks.
pub fn members(step: &Step, seen: &Seen<'_>) -> Vec<Member> {
    let (Step::Restart { pool, pods }, PinotView::Reachable(snapshot)) = (step, seen.view) else {
        return vec![];
    };
    let desired = seen.desired.pools.iter().find(|p| &p.id == pool);
    let (Some(desired), Some(observed)) = (
        desired,
        seen.observed.pool(&pool.workload(seen.naming.cluster)),
    ) else {
        return vec![];
    };
    let Some(port) = desired
        .instance_port
        .filter(|_| pool.component == Component::Server)
    else {
        return vec![];
    };
    let serving = |name: &str| observed.pods.iter().find(|p| p.name == name && p.serving);
    pods.iter()
        .filter_map(|p| serving(&p.name))
        .map(|p| Member {
            pod: p.name.clone(),
            instance: instance_id(pool, seen.naming, &p.name, port),
            mark: p.force_commit.as_deref().and_then(Mark::parse),
        })
        .filter(|m| snapshot.instances.contains(&m.instance))
        .collect()
}

/// The tables whose segments the wave serves, and how often to ask each broker.
pub fn samples(snapshot: &Snapshot, wave: &[String]) -> Vec<Sample> {
    let on_wave = |id: &String| wave.contains(id);
    snapshot
        .tables
        .iter()
        .filter(|t| t.external.values().any(|s| s.keys().any(on_wave)))
        .map(|t| Sample {
            table: t.table_type.table_name_with_type(&t.name),
            times: (t.ideal.values().map(|s| s.len()).max().unwrap_or(1)).clamp(1, MAX_SAMPLES),
        })
        .collect()
}

/// Whether the wave may restart now.
pub fn gate(wave: &[String], snapshot: &Snapshot, routing: &Routing) -> Gate {
    let enabled: Vec<String> = (wave.iter())
        .filter(|id| !routing.disabled.contains(*id))
        .cloned()
        .collect();
    if !enabled.is_empty() {
        return Gate::Disable(enabled);
    }
    if routing.brokers.is_empty() {
        return Gate::Wait(format!(
            "no broker pod is ready to confirm that it no longer routes queries to {}",
            wave.join(", ")
        ));
    }
    let wave: BTreeSet<&str> = wave.iter().map(String::as_str).collect();
    let mut problems = Vec::new();
    for (broker, routes) in &routing.brokers {
        match routes {
            Err(why) => problems.push(format!("cannot ask broker {broker}: {why}")),
            Ok(routes) => problems.extend(unsafe_routes(broker, routes, snapshot, &wave)),
        }
    }
    match problems.is_empty() {
        true => Gate::Go,
        false => Gate::Wait(summarize(problems)),
    }
}

/// Segments of the wave that `broker` still routes to the wave, or to nothing although
/// another replica serves them (it has not caught up with that replica yet).
fn unsafe_routes(
    broker: &str,
    routes: &crate::cluster::observe::routing::TableRoutes,
    snapshot: &Snapshot,
    wave: &BTreeSet<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for table in &snapshot.tables {
        let name = table.table_type.table_name_with_type(&table.name);
        for (segment, placement) in &table.external {
            let (inside, outside): (Vec<_>, Vec<_>) = (placement.iter())
                .filter(|(_, s)| serving(s))
                .partition(|(i, _)| wave.contains(i.as_str()));
            if inside.is_empty() {
                continue;
            }
            let routed = routes.get(&name).and_then(|t| t.get(segment));
            let to_wave = routed.and_then(|r| r.iter().find(|i| wave.contains(i.as_str())));
            if let Some(instance) = to_wave {
                problems.push(format!(
                    "broker {broker} still routes {name} segment {segment} to {instance}"
                ));
            } else if !outside.is_empty() && routed.is_none_or(BTreeSet::is_empty) {
                problems.push(format!(
                    "broker {broker} routes {name} segment {segment} to no other replica yet"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pinot_client::{SegmentStates, TableType};

    use super::*;
    use crate::cluster::observe::pinot::TableStates;
    use crate::cluster::observe::routing::TableRoutes;

    const A: &str = "Server_a_8098";
    const B: &str = "Server_b_8098";

    fn placed(entries: &[(&str, &str)]) -> SegmentStates {
        let mut out = SegmentStates::new();
        for (segment, instance) in entries {
            out.entry(segment.to_string())
                .or_default()
                .insert(instance.to_string(), "ONLINE".to_string());
        }
        out
    }

    /// Table t: s0 on a and b, s1 on a only.
    fn snapshot() -> Snapshot {
        let states = placed(&[("s0", A), ("s0", B), ("s1", A)]);
        Snapshot {
            instances: [A, B].map(String::from).into(),
            tables: vec![TableStates {
                name: "t".into(),
                table_type: TableType::Offline,
                ideal: states.clone(),
                external: states,
            }],
        }
    }

    fn routing(routes: &[(&str, &str)]) -> Routing {
        let mut table = BTreeMap::new();
        for (segment, instance) in routes {
            table
                .entry(segment.to_string())
                .or_insert_with(BTreeSet::new)
                .insert(instance.to_string());
        }
        Routing {
            disabled: [A.to_string()].into(),
            brokers: BTreeMap::from([(
                "broker-0".to_string(),
                Ok(TableRoutes::from([("t_OFFLINE".to_string(), table)])),
            )]),
        }
    }

    #[test]
    fn queries_are_disabled_first() {
        let mut seen = routing(&[("s0", B)]);
        seen.disabled.clear();
        assert_eq!(
            gate(&[A.into()], &snapshot(), &seen),
            Gate::Disable(vec![A.into()])
        );
    }

    #[test]
    fn the_restart_goes_once_brokers_route_around_the_wave() {
        // s1 has no replica outside the wave: unavailable whatever is done.
        assert_eq!(
            gate(&[A.into()], &snapshot(), &routing(&[("s0", B)])),
            Gate::Go
        );
    }

    #[test]
    fn a_broker_still_routing_to_the_wave_holds_it() {
        let Gate::Wait(why) = gate(&[A.into()], &snapshot(), &routing(&[("s0", B), ("s1", A)]))
        else {
            panic!("expected a wait");
        };
        assert_eq!(
            why,
            "broker broker-0 still routes t_OFFLINE segment s1 to Server_a_8098"
        );
    }

    #[test]
    fn a_broker_not_routing_to_the_other_replica_yet_holds_it() {
        let Gate::Wait(why) = gate(&[A.into()], &snapshot(), &routing(&[])) else {
            panic!("expected a wait");
        };
        assert_eq!(
            why,
            "broker broker-0 routes t_OFFLINE segment s0 to no other replica yet"
        );
    }

    #[test]
    fn no_broker_or_an_unanswering_one_holds_it() {
        let mut seen = routing(&[("s0", B)]);
        seen.brokers
            .insert("broker-1".into(), Err("connection refused".into()));
        let Gate::Wait(why) = gate(&[A.into()], &snapshot(), &seen) else {
            panic!("expected a wait");
        };
        assert_eq!(why, "cannot ask broker broker-1: connection refused");
        seen.brokers.clear();
        assert!(
            matches!(gate(&[A.into()], &snapshot(), &seen), Gate::Wait(w) if w.starts_with("no broker pod"))
        );
    }

    #[test]
    fn only_tables_the_wave_serves_are_sampled_as_often_as_they_have_replicas() {
        let snapshot = snapshot();
        assert_eq!(
            samples(&snapshot, &[A.into()]),
            [Sample {
                table: "t_OFFLINE".into(),
                times: 2
            }]
        );
        assert!(samples(&snapshot, &["Server_c_8098".into()]).is_empty());
    }
}

//! When a server pod counts as Ready: its readiness gate ([`ROUTABLE_CONDITION`]) is
//! set once the Pinot process is ready *and* every broker routes queries to it,
//! decided purely from the brokers' routing.
//!
//! Pinot's own readiness turns OK a little before brokers route to a restarted server
//! (apache/pinot#16565). Gating `Ready` on the brokers closes that window for
//! everything that waits on `Ready`: the rollout's next wave, and a node drain, whose
//! disruption budget counts Ready pods.
//!
//! [`ROUTABLE_CONDITION`]: crate::cluster::names::ROUTABLE_CONDITION

use crate::cluster::component::Component;
use crate::cluster::names::instance_id;
use crate::cluster::observe::pinot::{Snapshot, serving};
use crate::cluster::observe::routing::Routing;
use crate::cluster::plan::Seen;
use crate::cluster::plan::health::summarize;

/// A server pod whose Pinot process is ready and whose gate is not set yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub pod: String,
    pub instance: String,
}

/// Every such pod of the cluster.
pub fn pending(seen: &Seen<'_>) -> Vec<Pending> {
    let mut out = Vec::new();
    for pool in seen.desired.pools.iter() {
        let (Some(port), Some(observed)) =
            (pool.instance_port, seen.observed.pool(pool.workload()))
        else {
            continue;
        };
        if pool.id.component != Component::Server {
            continue;
        }
        for pod in observed.pods.iter() {
            if pod.serving && !pod.routable && !pod.terminating {
                out.push(Pending {
                    pod: pod.name.clone(),
                    instance: instance_id(&pool.id, seen.naming, &pod.name, port),
                });
            }
        }
    }
    out
}

/// The pending pods every broker routes to (their gate can be set), and what the
/// others still wait for.
pub fn confirmed(
    pending: &[Pending],
    snapshot: &Snapshot,
    routing: &Routing,
) -> (Vec<String>, Vec<String>) {
    let (mut ready, mut waiting) = (Vec::new(), Vec::new());
    for p in pending {
        match why_not_routed(&p.instance, snapshot, routing) {
            None => ready.push(p.pod.clone()),
            Some(why) => waiting.push(format!("{}: {why}", p.pod)),
        }
    }
    (ready, waiting)
}

/// Why brokers do not route to `instance` yet, if they do not.
fn why_not_routed(instance: &str, snapshot: &Snapshot, routing: &Routing) -> Option<String> {
    if !snapshot.instances.contains(instance) {
        return Some("not registered in Pinot yet".into());
    }
    if routing.disabled.contains(instance) {
        return Some("queries still disabled".into());
    }
    let hosted: Vec<String> = (snapshot.tables.iter())
        .filter(|t| (t.external.values()).any(|s| s.get(instance).is_some_and(|s| serving(s))))
        .map(|t| t.table_type.table_name_with_type(&t.name))
        .collect();
    if hosted.is_empty() {
        return None; // nothing to route to it yet
    }
    if routing.brokers.is_empty() {
        return Some("no broker pod is ready to ask".into());
    }
    let mut problems = Vec::new();
    for (broker, routes) in &routing.brokers {
        let routes = match routes {
            Ok(routes) => routes,
            Err(why) => {
                problems.push(format!("cannot ask broker {broker}: {why}"));
                continue;
            }
        };
        for table in &hosted {
            let routed = (routes.get(table).into_iter())
                .flat_map(|segments| segments.values())
                .any(|instances| instances.contains(instance));
            if !routed {
                problems.push(format!("broker {broker} does not route {table} to it yet"));
            }
        }
    }
    (!problems.is_empty()).then(|| summarize(problems))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use pinot_client::{SegmentStates, TableType};

    use super::*;
    use crate::cluster::observe::pinot::TableStates;
    use crate::cluster::observe::routing::TableRoutes;

    const A: &str = "Server_a_8098";
    const B: &str = "Server_b_8098";

    fn snapshot() -> Snapshot {
        let mut states = SegmentStates::new();
        for instance in [A, B] {
            states
                .entry("s0".into())
                .or_default()
                .insert(instance.into(), "ONLINE".into());
        }
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

    fn routing(routed_to: &[&str]) -> Routing {
        let segment = BTreeMap::from([(
            "s0".to_string(),
            routed_to
                .iter()
                .map(|i| i.to_string())
                .collect::<BTreeSet<_>>(),
        )]);
        Routing {
            disabled: BTreeSet::new(),
            brokers: BTreeMap::from([(
                "broker-0".to_string(),
                Ok(TableRoutes::from([("t_OFFLINE".to_string(), segment)])),
            )]),
        }
    }

    fn a() -> Vec<Pending> {
        vec![Pending {
            pod: "server-a-0".into(),
            instance: A.into(),
        }]
    }

    #[test]
    fn a_pod_every_broker_routes_to_is_confirmed() {
        let (ready, waiting) = confirmed(&a(), &snapshot(), &routing(&[A, B]));
        assert_eq!((ready, waiting.len()), (vec!["server-a-0".to_string()], 0));
    }

    #[test]
    fn a_pod_a_broker_does_not_route_to_waits_and_says_which() {
        let (ready, waiting) = confirmed(&a(), &snapshot(), &routing(&[B]));
        assert!(ready.is_empty());
        assert_eq!(
            waiting,
            ["server-a-0: broker broker-0 does not route t_OFFLINE to it yet"]
        );
    }

    #[test]
    fn a_pod_hosting_nothing_is_confirmed_without_asking() {
        let mut nothing = snapshot();
        nothing.tables.clear();
        let mut seen = routing(&[]);
        seen.brokers.clear();
        assert_eq!(confirmed(&a(), &nothing, &seen).0, ["server-a-0"]);
    }

    #[test]
    fn disabled_queries_or_no_broker_wait() {
        let mut seen = routing(&[A]);
        seen.disabled.insert(A.into());
        assert_eq!(
            confirmed(&a(), &snapshot(), &seen).1,
            ["server-a-0: queries still disabled"]
        );
        seen.disabled.clear();
        seen.brokers.clear();
        assert_eq!(
            confirmed(&a(), &snapshot(), &seen).1,
            ["server-a-0: no broker pod is ready to ask"]
        );
    }
}

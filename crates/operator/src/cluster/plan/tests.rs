//! What one reconcile does, rule by rule.

use std::collections::BTreeMap;

use api::cluster::PinotChecks;
use pinot_client::TableType;

use super::*;
use crate::cluster::desired::tests::{NAMING, desired};
use crate::cluster::observe::pinot::{Snapshot, TableStates};
use crate::cluster::observe::routing::Routing;
use crate::cluster::observe::workloads::{ObservedPod, ObservedPool, ObservedSet, running};

/// Pinot knows every instance of `observed` and holds no segment.
fn healthy(desired: &DesiredCluster, observed: &Observed) -> PinotView {
    let instances = desired
        .pools
        .iter()
        .flat_map(|p| health::pool_instances(p, observed, &NAMING))
        .collect();
    PinotView::Reachable(Snapshot {
        instances,
        tables: vec![],
    })
}

fn plan_with(
    desired: &DesiredCluster,
    observed: &Observed,
    view: &PinotView,
    policy: Policy,
) -> Plan {
    plan(&Seen {
        desired,
        observed,
        view,
        policy: &policy,
        naming: &NAMING,
        routing: None,
        quorum: None,
        now: 0,
    })
}

fn plan_routed(
    desired: &DesiredCluster,
    observed: &Observed,
    view: &PinotView,
    routing: &Routing,
) -> Plan {
    plan(&Seen {
        desired,
        observed,
        view,
        policy: &Policy::default(),
        naming: &NAMING,
        routing: Some(routing),
        quorum: None,
        now: 0,
    })
}

fn applied_pools(plan: &Plan) -> usize {
    plan.actions
        .iter()
        .filter(|a| matches!(a, Action::ApplyPool(_)))
        .count()
}

fn hot() -> PoolId {
    desired()
        .pools
        .iter()
        .find(|p| p.id.pool == "hot")
        .unwrap()
        .id
        .clone()
}

/// The hot server pool runs 5 pods where the spec wants 3 (its set still says 5).
fn shrinking_hot(desired: &DesiredCluster) -> Observed {
    let mut observed = running(desired, "x");
    let pool = observed.pools.get_mut("analytics-server-hot").unwrap();
    pool.set.as_mut().unwrap().replicas = 5;
    for ordinal in 3..5 {
        pool.pods.push(ObservedPod {
            name: format!("analytics-server-hot-{ordinal}"),
            ordinal,
            revision: Some("r2".into()),
            ready: true,
            ..Default::default()
        });
    }
    observed
}

fn hot_instance(ordinal: i32) -> String {
    format!(
        "Server_analytics-server-hot-{ordinal}.analytics-server-hot.data.svc.cluster.local_8098"
    )
}

#[test]
fn a_settled_cluster_reasserts_every_pool_and_keeps_pinot_tidy() {
    let d = desired();
    let observed = running(&d, "x");
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), Policy::default());
    assert_eq!(plan.step, Step::Settled);
    assert_eq!(plan.actions[0], Action::ApplyShared);
    assert_eq!(applied_pools(&plan), d.pools.len());
    assert!(matches!(plan.upkeep[0], Upkeep::SyncInstances(ref wanted) if !wanted.is_empty()));
    assert_eq!(plan.upkeep[1], Upkeep::ForgetDeparted(vec![]));
    assert_eq!(plan.blocked, None);
}

#[test]
fn a_paused_cluster_writes_nothing_and_asks_pinot_nothing() {
    let d = desired();
    let mut observed = running(&d, "x");
    let paused = Policy {
        paused: true,
        ..Policy::default()
    };
    let view = healthy(&d, &observed);
    let settled = plan_with(&d, &observed, &view, paused);
    assert!(
        settled.actions.is_empty() && settled.upkeep.is_empty(),
        "{settled:?}"
    );
    observed.pools.clear();
    let held = plan_with(&d, &observed, &view, paused);
    assert!(matches!(held.step, Step::Paused(_)), "{:?}", held.step);
    assert!(
        held.actions.is_empty() && held.upkeep.is_empty(),
        "{held:?}"
    );
}

#[test]
fn a_stopped_cluster_forgets_no_instance() {
    let d = desired();
    let observed = running(&d, "x");
    let stopped = Policy {
        stopped: true,
        ..Policy::default()
    };
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), stopped);
    assert!(
        !plan
            .upkeep
            .iter()
            .any(|u| matches!(u, Upkeep::ForgetDeparted(_))),
        "{plan:?}"
    );
}

#[test]
fn an_unreachable_pinot_gets_no_upkeep_and_a_note_only_when_checks_are_skipped() {
    let d = desired();
    let observed = running(&d, "x");
    let view = PinotView::Unreachable("dns error".into());
    let skip = Policy {
        pinot_checks: PinotChecks::SkipWhenUnreachable,
        ..Policy::default()
    };
    let skipped = plan_with(&d, &observed, &view, skip);
    assert!(skipped.upkeep.is_empty());
    assert_eq!(
        skipped.notes,
        [Note::PinotChecksSkipped("dns error".into())]
    );
    let required = plan_with(&d, &observed, &view, Policy::default());
    assert!(required.notes.is_empty(), "{:?}", required.notes);
    assert!(
        matches!(required.step, Step::Wait { .. }),
        "{:?}",
        required.step
    );
}

#[test]
fn a_server_scale_down_without_pinot_is_blocked_and_shrinks_nothing() {
    let d = desired();
    let observed = shrinking_hot(&d);
    let view = PinotView::Unreachable("connection refused".into());
    let skip = Policy {
        pinot_checks: PinotChecks::SkipWhenUnreachable,
        ..Policy::default()
    };
    let plan = plan_with(&d, &observed, &view, skip);
    assert!(
        matches!(plan.step, Step::ScaleDown { from: 5, to: 3, .. }),
        "{:?}",
        plan.step
    );
    assert_eq!(plan.actions, [Action::ApplyShared]);
    let Some(Blocked::ScaleDown(blocked)) = plan.blocked else {
        panic!("blocked: {:?}", plan.blocked)
    };
    assert!(blocked.contains(&hot_instance(4)), "{blocked}");
}

#[test]
fn a_server_scale_down_untags_then_shrinks_once_no_segment_is_left() {
    let d = desired();
    let observed = shrinking_hot(&d);
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), Policy::default());
    let leaving = vec![hot_instance(3), hot_instance(4)];
    assert_eq!(
        plan.actions,
        [
            Action::ApplyShared,
            Action::UntagLeaving(leaving),
            Action::ApplyPool(hot())
        ]
    );
}

#[test]
fn a_server_scale_down_rebalances_what_the_ideal_state_still_places_there() {
    let d = desired();
    let observed = shrinking_hot(&d);
    let PinotView::Reachable(mut snapshot) = healthy(&d, &observed) else {
        unreachable!()
    };
    let table = |name: &str, ideal: bool| {
        let placed = BTreeMap::from([(
            "s".to_owned(),
            BTreeMap::from([(hot_instance(4), "ONLINE".to_owned())]),
        )]);
        TableStates {
            name: name.into(),
            table_type: TableType::Offline,
            ideal: if ideal {
                placed.clone()
            } else {
                BTreeMap::new()
            },
            external: placed,
        }
    };
    // `moving` is under way: only its external view still holds the segment.
    snapshot.tables = vec![table("orders", true), table("moving", false)];
    let plan = plan_with(
        &d,
        &observed,
        &PinotView::Reachable(snapshot),
        Policy::default(),
    );
    assert_eq!(
        plan.actions[2],
        Action::Rebalance(vec![("orders".into(), TableType::Offline)])
    );
    assert_eq!(
        applied_pools(&plan),
        0,
        "the pool shrinks only when nothing is left"
    );
    assert_eq!(
        plan.notes,
        [Note::MovingSegments(vec![
            "orders_OFFLINE".into(),
            "moving_OFFLINE".into()
        ])]
    );
}

#[test]
fn a_restart_deletes_the_planned_pods() {
    let d = desired();
    let mut observed = running(&d, "x");
    let controller = observed.pools.get_mut("analytics-controller-main").unwrap();
    controller.set.as_mut().unwrap().update_revision = Some("r3".into());
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), Policy::default());
    let Step::Restart { pool, pods } = &plan.step else {
        panic!("{:?}", plan.step)
    };
    assert_eq!(
        plan.actions[1],
        Action::DeletePods {
            pool: pool.clone(),
            pods: pods.clone()
        }
    );
}

#[test]
fn a_pod_whose_volume_grows_only_on_remount_is_restarted_alone() {
    let d = desired();
    let mut observed = running(&d, "x");
    let controller = observed.pools.get_mut("analytics-controller-main").unwrap();
    controller.pods[1].awaits_resize = true;
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), Policy::default());
    let Step::Restart { pool, pods } = &plan.step else {
        panic!("{:?}", plan.step)
    };
    assert_eq!(pool.to_string(), "controller/main");
    let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["analytics-controller-main-1"]);
}

/// Hot servers on a new revision, with REALTIME segment `c__0__1` on hot-0 (and on a
/// cold server) in `state`.
fn restarting_hot_with_consuming(state: &str) -> (DesiredCluster, Observed, PinotView) {
    let d = desired();
    let mut observed = running(&d, "x");
    let hot = observed.pools.get_mut("analytics-server-hot").unwrap();
    hot.set.as_mut().unwrap().update_revision = Some("r3".into());
    let PinotView::Reachable(mut snapshot) = healthy(&d, &observed) else {
        unreachable!()
    };
    let cold = "Server_analytics-server-cold-0.analytics-server-cold.data.svc.cluster.local_8098";
    let placed = BTreeMap::from([(
        "c__0__1".to_owned(),
        BTreeMap::from([
            (hot_instance(0), state.to_owned()),
            (cold.to_owned(), state.to_owned()),
        ]),
    )]);
    snapshot.tables = vec![TableStates {
        name: "clicks".into(),
        table_type: TableType::Realtime,
        ideal: placed.clone(),
        external: placed,
    }];
    (d, observed, PinotView::Reachable(snapshot))
}

fn deletes_pods(plan: &Plan) -> bool {
    (plan.actions.iter()).any(|a| matches!(a, Action::DeletePods { .. }))
}

#[test]
fn a_server_wave_force_commits_what_it_consumes_then_waits_for_the_commit() {
    let committing = Policy {
        force_commit: true,
        ..Policy::default()
    };
    let (d, mut observed, view) = restarting_hot_with_consuming("CONSUMING");
    let ask = plan_with(&d, &observed, &view, committing);
    let marks = vec![PodMarks {
        pod: "analytics-server-hot-0".to_owned(),
        annotations: [(FORCE_COMMIT_ANNOTATION, "0 c__0__1".to_owned())].into(),
    }];
    assert_eq!(
        ask.actions[1..],
        [Action::ForceCommit {
            tables: vec!["clicks".into()],
            marks
        }]
    );
    let hot = observed.pools.get_mut("analytics-server-hot").unwrap();
    hot.pods[0].force_commit = Some("0 c__0__1".into());
    let wait = plan_with(&d, &observed, &view, committing);
    assert!(!deletes_pods(&wait), "{:?}", wait.actions);
    let said: Vec<String> = wait.notes.iter().map(ToString::to_string).collect();
    assert!(
        said.iter()
            .any(|n| n.contains("waiting for c__0__1 to commit")),
        "{said:?}"
    );
    let (_, _, committed) = restarting_hot_with_consuming("ONLINE");
    assert!(deletes_pods(&plan_with(
        &d, &observed, &committed, committing
    )));
    let (_, _, view) = restarting_hot_with_consuming("CONSUMING");
    assert!(deletes_pods(&plan_with(
        &d,
        &observed,
        &view,
        Policy::default()
    )));
}

#[test]
fn statefulsets_of_removed_pools_are_pointed_out() {
    let d = desired();
    let mut observed = running(&d, "x");
    assert_eq!(notes::leftover(&d, &observed), None);
    let gone = ObservedPool {
        set: Some(ObservedSet::default()),
        pods: vec![],
    };
    observed.pools.insert("analytics-server-warm".into(), gone);
    let note = notes::leftover(&d, &observed).unwrap().to_string();
    assert!(note.contains("analytics-server-warm"), "{note}");
}

#[test]
fn pinot_is_asked_once_a_controller_pod_is_ready_and_never_while_stopped() {
    let d = desired();
    let mut observed = running(&d, "x");
    assert_eq!(why_not_ask_pinot(&d, &observed, false), None);
    assert!(why_not_ask_pinot(&d, &observed, true).is_some());
    for pod in &mut observed
        .pools
        .get_mut("analytics-controller-main")
        .unwrap()
        .pods
    {
        pod.ready = false;
    }
    assert!(why_not_ask_pinot(&d, &observed, false).is_some());
}

#[test]
fn requeues_follow_the_step() {
    let resync = Duration::from_secs(60);
    let wait = Step::Wait {
        pool: hot(),
        why: rollout::Waiting::StatefulSet,
    };
    let shrink = Step::ScaleDown {
        pool: hot(),
        from: 5,
        to: 3,
    };
    assert_eq!(requeue_after(&Step::Settled, false, resync), resync);
    assert_eq!(requeue_after(&wait, false, resync), BUSY_REQUEUE);
    assert_eq!(requeue_after(&shrink, false, resync), DRAIN_REQUEUE);
    assert_eq!(requeue_after(&Step::Settled, true, resync), DRAIN_REQUEUE);
}

/// The hot server pool's pods are all on an old revision.
fn rolling_hot(desired: &DesiredCluster) -> Observed {
    let mut observed = running(desired, "x");
    let pool = observed.pools.get_mut("analytics-server-hot").unwrap();
    pool.set.as_mut().unwrap().update_revision = Some("r3".into());
    observed
}

/// What a broker that routes nothing of the (segment-less) cluster says.
fn broker_routes_nothing(disabled: &[String]) -> Routing {
    Routing {
        disabled: disabled.iter().cloned().collect(),
        brokers: BTreeMap::from([("analytics-broker-default-0".into(), Ok(BTreeMap::new()))]),
    }
}

#[test]
fn a_server_restart_disables_queries_before_deleting_anything() {
    let d = desired();
    let observed = rolling_hot(&d);
    let view = healthy(&d, &observed);
    let step = step(&Seen {
        desired: &d,
        observed: &observed,
        view: &view,
        policy: &Policy::default(),
        naming: &NAMING,
        routing: None,
        quorum: None,
        now: 0,
    });
    let Step::Restart { pool, pods } = &step else {
        panic!("{step:?}")
    };
    assert_eq!(*pool, hot());
    let wave: Vec<String> = (pods.iter())
        .map(|p| hot_instance(crate::cluster::names::ordinal(&p.name).unwrap()))
        .collect();

    let first = plan_routed(&d, &observed, &view, &broker_routes_nothing(&[]));
    assert_eq!(first.actions[1..], [Action::DisableQueries(wave.clone())]);
    assert!(first.notes.iter().any(|n| matches!(n, Note::Quiescing(_))));

    let then = plan_routed(&d, &observed, &view, &broker_routes_nothing(&wave));
    assert!(
        matches!(then.actions[1], Action::DeletePods { .. }),
        "{:?}",
        then.actions
    );
    let Upkeep::SyncInstances(wanted) = &then.upkeep[0] else {
        panic!("{:?}", then.upkeep)
    };
    let disabled: Vec<&String> = (wanted.iter())
        .filter(|w| w.queries_disabled == Some(true))
        .map(|w| &w.id)
        .collect();
    assert_eq!(
        disabled,
        wave.iter().collect::<Vec<_>>(),
        "kept off until deleted"
    );
}

#[test]
fn a_server_restart_with_no_broker_to_ask_waits_and_says_so() {
    let d = desired();
    let observed = rolling_hot(&d);
    let view = healthy(&d, &observed);
    let wave: Vec<String> = (0..3).map(hot_instance).collect();
    let routing = Routing {
        disabled: wave.iter().cloned().collect(),
        brokers: BTreeMap::new(),
    };
    let plan = plan_routed(&d, &observed, &view, &routing);
    assert_eq!(plan.actions, [Action::ApplyShared]);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.to_string().contains("no broker pod is ready")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn a_restart_that_would_strand_a_consuming_segment_waits_and_its_server_keeps_serving() {
    let d = desired();
    let observed = rolling_hot(&d);
    let PinotView::Reachable(mut snapshot) = healthy(&d, &observed) else {
        unreachable!()
    };
    let (last, other) = (
        hot_instance(2),
        "Server_analytics-server-cold-0_8098".to_owned(),
    );
    let states = |entries: &[(&String, &str)]| {
        let placement = (entries.iter()).map(|(i, s)| (i.to_string(), s.to_string()));
        BTreeMap::from([("clicks__0__7".to_owned(), placement.collect())])
    };
    snapshot.tables.push(TableStates {
        name: "clicks".into(),
        table_type: TableType::Realtime,
        ideal: states(&[(&last, "CONSUMING"), (&other, "CONSUMING")]),
        external: states(&[(&last, "CONSUMING"), (&other, "OFFLINE")]),
    });
    let view = PinotView::Reachable(snapshot);
    let plan = plan_routed(
        &d,
        &observed,
        &view,
        &broker_routes_nothing(std::slice::from_ref(&last)),
    );

    let Step::Wait { pool, why } = &plan.step else {
        panic!("{:?}", plan.step)
    };
    assert_eq!(*pool, hot());
    assert!(plan.step.message().contains(&format!(
        "clicks_REALTIME segment clicks__0__7 is served only by {last} while its replica on {other} is OFFLINE"
    )), "{why:?}");
    assert_eq!(plan.actions, [Action::ApplyShared]);
    let Upkeep::SyncInstances(wanted) = &plan.upkeep[0] else {
        panic!("{:?}", plan.upkeep)
    };
    let held = wanted.iter().find(|w| w.id == last).unwrap();
    assert_eq!(held.queries_disabled, Some(false), "serves while it waits");
}

/// A settled cluster whose hot-0 holds REALTIME segment `c__0__1` in ERROR.
fn error_on_hot_0() -> (DesiredCluster, Observed, PinotView) {
    let d = desired();
    let observed = running(&d, "x");
    let PinotView::Reachable(mut snapshot) = healthy(&d, &observed) else {
        unreachable!()
    };
    let placed = |state: &str| {
        BTreeMap::from([(
            "c__0__1".to_owned(),
            BTreeMap::from([(hot_instance(0), state.to_owned())]),
        )])
    };
    snapshot.tables = vec![TableStates {
        name: "clicks".into(),
        table_type: TableType::Realtime,
        ideal: placed("CONSUMING"),
        external: placed("ERROR"),
    }];
    (d, observed, PinotView::Reachable(snapshot))
}

#[test]
fn a_segment_in_error_is_reset_once_and_then_reported() {
    let (d, mut observed, view) = error_on_hot_0();
    let plan = plan_with(&d, &observed, &view, Policy::default());
    let Some(Upkeep::ResetSegments { resets, marks }) = plan.upkeep.last() else {
        panic!("{:?}", plan.upkeep)
    };
    assert_eq!(resets.len(), 1);
    assert_eq!(marks[0].annotations[RESET_ANNOTATION], "c__0__1");
    let hot = observed.pools.get_mut("analytics-server-hot").unwrap();
    hot.pods[0].segments_reset = Some("c__0__1".into());
    let again = plan_with(&d, &observed, &view, Policy::default());
    let resetting = |p: &Plan| (p.upkeep.iter()).any(|u| matches!(u, Upkeep::ResetSegments { .. }));
    assert!(!resetting(&again), "{:?}", again.upkeep);
    assert!(
        matches!(&again.notes[..], [Note::StillInError(s)] if s[0].contains("c__0__1")),
        "{:?}",
        again.notes
    );
    let paused = Policy {
        paused: true,
        ..Policy::default()
    };
    observed = running(&d, "x");
    assert!(!resetting(&plan_with(&d, &observed, &view, paused)));
}

#[test]
fn a_larger_volume_expands_the_claims_then_orphans_the_statefulset() {
    use crate::cluster::observe::workloads::ObservedClaim;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    let d = desired();
    let mut observed = running(&d, "x");
    let observed_hot = observed.pools.get_mut("analytics-server-hot").unwrap();
    let set = observed_hot.set.as_mut().unwrap();
    set.applied_hash = Some("older".into());
    let pool = d.pools.iter().find(|p| p.id == hot()).unwrap();
    let template = &pool
        .statefulset
        .spec
        .as_ref()
        .unwrap()
        .volume_claim_templates
        .as_ref()
        .unwrap()[0];
    let mut smaller = ObservedClaim::of(template);
    smaller.size = Some(Quantity("1Gi".into()));
    set.claims = [("data".to_owned(), smaller)].into();
    let plan = plan_with(&d, &observed, &healthy(&d, &observed), Policy::default());
    assert_eq!(plan.step, Step::Update(hot()));
    assert!(
        matches!(&plan.actions[1..], [Action::ExpandClaims(claims), Action::OrphanStatefulSet(id)]
            if claims.len() == 3 && *id == hot()),
        "{:?}",
        plan.actions
    );
}

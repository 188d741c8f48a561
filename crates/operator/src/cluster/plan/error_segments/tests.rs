use pinot_client::{SegmentStates, TableType};

use super::*;
use crate::cluster::desired::tests::{NAMING, desired};
use crate::cluster::observe::pinot::TableStates;
use crate::cluster::observe::workloads::running;

const POD: &str = "analytics-server-hot-0";

fn instance() -> String {
    "Server_analytics-server-hot-0.analytics-server-hot.data.svc.cluster.local_8098".to_owned()
}

/// `clicks` with segment `s0` wanted CONSUMING on hot-0, which holds it as `held`.
fn snapshot(held: &str) -> Snapshot {
    let placed = |state: &str| {
        SegmentStates::from([(
            "s0".to_owned(),
            [(instance(), state.to_owned())].into_iter().collect(),
        )])
    };
    Snapshot {
        instances: [instance()].into(),
        tables: vec![TableStates {
            name: "clicks".into(),
            table_type: TableType::Realtime,
            ideal: placed("CONSUMING"),
            external: placed(held),
        }],
    }
}

fn remedy_for(held: &str, reset_before: Option<&str>) -> Remedy {
    let d = desired();
    let mut observed = running(&d, "x");
    let pool = observed.pools.get_mut("analytics-server-hot").unwrap();
    pool.pods[0].segments_reset = reset_before.map(str::to_owned);
    remedy(&d.pools, &observed, &snapshot(held), &NAMING)
}

#[test]
fn a_segment_in_error_is_reset_and_the_pod_remembers_it() {
    let remedy = remedy_for("ERROR", None);
    let reset = Reset {
        table: "clicks_REALTIME".into(),
        segment: "s0".into(),
        instance: instance(),
    };
    assert_eq!(remedy.resets, vec![reset]);
    assert_eq!(remedy.marks, vec![(POD.to_owned(), "s0".to_owned())]);
    assert!(remedy.still.is_empty());
}

#[test]
fn a_segment_reset_once_on_this_pod_is_reported_not_reset_again() {
    let remedy = remedy_for("ERROR", Some("s9 s0"));
    assert!(remedy.resets.is_empty() && remedy.marks.is_empty());
    let expected = format!("clicks_REALTIME segment s0 on {}", instance());
    assert_eq!(remedy.still, vec![expected]);
}

#[test]
fn a_new_error_adds_to_the_record() {
    let remedy = remedy_for("ERROR", Some("s9"));
    assert_eq!(remedy.marks, vec![(POD.to_owned(), "s0 s9".to_owned())]);
}

#[test]
fn healthy_or_loading_segments_are_left_alone() {
    for held in ["CONSUMING", "OFFLINE", "ONLINE"] {
        assert_eq!(remedy_for(held, None), Remedy::default(), "{held}");
    }
}

#[test]
fn a_server_whose_process_is_not_ready_is_not_touched() {
    let d = desired();
    let mut observed = running(&d, "x");
    let pool = observed.pools.get_mut("analytics-server-hot").unwrap();
    pool.pods[0].serving = false;
    let remedy = remedy(&d.pools, &observed, &snapshot("ERROR"), &NAMING);
    assert_eq!(remedy, Remedy::default());
}

//! Segments in ERROR on a running server, reset once per pod, decided purely.
//!
//! A segment Pinot failed to load stays ERROR until someone resets it, and a server
//! pool with one is never healthy, so a rollout waits on it for good. On 0.11 this
//! happens after a restart: a CI run of the real-pod test had a consuming segment,
//! created while pool `b` restarted, go ERROR on one server (0.11's
//! `RealtimeTableDataManager.addSegment` found no ZooKeeper metadata for it yet) and
//! the rollout waited 15 min. A reset (`POST /segments/{table}/{segment}/reset`) makes
//! the server load it again.
//!
//! The operator resets such a segment once per pod: each reset is recorded on the
//! pod ([`crate::cluster::names::RESET_ANNOTATION`]), so a segment that fails again
//! is not reset in a loop but reported ([`Remedy::still`]) for a person to look at the
//! server's log. A new pod (a restart, a reschedule) starts without the record.
//! Only pods whose Pinot process is ready are looked at: a starting server's
//! segments are not loaded yet.

use std::collections::BTreeSet;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredPool;
use crate::cluster::names::{Naming, instance_id};
use crate::cluster::observe::pinot::{Snapshot, serving};
use crate::cluster::observe::workloads::Observed;

/// One segment to reset on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// With its type, e.g. `clicks_REALTIME`.
    pub table: String,
    pub segment: String,
    pub instance: String,
}

/// What to do about the ERROR segments of a cluster's servers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Remedy {
    pub resets: Vec<Reset>,
    /// Each pod's record after the resets: (pod, annotation value).
    pub marks: Vec<(String, String)>,
    /// Segments still in ERROR after their reset on this pod, as `<table> segment
    /// <s> on <instance>`.
    pub still: Vec<String>,
}

/// The remedy for every server pod of `pools` whose Pinot process is ready.
pub fn remedy(
    pools: &[DesiredPool],
    observed: &Observed,
    snapshot: &Snapshot,
    naming: &Naming<'_>,
) -> Remedy {
    let mut remedy = Remedy::default();
    let servers = pools.iter().filter(|p| p.id.component == Component::Server);
    for pool in servers {
        let (Some(port), Some(seen)) = (pool.instance_port, observed.pool(pool.workload())) else {
            continue;
        };
        for pod in seen.pods.iter().filter(|p| p.serving && !p.terminating) {
            let instance = instance_id(&pool.id, naming, &pod.name, port);
            let done = record(pod.segments_reset.as_deref());
            let errors = in_error(snapshot, &instance);
            let (again, fresh): (Vec<_>, Vec<_>) =
                errors.into_iter().partition(|r| done.contains(&r.segment));
            remedy.still.extend(again.iter().map(Reset::describe));
            if fresh.is_empty() {
                continue;
            }
            let mut mark = done;
            mark.extend(fresh.iter().map(|r| r.segment.clone()));
            remedy.marks.push((pod.name.clone(), render(&mark)));
            remedy.resets.extend(fresh);
        }
    }
    remedy
}

impl Reset {
    pub fn describe(&self) -> String {
        format!(
            "{} segment {} on {}",
            self.table, self.segment, self.instance
        )
    }
}

/// Segments the ideal state wants served by `instance` that it holds in ERROR.
fn in_error(snapshot: &Snapshot, instance: &str) -> Vec<Reset> {
    let mut found = vec![];
    for table in &snapshot.tables {
        for (segment, placement) in &table.ideal {
            let wanted = placement.get(instance).is_some_and(|s| serving(s));
            let state = table.external.get(segment).and_then(|s| s.get(instance));
            if wanted && state.is_some_and(|s| s == "ERROR") {
                found.push(Reset {
                    table: table.table_type.table_name_with_type(&table.name),
                    segment: segment.clone(),
                    instance: instance.to_owned(),
                });
            }
        }
    }
    found
}

fn record(text: Option<&str>) -> BTreeSet<String> {
    text.map_or_else(BTreeSet::new, |t| {
        t.split_whitespace().map(str::to_owned).collect()
    })
}

fn render(segments: &BTreeSet<String>) -> String {
    segments.iter().cloned().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;

//! Facts a reconcile adds to the `Progressing` message besides its step.

use std::fmt;

use crate::cluster::desired::{DesiredCluster, DesiredPool};
use crate::cluster::observe::workloads::Observed;

#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Pinot could not be asked and the spec lets the rollout go on without it.
    PinotChecksSkipped(String),
    /// StatefulSets no pool of the spec describes, left running.
    LeftoverStatefulSets(Vec<String>),
    /// A scale-down waits while Pinot moves these tables' segments.
    MovingSegments(Vec<String>),
    /// A `PoolByPool` server rollout restarts this pool one pod at a time (why).
    OnePodAtATime {
        pool: String,
        why: String,
    },
    /// Server pods of a restart wait until the brokers route around them (what is
    /// pending).
    Quiescing(String),
    /// Segments a force-commit did not commit in time; the restart went on without.
    CommitGivenUp(Vec<String>),
    /// Server pods whose Pinot process is ready but which not every broker routes to
    /// yet (what each waits for); they are not Ready until then.
    NotRoutableYet(String),
    /// Instances whose tags, Pinot pools or `queriesDisabled` were set.
    Tagged(Vec<String>),
    TaggingFailed(String),
    /// Instances a finished scale-down left behind, dropped from Pinot.
    DroppedDeparted(Vec<String>),
    /// Segments in ERROR the operator reset (`<table> segment <s> on <instance>`).
    SegmentsReset(Vec<String>),
    ResetFailed(String),
    /// Segments still in ERROR after the operator reset them once on their pod.
    StillInError(Vec<String>),
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::PinotChecksSkipped(why) => write!(
                f,
                "Pinot health checks skipped (instances alive, segments ONLINE): {why}"
            ),
            Note::LeftoverStatefulSets(sets) => write!(
                f,
                "StatefulSets no longer in the spec are left as they are: {} (delete them to remove those pools)",
                sets.join(", ")
            ),
            Note::MovingSegments(tables) => write!(
                f,
                "moving segments of {} off the leaving servers",
                tables.join(", ")
            ),
            Note::OnePodAtATime { pool, why } => {
                write!(f, "{pool} restarts one pod at a time: {why}")
            }
            Note::Quiescing(what) => write!(f, "before the restart: {what}"),
            Note::CommitGivenUp(segments) => write!(
                f,
                "force-commit of {} not done after {} s: restarting anyway (they are consumed again from their start offsets)",
                segments.join(", "),
                crate::cluster::plan::force_commit::PATIENCE
            ),
            Note::NotRoutableYet(what) => write!(f, "not routed to yet: {what}"),
            Note::Tagged(ids) => write!(f, "updated instances {}", ids.join(", ")),
            Note::TaggingFailed(why) => write!(f, "tagging instances failed: {why}"),
            Note::DroppedDeparted(ids) => {
                write!(f, "dropped departed instances {}", ids.join(", "))
            }
            Note::SegmentsReset(segments) => {
                write!(f, "reset segments in ERROR: {}", segments.join("; "))
            }
            Note::ResetFailed(why) => write!(f, "resetting segments in ERROR failed: {why}"),
            Note::StillInError(segments) => write!(
                f,
                "still ERROR after the operator reset them once on this pod (see the server's log; \
                 POST /segments/{{table}}/{{segment}}/reset retries): {}",
                segments.join("; ")
            ),
        }
    }
}

/// StatefulSets of the cluster that no pool of the spec describes (a pool was removed
/// or renamed). They are left running: removing a server pool needs a drain, and
/// deleting workloads is a decision the operator leaves to a person.
pub fn leftover(desired: &DesiredCluster, observed: &Observed) -> Option<Note> {
    let wanted: Vec<&str> = desired.pools.iter().map(DesiredPool::workload).collect();
    let leftover: Vec<String> = observed
        .pools
        .iter()
        .filter(|(name, pool)| pool.set.is_some() && !wanted.contains(&name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    (!leftover.is_empty()).then_some(Note::LeftoverStatefulSets(leftover))
}

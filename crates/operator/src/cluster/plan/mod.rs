//! Everything one reconcile of a deployed cluster does, decided purely from what was
//! built and observed: the rollout [`rollout::Step`], the writes that carry it out,
//! the Pinot upkeep, the notes for status and when to look again. The controller
//! only carries the [`Plan`] out ([`super::act`]).
//!
//! [`rollout`] picks the step, [`health`] turns Pinot's answers into a verdict per
//! pool, [`quiesce`] takes servers out of the brokers' routing before they restart,
//! [`routable`] says when a restarted server is Ready (the brokers route to it again),
//! [`force_commit`] commits their consuming segments first, [`stranding`] holds a
//! restart that would take away a segment's only serving replica,
//! [`drain`] and [`instances`] decide the Pinot side of scale-downs, tags, Pinot pools
//! and `queriesDisabled`.

pub mod drain;
pub mod error_segments;
pub mod force_commit;
pub mod health;
pub mod instances;
pub mod marks;
pub mod notes;
pub mod quiesce;
pub mod rollout;
pub mod routable;
pub mod storage;
pub mod stranding;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use api::cluster::{PinotChecks, ServerRolloutStrategy};
use pinot_client::TableType;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredCluster;
use crate::cluster::names::{FORCE_COMMIT_ANNOTATION, RESET_ANNOTATION};
use crate::cluster::names::{Naming, PoolId};
use crate::cluster::observe::pinot::PinotView;
use crate::cluster::observe::routing::Routing;
use crate::cluster::observe::workloads::Observed;
use crate::cluster::observe::zookeeper::Quorum;
use drain::{DrainProgress, leaving, needs_drain, progress};
use error_segments::Reset;
use force_commit::{Commit, Member};
use instances::{WantedInstance, departed, wanted_instances};
use marks::PodMarks;
pub use notes::Note;
use quiesce::Gate;
use rollout::{PodRef, Policy, Step, Verdict, Waiting, targets};
use storage::{Grow, Resize};

/// Look again this soon while a rollout is under way; watch events usually come first.
pub const BUSY_REQUEUE: Duration = Duration::from_secs(5);
/// Draining waits on Pinot moving segments: no point asking more often.
pub const DRAIN_REQUEUE: Duration = Duration::from_secs(15);

/// What a plan is made from.
pub struct Seen<'a> {
    pub desired: &'a DesiredCluster,
    pub observed: &'a Observed,
    pub view: &'a PinotView,
    pub policy: &'a Policy,
    pub naming: &'a Naming<'a>,
    /// What the brokers route, read when server pods are about to restart
    /// ([`quiesce::wave`]) or wait for their readiness gate ([`routable::pending`]);
    /// `None` otherwise.
    pub routing: Option<&'a Routing>,
    /// Which ZooKeeper member leads, read while an ensemble has members to restart
    /// ([`crate::cluster::observe::zookeeper::members_to_ask`]); `None` otherwise.
    pub quorum: Option<&'a Quorum>,
    /// Unix seconds: how long a force-commit has been waited for.
    pub now: u64,
}

/// A write that carries the step out. Run in order; the first failure ends the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Server-side apply what every pool shares (credentials Secret, ServiceAccount).
    ApplyShared,
    /// Server-side apply a pool's objects.
    ApplyPool(PoolId),
    /// Delete the per-pool PodDisruptionBudget of a server pool (earlier versions
    /// made one; the cluster-wide server budget replaces it).
    DeletePoolPdb(PoolId),
    /// Set the readiness gate of server pods every broker routes to.
    MarkRoutable(Vec<String>),
    /// Delete pods (pinned by uid) so their StatefulSet recreates them.
    DeletePods { pool: PoolId, pods: Vec<PodRef> },
    /// Set `queriesDisabled` on servers about to restart, so brokers route around them.
    DisableQueries(Vec<String>),
    /// Force-commit these REALTIME tables (raw names), then mark the pods whose
    /// consuming segments the commit was for.
    ForceCommit {
        tables: Vec<String>,
        marks: Vec<PodMarks>,
    },
    /// Clear the tags of servers about to leave, so no new segment lands on them.
    UntagLeaving(Vec<String>),
    /// Rebalance tables that still place segments on leaving servers.
    Rebalance(Vec<(String, TableType)>),
    /// Expand the data volume claims of a pool (see [`storage`]).
    ExpandClaims(Vec<Grow>),
    /// Delete a pool's StatefulSet, leaving its pods and claims (orphan propagation),
    /// so the next reconcile re-creates it with new claim templates.
    OrphanStatefulSet(PoolId),
}

/// Pinot-side upkeep, run after the actions whatever their outcome; a failure is a
/// note, not an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Upkeep {
    /// Keep tags, Pinot pools and `queriesDisabled` on the pools' ready instances.
    SyncInstances(Vec<WantedInstance>),
    /// Drop instances a finished scale-down left behind.
    ForgetDeparted(Vec<String>),
    /// Reset segments in ERROR, then record them on their pods (see
    /// [`error_segments`]).
    ResetSegments {
        resets: Vec<Reset>,
        marks: Vec<PodMarks>,
    },
}

/// Everything one reconcile does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub step: Step,
    pub actions: Vec<Action>,
    pub upkeep: Vec<Upkeep>,
    pub notes: Vec<Note>,
    /// Why the step cannot be taken now (reported as `Degraded`).
    pub blocked: Option<Blocked>,
}

/// A step the plan cannot take, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Blocked {
    /// A server pool cannot shrink now (`ScaleDownBlocked`).
    ScaleDown(String),
    /// A pool's volumes cannot change as the spec asks (`StorageChangeRefused`).
    Storage(String),
}

/// The rollout step of this reconcile.
pub fn step(seen: &Seen<'_>) -> Step {
    step_with_verdicts(seen).0
}

/// The step, Pinot's verdict per pool, and the serving servers the step restarts.
fn step_with_verdicts(seen: &Seen<'_>) -> (Step, BTreeMap<PoolId, Verdict>, Vec<Member>) {
    let mut verdicts = health::verdicts(&seen.desired.pools, seen.observed, seen.view, seen.naming);
    if let Some(quorum) = seen.quorum {
        let verdict = match quorum {
            Quorum::Led(pod) => Verdict::Leader(pod.clone()),
            Quorum::Unknown(why) => Verdict::Unknown(why.clone()),
        };
        verdicts.insert(PoolId::zookeeper(), verdict);
    }
    let step = rollout::plan(
        &targets(seen.desired),
        seen.observed,
        &verdicts,
        seen.policy,
    );
    let (step, members) = unless_stranding(step, seen);
    (step, verdicts, members)
}

/// A restart that would leave segments with no serving replica waits instead, its
/// servers serving meanwhile (see [`stranding`]); otherwise the step and the serving
/// servers it restarts ([`quiesce::members`]).
fn unless_stranding(step: Step, seen: &Seen<'_>) -> (Step, Vec<Member>) {
    let members = quiesce::members(&step, seen);
    let PinotView::Reachable(snapshot) = seen.view else {
        return (step, members);
    };
    let stranded = stranding::stranded(&instances(&members), snapshot);
    match step.pool() {
        Some(pool) if !stranded.is_empty() => {
            let why = Waiting::Pinot(health::summarize(stranded));
            let pool = pool.clone();
            (Step::Wait { pool, why }, vec![])
        }
        _ => (step, members),
    }
}

fn instances(members: &[Member]) -> Vec<String> {
    members.iter().map(|m| m.instance.clone()).collect()
}

/// Plans one reconcile.
pub fn plan(seen: &Seen<'_>) -> Plan {
    let (step, verdicts, members) = step_with_verdicts(seen);
    let wave = instances(&members);
    let mut plan = Plan {
        step: step.clone(),
        actions: vec![],
        upkeep: vec![],
        notes: skipped_checks(seen).into_iter().collect(),
        blocked: None,
    };
    plan.notes.extend(one_at_a_time(seen, &step, &verdicts));
    plan.notes
        .extend(notes::leftover(seen.desired, seen.observed));
    // Not a rollout step: even a paused rollout reports restarted servers Ready.
    gate(&mut plan, seen);
    if seen.policy.paused {
        return plan;
    }
    plan.actions.push(Action::ApplyShared);
    take(&mut plan, seen, &step, &members, &wave);
    plan.upkeep = upkeep(seen, &step, &wave);
    reset_errors(&mut plan, seen);
    plan
}

/// The writes of `step`; `members` are the servers it restarts that serve queries, and
/// `wave` their instances.
fn take(plan: &mut Plan, seen: &Seen<'_>, step: &Step, members: &[Member], wave: &[String]) {
    match step {
        Step::Update(id) if let Some(resize) = storage_change(seen, id) => match resize {
            Resize::Recreate(claims) => {
                plan.actions.push(Action::ExpandClaims(claims));
                plan.actions.push(Action::OrphanStatefulSet(id.clone()));
            }
            Resize::Refused(why) => plan.blocked = Some(Blocked::Storage(why)),
        },
        Step::Create(id) | Step::Update(id) => {
            plan.actions.push(Action::ApplyPool(id.clone()));
            // Only when the pool changes (as it does on the upgrade that dropped it),
            // not on every resync.
            if id.component == Component::Server {
                plan.actions.push(Action::DeletePoolPdb(id.clone()));
            }
        }
        Step::Restart { pool, pods } => {
            if committed(plan, seen, members) && quiesced(plan, seen, wave) {
                plan.actions.push(Action::DeletePods {
                    pool: pool.clone(),
                    pods: pods.clone(),
                });
            }
        }
        Step::ScaleDown { pool, from, to } if needs_drain(pool.component) => {
            drain_then_shrink(plan, seen, pool, *from, *to)
        }
        Step::ScaleDown { pool, .. } => plan.actions.push(Action::ApplyPool(pool.clone())),
        // Re-assert every pool: a no-op unless someone edited an object.
        Step::Settled => {
            let pools = seen.desired.pools.iter().map(|p| p.id.clone());
            plan.actions.extend(pools.map(Action::ApplyPool));
        }
        Step::Wait { .. } | Step::Paused(_) => {}
    }
}

/// What updating pool `id` does to its volumes, when it is more than a plain update.
fn storage_change(seen: &Seen<'_>, id: &PoolId) -> Option<Resize> {
    let pool = seen.desired.pools.iter().find(|p| &p.id == id)?;
    let set = seen.observed.pool(pool.workload())?.set.as_ref()?;
    storage::resize(pool, set)
}

/// Sets the readiness gate of the server pods every broker routes to; says what the
/// others wait for. Without Pinot the gate is set only when the spec lets the rollout
/// go on without Pinot's checks (it cannot be confirmed).
fn gate(plan: &mut Plan, seen: &Seen<'_>) {
    let pending = routable::pending(seen);
    if pending.is_empty() {
        return;
    }
    let ready = match (seen.view, seen.routing) {
        // No broker routes anything: there is nothing to wait for.
        _ if !has_brokers(seen) => pending.into_iter().map(|p| p.pod).collect(),
        (PinotView::Reachable(snapshot), Some(routing)) => {
            let (ready, waiting) = routable::confirmed(&pending, snapshot, routing);
            if !waiting.is_empty() {
                plan.notes
                    .push(Note::NotRoutableYet(health::summarize(waiting)));
            }
            ready
        }
        (PinotView::Unreachable(_), _)
            if seen.policy.pinot_checks == PinotChecks::SkipWhenUnreachable =>
        {
            pending.into_iter().map(|p| p.pod).collect()
        }
        _ => vec![],
    };
    if !ready.is_empty() {
        plan.actions.push(Action::MarkRoutable(ready));
    }
}

/// Whether the cluster has brokers at all (a spec may leave them out).
fn has_brokers(seen: &Seen<'_>) -> bool {
    (seen.desired.pools.iter()).any(|p| p.id.component == Component::Broker && p.replicas > 0)
}

/// Whether the consuming segments of a restart's servers are committed (or need not
/// be); if not, the plan gets what brings them there.
fn committed(plan: &mut Plan, seen: &Seen<'_>, members: &[Member]) -> bool {
    let PinotView::Reachable(snapshot) = seen.view else {
        return true;
    };
    if !seen.policy.force_commit {
        return true;
    }
    match force_commit::commit(members, snapshot, seen.now) {
        Commit::Go => true,
        Commit::Ask { tables, marks } => {
            let what = format!(
                "force-committing the consuming segments of {}",
                tables.join(", ")
            );
            plan.notes.push(Note::Quiescing(what));
            let marks = marks::with_others(seen.observed, FORCE_COMMIT_ANNOTATION, marks);
            plan.actions.push(Action::ForceCommit { tables, marks });
            false
        }
        Commit::Wait(segments) => {
            let what = format!("waiting for {} to commit", segments.join(", "));
            plan.notes.push(Note::Quiescing(what));
            false
        }
        Commit::GiveUp(segments) => {
            plan.notes.push(Note::CommitGivenUp(segments));
            true
        }
    }
}

/// Whether the servers of a restart are out of every broker's routing; if not, the
/// plan gets what brings them there. Without Pinot's word (checks skipped) there is
/// nothing to ask, and the pods' own shutdown is the drain.
fn quiesced(plan: &mut Plan, seen: &Seen<'_>, wave: &[String]) -> bool {
    let (PinotView::Reachable(snapshot), Some(routing)) = (seen.view, seen.routing) else {
        return true;
    };
    if wave.is_empty() || !has_brokers(seen) {
        return true;
    }
    match quiesce::gate(wave, snapshot, routing) {
        Gate::Go => true,
        Gate::Disable(ids) => {
            plan.notes.push(Note::Quiescing(format!(
                "taking {} out of query routing",
                ids.join(", ")
            )));
            plan.actions.push(Action::DisableQueries(ids));
            false
        }
        Gate::Wait(why) => {
            plan.notes.push(Note::Quiescing(why));
            false
        }
    }
}

/// A server pool shrinks only once Pinot holds no segment on the servers that go:
/// untag them, rebalance what still places segments there, and shrink when nothing
/// does. Without Pinot, segments cannot be moved first, so the pool does not shrink.
fn drain_then_shrink(plan: &mut Plan, seen: &Seen<'_>, pool: &PoolId, from: i32, to: i32) {
    let desired = seen.desired.pools.iter().find(|p| &p.id == pool);
    let leaving = desired.map_or_else(Vec::new, |p| leaving(p, from, to, seen.naming));
    let snapshot = match seen.view {
        PinotView::Reachable(snapshot) => snapshot,
        PinotView::Unreachable(why) => {
            plan.blocked = Some(Blocked::ScaleDown(format!(
                "not shrinking: the Pinot controller is unreachable, so segments on {} cannot be moved first ({why})",
                leaving.join(", ")
            )));
            return;
        }
    };
    plan.actions.push(Action::UntagLeaving(leaving.clone()));
    match progress(snapshot, &leaving) {
        DrainProgress::Done => plan.actions.push(Action::ApplyPool(pool.clone())),
        DrainProgress::Moving { rebalance, tables } => {
            plan.actions.push(Action::Rebalance(rebalance));
            plan.notes.push(Note::MovingSegments(tables));
        }
    }
}

/// Tags and Pinot pools on every reconcile Pinot answers; forgetting departed
/// instances only once settled (never while stopped: every ordinal looks departed).
fn upkeep(seen: &Seen<'_>, step: &Step, wave: &[String]) -> Vec<Upkeep> {
    let PinotView::Reachable(snapshot) = seen.view else {
        return vec![];
    };
    let pools = &seen.desired.pools;
    let mut upkeep = vec![Upkeep::SyncInstances(wanted_instances(
        pools,
        seen.observed,
        seen.naming,
        wave,
    ))];
    if matches!(step, Step::Settled) && !seen.policy.stopped {
        upkeep.push(Upkeep::ForgetDeparted(departed(
            pools,
            snapshot,
            seen.naming,
        )));
    }
    upkeep
}

/// Resets the segments in ERROR on running servers once per pod, and says which
/// stayed in ERROR after that ([`error_segments`]).
fn reset_errors(plan: &mut Plan, seen: &Seen<'_>) {
    let PinotView::Reachable(snapshot) = seen.view else {
        return;
    };
    let remedy = error_segments::remedy(&seen.desired.pools, seen.observed, snapshot, seen.naming);
    if !remedy.resets.is_empty() {
        plan.upkeep.push(Upkeep::ResetSegments {
            resets: remedy.resets,
            marks: marks::with_others(seen.observed, RESET_ANNOTATION, remedy.marks),
        });
    }
    if !remedy.still.is_empty() {
        plan.notes.push(Note::StillInError(remedy.still));
    }
}

/// Says why a `PoolByPool` server rollout restarts a pool one pod at a time: some of
/// its segments have no serving replica elsewhere (a table placed inside the pool,
/// or a consuming segment whose other replica is not consuming yet).
fn one_at_a_time(
    seen: &Seen<'_>,
    step: &Step,
    verdicts: &BTreeMap<PoolId, Verdict>,
) -> Option<Note> {
    let Step::Restart { pool, .. } = step else {
        return None;
    };
    let by_pool = seen.policy.server_strategy == ServerRolloutStrategy::PoolByPool;
    match verdicts.get(pool) {
        Some(Verdict::SoleReplicas(why)) if by_pool && pool.component == Component::Server => {
            Some(Note::OnePodAtATime {
                pool: pool.to_string(),
                why: why.clone(),
            })
        }
        _ => None,
    }
}

/// Says in status that Pinot-side checks were skipped, when the spec lets the rollout
/// go on without them and pods exist that they would cover. (With the checks
/// required, the rollout waits and `Progressing` says why.)
fn skipped_checks(seen: &Seen<'_>) -> Option<Note> {
    let PinotView::Unreachable(why) = seen.view else {
        return None;
    };
    let has_pinot_pods = seen
        .desired
        .pools
        .iter()
        .filter(|p| p.instance_port.is_some())
        .filter_map(|p| seen.observed.pool(p.workload()))
        .any(|p| !p.pods.is_empty());
    (seen.policy.pinot_checks == PinotChecks::SkipWhenUnreachable && has_pinot_pods)
        .then(|| Note::PinotChecksSkipped(why.clone()))
}

/// Why Pinot is not asked this reconcile, if it is not: only once a controller pod is
/// ready does anything answer, and a stopped cluster has none.
pub fn why_not_ask_pinot(
    desired: &DesiredCluster,
    observed: &Observed,
    stopped: bool,
) -> Option<String> {
    let controller_ready = desired
        .pools
        .iter()
        .filter(|p| p.id.component == Component::Controller)
        .filter_map(|p| observed.pool(p.workload()))
        .any(|p| p.ready_count() > 0);
    (stopped || !controller_ready).then(|| "no Pinot controller pod is ready".to_owned())
}

/// When to reconcile again: soon while a rollout moves, less often while segments
/// move or after a failure, at the resync interval once settled.
pub fn requeue_after(step: &Step, failed: bool, resync: Duration) -> Duration {
    match step {
        _ if failed => DRAIN_REQUEUE,
        Step::ScaleDown { .. } => DRAIN_REQUEUE,
        Step::Settled => resync,
        _ => BUSY_REQUEUE,
    }
}

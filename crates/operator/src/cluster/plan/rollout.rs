//! The rollout planner: from what should run and what runs, the one next step.
//!
//! Pure and stateless. Pools are walked in deployment order (ZooKeeper, controllers,
//! brokers, servers, minions; reversed while stopping) and the first pool that is not
//! *settled* gets the step; every later pool is left alone. That single rule gives
//! ordered creation, ordered rollouts, "one pool at a time" and "never two roles at
//! once", and because nothing is remembered, an operator restarted at any point
//! computes the same step from the same cluster — a pod already on the new revision
//! is never picked again.
//!
//! A pool is settled when its StatefulSet carries the desired hash and has been
//! observed by the StatefulSet controller, every pod runs the update revision and is
//! Ready, and Pinot reports its instances healthy. When Pinot cannot be asked, the
//! rollout waits (`spec.rollout.pinotChecks: Required`, the default) or goes on
//! without the checks (`SkipWhenUnreachable`).

use std::collections::BTreeMap;

use api::PinotClusterSpec;
use api::cluster::{PinotChecks, ServerRolloutStrategy};

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredCluster;
use crate::cluster::names::PoolId;
use crate::cluster::observe::workloads::{Observed, ObservedPod, ObservedPool, ObservedSet};

/// What the planner needs to know about a desired pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolTarget {
    pub id: PoolId,
    /// StatefulSet name.
    pub workload: String,
    pub replicas: i32,
    pub hash: String,
}

/// The targets of a desired cluster, in deployment order.
pub fn targets(desired: &DesiredCluster) -> Vec<PoolTarget> {
    desired
        .pools
        .iter()
        .map(|p| PoolTarget {
            id: p.id.clone(),
            workload: p.workload().to_owned(),
            replicas: p.replicas,
            hash: p.hash.clone(),
        })
        .collect()
}

/// The spec switches that shape a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    pub paused: bool,
    pub stopped: bool,
    pub server_strategy: ServerRolloutStrategy,
    pub pinot_checks: PinotChecks,
    /// Force-commit a server wave's consuming segments before it restarts.
    pub force_commit: bool,
}

impl Policy {
    pub fn of(spec: &PinotClusterSpec) -> Self {
        Policy {
            paused: spec.rollout.paused,
            stopped: spec.stopped,
            server_strategy: spec.rollout.server_strategy,
            pinot_checks: spec.rollout.pinot_checks,
            force_commit: spec.rollout.force_commits(),
        }
    }

    /// Why the rollout must wait for Pinot's verdict on a pool that could not be asked;
    /// `None` when the verdict is known, or when the spec says to go on without it.
    /// Stopping needs no verdict: every Pinot pool goes to zero.
    fn blind(&self, verdict: &Verdict) -> Option<String> {
        match verdict {
            Verdict::Unknown(why)
                if self.pinot_checks == PinotChecks::Required && !self.stopped =>
            {
                Some(why.clone())
            }
            _ => None,
        }
    }
}

/// What Pinot says about a pool's instances (or a ZooKeeper ensemble about its leader).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A ZooKeeper ensemble in quorum, led by this pod: restarted last.
    Leader(String),
    /// Every instance is registered and serves all its segments.
    Healthy,
    /// Healthy, but some segments have no serving replica outside this pool (which).
    /// Restarting the whole pool at once would take them offline, so a `PoolByPool`
    /// server rollout falls back to one pod at a time for this pool.
    SoleReplicas(String),
    /// Pinot answered, and the pool is not there yet (why).
    NotYet(String),
    /// Pinot (or, for ZooKeeper, every member) could not be asked (why). The rollout
    /// waits, unless the spec's `pinotChecks` says to go on without the check.
    Unknown(String),
}

/// A pod to delete, pinned by uid so a pod recreated meanwhile is never hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub name: String,
    pub uid: String,
}

/// Why a pool is not settled yet although nothing is to be done to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Waiting {
    /// The StatefulSet controller has not caught up with the latest spec.
    StatefulSet,
    PodsTerminating(Vec<String>),
    PodsNotReady {
        ready: i32,
        want: i32,
    },
    Pinot(String),
    /// Pinot's checks are required and Pinot cannot be asked.
    PinotUnreachable(String),
    /// The checks are required and no ZooKeeper member says which one leads.
    LeaderUnknown(String),
}

/// The next step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the pool's objects.
    Create(PoolId),
    /// Apply the pool's changed objects (template, replicas, Services, config).
    Update(PoolId),
    /// Delete pods on an old revision; the StatefulSet recreates them on the new one.
    Restart {
        pool: PoolId,
        pods: Vec<PodRef>,
    },
    /// Move segments off the server pods that go, then shrink the pool.
    ScaleDown {
        pool: PoolId,
        from: i32,
        to: i32,
    },
    Wait {
        pool: PoolId,
        why: Waiting,
    },
    /// `rollout.paused`: the step that would have been taken.
    Paused(Box<Step>),
    /// Every pool is settled.
    Settled,
}

impl Step {
    /// The Progressing condition's and Event's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Step::Create(_) => "CreatingPool",
            Step::Update(_) => "UpdatingPool",
            Step::Restart { .. } => "RollingPool",
            Step::ScaleDown { .. } => "DrainingPool",
            Step::Wait { .. } => "WaitingForRole",
            Step::Paused(_) => "Paused",
            Step::Settled => "RolloutComplete",
        }
    }

    /// One sentence for status and Events.
    pub fn message(&self) -> String {
        match self {
            Step::Create(pool) => format!("creating {pool}"),
            Step::Update(pool) => format!("applying changes to {pool}"),
            Step::Restart { pool, pods } => {
                let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "restarting {pool} pods on the new revision: {}",
                    names.join(", ")
                )
            }
            Step::ScaleDown { pool, from, to } => {
                format!("draining {pool} before scaling it from {from} to {to}")
            }
            Step::Wait { pool, why } => {
                format!("waiting for {pool}: {}; later pools wait", why.describe())
            }
            Step::Paused(held) => format!("rollout paused; next step would be: {}", held.message()),
            Step::Settled => "every pool runs the desired spec and is ready".to_owned(),
        }
    }

    /// The pool the step is about.
    pub fn pool(&self) -> Option<&PoolId> {
        match self {
            Step::Create(pool) | Step::Update(pool) => Some(pool),
            Step::Restart { pool, .. } | Step::ScaleDown { pool, .. } | Step::Wait { pool, .. } => {
                Some(pool)
            }
            Step::Paused(held) => held.pool(),
            Step::Settled => None,
        }
    }

    /// Whether the step writes to workloads (what `paused` holds back).
    fn changes_workloads(&self) -> bool {
        matches!(
            self,
            Step::Create(_) | Step::Update(_) | Step::Restart { .. } | Step::ScaleDown { .. }
        )
    }
}

impl Waiting {
    fn describe(&self) -> String {
        match self {
            Waiting::StatefulSet => {
                "the StatefulSet controller has not seen the latest spec".into()
            }
            Waiting::PodsTerminating(pods) => format!("pods terminating: {}", pods.join(", ")),
            Waiting::PodsNotReady { ready, want } => format!("{ready}/{want} pods ready"),
            Waiting::Pinot(why) => format!("Pinot: {why}"),
            Waiting::PinotUnreachable(why) => format!(
                "cannot ask Pinot whether it is safe to go on ({why}); the rollout waits for \
                 Pinot's checks (spec.rollout.pinotChecks: SkipWhenUnreachable goes on without them)"
            ),
            Waiting::LeaderUnknown(why) => format!(
                "cannot tell which ZooKeeper member leads, to restart it last ({why}); \
                 spec.rollout.pinotChecks: SkipWhenUnreachable goes on without knowing"
            ),
        }
    }
}

/// The next step for the whole cluster.
pub fn plan(
    targets: &[PoolTarget],
    observed: &Observed,
    verdicts: &BTreeMap<PoolId, Verdict>,
    policy: &Policy,
) -> Step {
    // Pools Pinot knows nothing about (ZooKeeper) have no verdict, and need none.
    let unchecked = Verdict::Healthy;
    let mut order: Vec<&PoolTarget> = targets.iter().collect();
    if policy.stopped {
        // Stop in reverse: minions first, ZooKeeper last, so no role loses what it depends on.
        order.reverse();
    }
    let empty = ObservedPool::default();
    for target in order {
        let pool = observed.pool(&target.workload).unwrap_or(&empty);
        let verdict = verdicts.get(&target.id).unwrap_or(&unchecked);
        if let Some(step) = assess(target, pool, verdict, policy) {
            return if policy.paused && step.changes_workloads() {
                Step::Paused(Box::new(step))
            } else {
                step
            };
        }
    }
    Step::Settled
}

/// The step a pool needs, or `None` when it is settled.
fn assess(t: &PoolTarget, pool: &ObservedPool, verdict: &Verdict, policy: &Policy) -> Option<Step> {
    let wait = |why| {
        Some(Step::Wait {
            pool: t.id.clone(),
            why,
        })
    };
    let Some(set) = &pool.set else {
        return Some(Step::Create(t.id.clone()));
    };
    if shrinks_servers(t, set, policy) {
        return Some(Step::ScaleDown {
            pool: t.id.clone(),
            from: set.replicas,
            to: t.replicas,
        });
    }
    if set.applied_hash.as_deref() != Some(t.hash.as_str()) {
        return Some(Step::Update(t.id.clone()));
    }
    if !set.is_current() {
        return wait(Waiting::StatefulSet);
    }
    let terminating: Vec<String> = pool
        .pods
        .iter()
        .filter(|p| p.terminating)
        .map(|p| p.name.clone())
        .collect();
    if !terminating.is_empty() {
        return wait(Waiting::PodsTerminating(terminating));
    }
    let revision = set.update_revision.as_deref();
    let outdated: Vec<&ObservedPod> = pool
        .pods
        .iter()
        .filter(|p| !p.is_current(revision))
        .collect();
    if !outdated.is_empty() {
        return Some(restart(t, pool, &outdated, verdict, policy));
    }
    let ready = pool.ready_count();
    if pool.pods.len() as i32 != t.replicas || ready < t.replicas {
        return wait(Waiting::PodsNotReady {
            ready,
            want: t.replicas,
        });
    }
    if let Verdict::NotYet(why) = verdict {
        return wait(Waiting::Pinot(why.clone()));
    }
    if let Some(why) = policy.blind(verdict) {
        return wait(Waiting::PinotUnreachable(why));
    }
    None
}

/// Servers leave only through a drain; other roles hold no data and shrink directly.
/// Stopping is not shrinking: instances and data stay for the restart.
fn shrinks_servers(t: &PoolTarget, set: &ObservedSet, policy: &Policy) -> bool {
    t.id.component == Component::Server && !policy.stopped && set.replicas > t.replicas
}

/// Which outdated pods to delete now, or what to wait for first.
fn restart(
    t: &PoolTarget,
    pool: &ObservedPool,
    outdated: &[&ObservedPod],
    verdict: &Verdict,
    policy: &Policy,
) -> Step {
    let restart = |pods: Vec<&&ObservedPod>| Step::Restart {
        pool: t.id.clone(),
        pods: pods
            .into_iter()
            .map(|p| PodRef {
                name: p.name.clone(),
                uid: p.uid.clone(),
            })
            .collect(),
    };
    let blind = policy.blind(verdict);
    // A whole pool restarts only on Pinot's word that every segment also serves
    // outside it (or, with the checks skippable, without a word). Not while Pinot says
    // the pool is not all there: a pod of a one-at-a-time wave may still be loading the
    // only other replicas.
    let pinot_allows_whole_pool = match verdict {
        Verdict::Healthy | Verdict::Leader(_) => true,
        Verdict::Unknown(_) => blind.is_none(),
        Verdict::SoleReplicas(_) | Verdict::NotYet(_) => false,
    };
    let whole_pool = t.id.component == Component::Server
        && policy.server_strategy == ServerRolloutStrategy::PoolByPool
        && pinot_allows_whole_pool;
    if whole_pool {
        return restart(outdated.iter().collect());
    }
    // A pod that is not ready serves nothing: replacing it first costs no availability.
    if let Some(broken) = outdated.iter().find(|p| !p.ready) {
        return restart(vec![broken]);
    }
    if let Some(why) = blind {
        let why = match t.id.component {
            Component::Zookeeper => Waiting::LeaderUnknown(why),
            _ => Waiting::PinotUnreachable(why),
        };
        return Step::Wait {
            pool: t.id.clone(),
            why,
        };
    }
    let ready = pool.ready_count();
    if (pool.pods.len() as i32) < t.replicas || ready < pool.pods.len() as i32 {
        return Step::Wait {
            pool: t.id.clone(),
            why: Waiting::PodsNotReady {
                ready,
                want: t.replicas,
            },
        };
    }
    if let Verdict::NotYet(why) = verdict {
        return Step::Wait {
            pool: t.id.clone(),
            why: Waiting::Pinot(why.clone()),
        };
    }
    // Highest ordinal first, like the StatefulSet controller's own rolling update, and
    // a ZooKeeper leader last: the ensemble then elects once, not once per member.
    let leader = match verdict {
        Verdict::Leader(pod) => Some(pod.as_str()),
        _ => None,
    };
    let next = outdated
        .iter()
        .max_by_key(|p| (Some(p.name.as_str()) != leader, p.ordinal))
        .expect("outdated is not empty");
    restart(vec![next])
}

/// Share of wanted pods that run the desired spec and are ready (1.0 when settled).
pub fn progress(targets: &[PoolTarget], observed: &Observed) -> f64 {
    let want: i32 = targets.iter().map(|t| t.replicas).sum();
    if want == 0 {
        return 1.0;
    }
    let done: i32 = targets
        .iter()
        .map(|t| {
            let Some(pool) = observed.pool(&t.workload) else {
                return 0;
            };
            let current = pool
                .set
                .as_ref()
                .is_some_and(|s| s.applied_hash.as_deref() == Some(t.hash.as_str()));
            let updated = pool.updated().filter(|p| p.ready && !p.terminating).count() as i32;
            if current { updated.min(t.replicas) } else { 0 }
        })
        .sum();
    f64::from(done) / f64::from(want)
}

#[cfg(test)]
mod tests;

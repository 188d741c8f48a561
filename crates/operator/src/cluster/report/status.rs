//! `PinotCluster` status from what was built, observed and done in this reconcile.
//! Pure; the controller writes the result with server-side apply.

use std::collections::BTreeMap;

use api::cluster::{PoolStatus, VersionStatus};
use api::common::condition::{AVAILABLE, DEGRADED, PAUSED, PROGRESSING};
use api::{PinotCluster, PinotClusterStatus};
use kube::ResourceExt;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredCluster;
use crate::cluster::error::ClusterError;
use crate::cluster::observe::workloads::Observed;
use crate::cluster::plan::Note;
use crate::cluster::plan::rollout::Step;
use crate::conditions::{self, Desired};
use crate::pinot::access::deployed_controller_url;

/// What a reconcile did and saw.
pub struct Outcome<'a> {
    pub desired: Option<&'a DesiredCluster>,
    pub observed: &'a Observed,
    pub step: &'a Step,
    pub error: Option<&'a ClusterError>,
    /// Extra facts for the Progressing message (skipped Pinot checks, drain progress).
    pub notes: &'a [Note],
}

/// The new status of `cluster`.
pub fn compute(cluster: &PinotCluster, outcome: &Outcome<'_>) -> PinotClusterStatus {
    let current = cluster.status.clone().unwrap_or_default();
    let generation = cluster.metadata.generation;
    let desired_conditions = vec![
        available(cluster, outcome),
        progressing(outcome),
        degraded(outcome.error),
        paused(cluster, outcome.step),
    ];
    PinotClusterStatus {
        observed_generation: generation,
        conditions: conditions::merge(&current.conditions, desired_conditions, generation),
        version: outcome.desired.map(|d| version(d, outcome.observed)),
        pools: outcome
            .desired
            .map(|d| pool_statuses(d, outcome.observed))
            .unwrap_or_default(),
        controller_url: outcome
            .desired
            .map(|_| controller_url(cluster))
            .or(current.controller_url),
    }
}

/// The status of a spec that cannot be deployed: nothing changes until it is fixed.
pub fn invalid(cluster: &PinotCluster, error: &ClusterError) -> PinotClusterStatus {
    let observed = Observed::default();
    let outcome = Outcome {
        desired: None,
        observed: &observed,
        step: &Step::Settled,
        error: Some(error),
        notes: &[],
    };
    compute(cluster, &outcome)
}

/// Where the operator (and anyone in the cluster) reaches a deployed cluster's Pinot.
fn controller_url(cluster: &PinotCluster) -> String {
    let namespace = cluster.namespace().unwrap_or_default();
    let tls = cluster.spec.tls.is_some();
    deployed_controller_url(&cluster.name_any(), &namespace, tls)
}

/// Status of a cluster the operator only connects to.
pub fn external(cluster: &PinotCluster, url: &str) -> PinotClusterStatus {
    let current = cluster.status.clone().unwrap_or_default();
    let generation = cluster.metadata.generation;
    let note =
        "spec.external is set: Pinot runs elsewhere; only schemas, tables and tenants are managed";
    let conditions = vec![
        condition(AVAILABLE, true, "External", note.into()),
        condition(PROGRESSING, false, "External", note.into()),
        condition(DEGRADED, false, "AsExpected", String::new()),
        paused(cluster, &Step::Settled),
    ];
    PinotClusterStatus {
        observed_generation: generation,
        conditions: conditions::merge(&current.conditions, conditions, generation),
        version: None,
        pools: vec![],
        controller_url: Some(url.to_owned()),
    }
}

fn condition(
    type_: &'static str,
    status: bool,
    reason: &'static str,
    message: String,
) -> Desired<'static> {
    Desired {
        type_,
        status: status.into(),
        reason,
        message,
    }
}

/// Available when every role that should run has a ready pod (and a managed
/// ZooKeeper a ready majority).
fn available(cluster: &PinotCluster, outcome: &Outcome<'_>) -> Desired<'static> {
    if cluster.spec.stopped {
        return condition(
            AVAILABLE,
            false,
            "Stopped",
            "spec.stopped is set: every workload is scaled to zero".into(),
        );
    }
    let Some(desired) = outcome.desired else {
        return condition(
            AVAILABLE,
            false,
            "NotDeployed",
            "nothing is deployed".into(),
        );
    };
    let mut wanted: BTreeMap<Component, (i32, i32)> = BTreeMap::new();
    for pool in &desired.pools {
        let ready = pool
            .statefulset
            .metadata
            .name
            .as_deref()
            .and_then(|w| outcome.observed.pool(w))
            .map_or(0, |p| p.ready_count());
        let entry = wanted.entry(pool.id.component).or_default();
        entry.0 += pool.replicas;
        entry.1 += ready;
    }
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(component, (want, ready))| {
            let need = if **component == Component::Zookeeper {
                want / 2 + 1
            } else {
                1
            };
            *want > 0 && *ready < need
        })
        .map(|(component, _)| component.as_str())
        .collect();
    if missing.is_empty() {
        condition(
            AVAILABLE,
            true,
            "MinimumReplicasAvailable",
            "every role has ready pods".into(),
        )
    } else {
        condition(
            AVAILABLE,
            false,
            "Unavailable",
            format!(
                "no ready pods (or no ZooKeeper quorum): {}",
                missing.join(", ")
            ),
        )
    }
}

fn progressing(outcome: &Outcome<'_>) -> Desired<'static> {
    if outcome.desired.is_none() {
        let reason = outcome.error.map_or("NotDeployed", ClusterError::reason);
        let message = "nothing is changed until the spec can be deployed".to_owned();
        return condition(PROGRESSING, false, reason, message);
    }
    let mut message = outcome.step.message();
    for note in outcome.notes {
        message.push_str("; ");
        message.push_str(&note.to_string());
    }
    let active = !matches!(outcome.step, Step::Settled | Step::Paused(_));
    condition(PROGRESSING, active, outcome.step.reason(), message)
}

fn degraded(error: Option<&ClusterError>) -> Desired<'static> {
    match error {
        Some(e) => condition(DEGRADED, true, e.reason(), e.to_string()),
        None => condition(DEGRADED, false, "AsExpected", String::new()),
    }
}

fn paused(cluster: &PinotCluster, step: &Step) -> Desired<'static> {
    if !cluster.spec.rollout.paused {
        return condition(PAUSED, false, "NotPaused", String::new());
    }
    let message = match step {
        Step::Paused(_) => step.message(),
        _ => "rollout paused: no change to workloads is made; none is pending".into(),
    };
    condition(PAUSED, true, "RolloutPaused", message)
}

/// Target image, and the image the Pinot pods run: the target once every pod runs
/// its pool's image (a pool's own `image`, a canary, counts as done), else the most
/// common image a pod still runs instead of its pool's.
fn version(desired: &DesiredCluster, observed: &Observed) -> VersionStatus {
    let mut behind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pods = 0;
    for pool in desired
        .pools
        .iter()
        .filter(|p| p.id.component != Component::Zookeeper)
    {
        let workload = pool.workload();
        for pod in observed
            .pool(workload)
            .map(|p| p.pods.as_slice())
            .unwrap_or_default()
        {
            pods += 1;
            match pod.image.as_deref() {
                Some(image) if image != pool.image => *behind.entry(image).or_default() += 1,
                _ => {}
            }
        }
    }
    let current = behind
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(image, _)| (*image).to_owned())
        .or_else(|| (pods > 0).then(|| desired.image.clone()));
    VersionStatus {
        current,
        target: Some(desired.image.clone()),
    }
}

fn pool_statuses(desired: &DesiredCluster, observed: &Observed) -> Vec<PoolStatus> {
    desired
        .pools
        .iter()
        .map(|pool| {
            let workload = pool.workload();
            let observed = observed.pool(workload);
            let current_spec = observed
                .and_then(|p| p.set.as_ref())
                .is_some_and(|s| s.applied_hash.as_deref() == Some(pool.hash.as_str()));
            PoolStatus {
                role: pool.id.component.as_str().to_owned(),
                name: pool.id.pool.clone(),
                replicas: pool.replicas,
                ready_replicas: observed.map_or(0, |p| p.ready_count()),
                updated_replicas: match observed {
                    Some(p) if current_spec => {
                        p.updated().filter(|pod| !pod.terminating).count() as i32
                    }
                    _ => 0,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::desired::build;
    use crate::cluster::desired::tests::HETEROGENEOUS;
    use crate::cluster::names::{CLUSTER_DOMAIN, PoolId};
    use crate::cluster::observe::workloads::running;

    fn cluster(yaml: &str) -> PinotCluster {
        serde_norway::from_str(yaml).unwrap()
    }

    fn find<'a>(
        status: &'a PinotClusterStatus,
        type_: &str,
    ) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        conditions::find(&status.conditions, type_).unwrap()
    }

    #[test]
    fn a_settled_cluster_is_available_and_not_progressing() {
        let c = cluster(HETEROGENEOUS);
        let d = build(&c, &Default::default(), CLUSTER_DOMAIN).unwrap();
        let observed = running(&d, "apachepinot/pinot:1.5.1");
        let status = compute(
            &c,
            &Outcome {
                desired: Some(&d),
                observed: &observed,
                step: &Step::Settled,
                error: None,
                notes: &[],
            },
        );
        assert_eq!(find(&status, AVAILABLE).status, "True");
        assert_eq!(find(&status, PROGRESSING).status, "False");
        assert_eq!(find(&status, PROGRESSING).reason, "RolloutComplete");
        assert_eq!(find(&status, DEGRADED).status, "False");
        assert_eq!(find(&status, PAUSED).status, "False");
        let hot = status.pools.iter().find(|p| p.name == "hot").unwrap();
        assert_eq!(
            (hot.replicas, hot.ready_replicas, hot.updated_replicas),
            (3, 3, 3)
        );
        let version = status.version.clone().unwrap();
        assert_eq!(version.current, version.target);
        assert_eq!(
            status.controller_url.as_deref(),
            Some("http://analytics-controller.data.svc:9000")
        );
    }

    #[test]
    fn a_rollout_shows_old_current_and_new_target() {
        let c = cluster(&HETEROGENEOUS.replace("pinot:1.5.1", "pinot:1.5.2"));
        let d = build(&c, &Default::default(), CLUSTER_DOMAIN).unwrap();
        let observed = running(&d, "apachepinot/pinot:1.5.1");
        let step = Step::Update(PoolId::new(Component::Controller, "main"));
        let notes = [Note::PinotChecksSkipped("unreachable".to_owned())];
        let status = compute(
            &c,
            &Outcome {
                desired: Some(&d),
                observed: &observed,
                step: &step,
                error: None,
                notes: &notes,
            },
        );
        let version = status.version.clone().unwrap();
        assert_eq!(version.current.as_deref(), Some("apachepinot/pinot:1.5.1"));
        assert_eq!(version.target.as_deref(), Some("apachepinot/pinot:1.5.2"));
        let progressing = find(&status, PROGRESSING);
        assert_eq!(
            (progressing.status.as_str(), progressing.reason.as_str()),
            ("True", "UpdatingPool")
        );
        assert!(
            progressing.message.ends_with(
                "; Pinot health checks skipped (instances alive, segments ONLINE): unreachable"
            ),
            "{}",
            progressing.message
        );
    }

    #[test]
    fn a_canary_pool_on_its_own_image_counts_as_current() {
        let canary = "        tier: cold\n        image: apachepinot/pinot:1.6.0\n";
        let c = cluster(&HETEROGENEOUS.replace("        tier: cold\n", canary));
        let d = build(&c, &Default::default(), CLUSTER_DOMAIN).unwrap();
        let mut observed = running(&d, "apachepinot/pinot:1.5.1");
        let version = |observed: &Observed| {
            let outcome = Outcome {
                desired: Some(&d),
                observed,
                step: &Step::Settled,
                error: None,
                notes: &[],
            };
            compute(&c, &outcome).version.unwrap().current
        };
        assert_eq!(
            version(&observed).as_deref(),
            Some("apachepinot/pinot:1.5.1"),
            "the canary pool still runs the old image: that is what runs"
        );
        let cold = observed.pools.get_mut("analytics-server-cold").unwrap();
        for pod in &mut cold.pods {
            pod.image = Some("apachepinot/pinot:1.6.0".into());
        }
        assert_eq!(
            version(&observed).as_deref(),
            Some("apachepinot/pinot:1.5.1")
        );
        let cold = pool_image(&d, "cold");
        assert_eq!(cold, "apachepinot/pinot:1.6.0");
        assert_eq!(pool_image(&d, "hot"), "apachepinot/pinot:1.5.1");
    }

    fn pool_image<'a>(d: &'a crate::cluster::desired::DesiredCluster, name: &str) -> &'a str {
        let pool = d.pools.iter().find(|p| p.id.pool == name).unwrap();
        let spec = pool.statefulset.spec.as_ref().unwrap();
        let containers = &spec.template.spec.as_ref().unwrap().containers;
        containers[0].image.as_deref().unwrap()
    }

    #[test]
    fn paused_and_errors_are_conditions() {
        let c = cluster(&HETEROGENEOUS.replace("spec:\n", "spec:\n  rollout: {paused: true}\n"));
        let d = build(&c, &Default::default(), CLUSTER_DOMAIN).unwrap();
        let observed = Observed::default();
        let step = Step::Paused(Box::new(Step::Create(PoolId::zookeeper())));
        let error = ClusterError::ScaleDownBlocked("Pinot unreachable".into());
        let status = compute(
            &c,
            &Outcome {
                desired: Some(&d),
                observed: &observed,
                step: &step,
                error: Some(&error),
                notes: &[],
            },
        );
        let paused = find(&status, PAUSED);
        assert_eq!(
            (paused.status.as_str(), paused.reason.as_str()),
            ("True", "RolloutPaused")
        );
        assert!(
            paused.message.contains("creating zookeeper/managed"),
            "{}",
            paused.message
        );
        assert_eq!(find(&status, DEGRADED).reason, "ScaleDownBlocked");
        assert_eq!(find(&status, AVAILABLE).status, "False");
        assert_eq!(find(&status, PROGRESSING).status, "False");
    }

    #[test]
    fn an_invalid_spec_is_degraded_and_not_progressing() {
        let c = cluster(HETEROGENEOUS);
        let error = ClusterError::InvalidSpec("bad".into());
        let status = invalid(&c, &error);
        assert_eq!(find(&status, PROGRESSING).reason, "InvalidSpec");
        assert_eq!(find(&status, PROGRESSING).status, "False");
        assert_eq!(find(&status, DEGRADED).reason, "InvalidSpec");
    }

    #[test]
    fn external_clusters_report_their_url() {
        let c = cluster(
            "apiVersion: pinot.operator.dev/v1alpha1\nkind: PinotCluster\nmetadata: {name: x}\nspec: {external: {controllerUrl: 'http://p:9000'}}",
        );
        let status = external(&c, "http://p:9000");
        assert_eq!(status.controller_url.as_deref(), Some("http://p:9000"));
        assert_eq!(find(&status, AVAILABLE).reason, "External");
    }
}

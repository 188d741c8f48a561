//! The I/O shell of the cluster controller: read (StatefulSets, pods, Pinot), plan
//! (pure), do the one step, write status and Events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::PinotCluster;
use api::cluster::PinotChecks;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use pinot_client::PinotClient;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::additions::referenced_secrets;
use super::apply::{apply_pool, apply_shared, delete_pods};
use super::build::{DesiredCluster, build};
use super::component::Component;
use super::drain::{leaving, needs_drain};
use super::error::ClusterError;
use super::events::publish_events;
use super::health::{Naming, PinotView, verdicts};
use super::names::{CLUSTER_LABEL, MANAGED_BY_LABEL, PoolId};
use super::observe::{self, Observed};
use super::pinot::{self, Drain};
use super::rollout::{Policy, Step, plan, progress, targets};
use super::secrets;
use super::status::{self, Outcome};
use crate::context::Context;
use crate::metrics::ClusterLabels;

const CONTROLLER: &str = "pinotcluster";
/// Look again this soon while a rollout is under way; watch events usually come first.
const BUSY_REQUEUE: Duration = Duration::from_secs(5);
/// Draining waits on Pinot moving segments: no point asking more often.
const DRAIN_REQUEUE: Duration = Duration::from_secs(15);

/// Runs the `PinotCluster` controller until `shutdown` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let managed =
        watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={}", crate::FIELD_MANAGER));
    let (store, writer) = reflector::store();
    let clusters = watcher(ctx.cluster_api(), watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(writer)
        .applied_objects();
    Controller::for_stream(clusters, store)
        .with_config(ctx.controller_config())
        .owns(ctx.api::<StatefulSet>(), managed.clone())
        // Pod readiness is what the rollout waits on; StatefulSet status lags it.
        .watches(ctx.api::<Pod>(), managed, |pod| {
            let cluster = pod.labels().get(CLUSTER_LABEL)?.clone();
            Some(ObjectRef::<PinotCluster>::new(&cluster).within(&pod.namespace()?))
        })
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[tracing::instrument(skip_all, fields(namespace = cluster.namespace(), name = cluster.name_any()))]
async fn reconcile(cluster: Arc<PinotCluster>, ctx: Arc<Context>) -> Result<Action, ClusterError> {
    let started = Instant::now();
    let result = match &cluster.spec.external {
        Some(external) => {
            let status = status::external(&cluster, &external.controller_url);
            write_status(&ctx, &cluster, status)
                .await
                .map(|()| Action::requeue(ctx.resync))
        }
        None => reconcile_deployed(&cluster, &ctx).await,
    };
    let failure = result.as_ref().err().map(ClusterError::reason);
    ctx.metrics
        .reconciled(CONTROLLER, started.elapsed(), failure);
    result
}

fn error_policy(_cluster: Arc<PinotCluster>, error: &ClusterError, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "cluster reconcile failed");
    Action::requeue(BUSY_REQUEUE)
}

/// What one reconcile of a deployed cluster read.
struct Seen {
    desired: DesiredCluster,
    observed: Observed,
    view: PinotView,
    pinot: Option<PinotClient>,
}

async fn reconcile_deployed(cluster: &PinotCluster, ctx: &Context) -> Result<Action, ClusterError> {
    let namespace = cluster.namespace().unwrap_or_default();
    let refs = referenced_secrets(&cluster.spec);
    let built = match secrets::read(&ctx.client, &namespace, &refs).await {
        Ok(values) => build(cluster, &values),
        Err(error) => Err(error),
    };
    let desired = match built {
        Ok(desired) => desired,
        Err(error @ ClusterError::Kubernetes(_)) => return Err(error),
        Err(error) => return report_invalid(cluster, ctx, error).await,
    };
    let name = cluster.name_any();
    let naming = Naming {
        cluster: &name,
        namespace: &namespace,
    };
    let observed = observe::read(&ctx.client, &namespace, &name).await?;
    let (pinot, view) = look_at_pinot(cluster, ctx, &desired, &observed).await;
    let seen = Seen {
        desired,
        observed,
        view,
        pinot,
    };
    let policy = Policy {
        paused: cluster.spec.rollout.paused,
        stopped: cluster.spec.stopped,
        server_strategy: cluster.spec.rollout.server_strategy,
        pinot_checks: cluster.spec.rollout.pinot_checks,
    };
    let (step, error, notes) = act(ctx, &seen, &policy, &naming).await;
    let outcome = Outcome {
        desired: Some(&seen.desired),
        observed: &seen.observed,
        step: &step,
        error: error.as_ref(),
        notes: &notes,
    };
    let new_status = status::compute(cluster, &outcome);
    publish_events(ctx, cluster, &new_status).await;
    write_status(ctx, cluster, new_status).await?;
    let labels = ClusterLabels {
        namespace: namespace.clone(),
        cluster: name.clone(),
    };
    let progress = progress(&targets(&seen.desired), &seen.observed);
    ctx.metrics
        .rollout_progress
        .get_or_create(&labels)
        .set(progress);
    match error {
        // The API itself failed: let the controller's error policy retry.
        Some(error @ ClusterError::Kubernetes(_)) => Err(error),
        error => Ok(Action::requeue(requeue_after(&step, error.is_some(), ctx))),
    }
}

/// Plans and takes the step, then does the Pinot-side upkeep. Returns the step, the
/// failure if any, and notes for the status message.
async fn act(
    ctx: &Context,
    seen: &Seen,
    policy: &Policy,
    naming: &Naming<'_>,
) -> (Step, Option<ClusterError>, Vec<String>) {
    let verdicts = verdicts(&seen.desired.pools, &seen.observed, &seen.view, naming);
    let step = plan(&targets(&seen.desired), &seen.observed, &verdicts, policy);
    let mut notes = pinot_notes(seen, policy);
    notes.extend(status::leftover_note(&seen.desired, &seen.observed));
    let error = match execute(ctx, naming.namespace, seen, &step, policy, naming).await {
        Ok(note) => {
            notes.extend(note);
            None
        }
        Err(e) => Some(e),
    };
    if !policy.paused {
        notes.extend(maintain_pinot(seen, &step, policy, naming).await);
    }
    (step, error, notes)
}

fn requeue_after(step: &Step, failed: bool, ctx: &Context) -> Duration {
    match step {
        _ if failed => DRAIN_REQUEUE,
        Step::ScaleDown { .. } => DRAIN_REQUEUE,
        Step::Settled => ctx.resync,
        _ => BUSY_REQUEUE,
    }
}

/// An unbuildable spec changes nothing; it is reported until fixed.
async fn report_invalid(
    cluster: &PinotCluster,
    ctx: &Context,
    error: ClusterError,
) -> Result<Action, ClusterError> {
    let observed = Observed::default();
    let step = Step::Settled;
    let outcome = Outcome {
        desired: None,
        observed: &observed,
        step: &step,
        error: Some(&error),
        notes: &[],
    };
    let new_status = status::compute(cluster, &outcome);
    publish_events(ctx, cluster, &new_status).await;
    write_status(ctx, cluster, new_status).await?;
    Ok(Action::requeue(ctx.resync))
}

/// Pinot is only asked once a controller pod is ready (before that, nothing answers).
async fn look_at_pinot(
    cluster: &PinotCluster,
    ctx: &Context,
    desired: &DesiredCluster,
    observed: &Observed,
) -> (Option<PinotClient>, PinotView) {
    let controller_ready = desired
        .pools
        .iter()
        .filter(|p| p.id.component == Component::Controller)
        .filter_map(|p| observed.pool(p.workload()))
        .any(|p| p.ready_count() > 0);
    if cluster.spec.stopped || !controller_ready {
        return (
            None,
            PinotView::Unreachable("no Pinot controller pod is ready".into()),
        );
    }
    match pinot::client(
        &desired.controller_url,
        desired.admin.clone(),
        desired.ca_pem.clone(),
        ctx.metrics.clone(),
    ) {
        Ok(client) => {
            let view = pinot::read_view(&client).await;
            (Some(client), view)
        }
        Err(why) => (None, PinotView::Unreachable(why)),
    }
}

/// Says in status that Pinot-side checks were skipped, when the spec lets the rollout
/// go on without them and pods exist that they would cover. (With the checks
/// required, the rollout waits and `Progressing` says why.)
fn pinot_notes(seen: &Seen, policy: &Policy) -> Vec<String> {
    if policy.pinot_checks == PinotChecks::Required {
        return vec![];
    }
    let has_pinot_pods = seen
        .desired
        .pools
        .iter()
        .filter(|p| p.instance_port.is_some())
        .filter_map(|p| seen.observed.pool(p.workload()))
        .any(|p| !p.pods.is_empty());
    match &seen.view {
        PinotView::Unreachable(why) if has_pinot_pods => {
            vec![format!(
                "Pinot health checks skipped (instances alive, segments ONLINE): {why}"
            )]
        }
        _ => vec![],
    }
}

/// Carries out the step; returns a note for status (e.g. drain progress).
async fn execute(
    ctx: &Context,
    namespace: &str,
    seen: &Seen,
    step: &Step,
    policy: &Policy,
    naming: &Naming<'_>,
) -> Result<Option<String>, ClusterError> {
    if !policy.paused {
        apply_shared(&ctx.client, namespace, &seen.desired).await?;
    }
    let pool = |id: &PoolId| {
        seen.desired
            .pools
            .iter()
            .find(|p| &p.id == id)
            .expect("planned pools are desired")
    };
    match step {
        Step::Create(id) | Step::Update(id) => apply_pool(&ctx.client, namespace, pool(id))
            .await
            .map(|()| None),
        Step::Restart { pool, pods } => {
            let deleted = delete_pods(&ctx.client, namespace, pods).await?;
            ctx.metrics
                .pods_restarted(namespace, naming.cluster, &pool.to_string(), deleted);
            Ok(None)
        }
        Step::ScaleDown { pool: id, from, to } => {
            let desired = pool(id);
            if !needs_drain(id.component) {
                return apply_pool(&ctx.client, namespace, desired)
                    .await
                    .map(|()| None);
            }
            let leaving = leaving(desired, *from, *to, naming);
            match pinot::drain(seen.pinot.as_ref(), &seen.view, &leaving).await? {
                Drain::Done => apply_pool(&ctx.client, namespace, desired)
                    .await
                    .map(|()| None),
                Drain::Moving(note) => Ok(Some(note)),
            }
        }
        // Settled: re-assert every pool (a no-op unless someone edited an object).
        Step::Settled if !policy.paused => {
            for desired in &seen.desired.pools {
                apply_pool(&ctx.client, namespace, desired).await?;
            }
            Ok(None)
        }
        Step::Settled | Step::Wait { .. } | Step::Paused(_) => Ok(None),
    }
}

/// Pinot-side upkeep once a reconcile's step is done: tags on ready instances, and
/// dropping instances a finished scale-down left behind. Failures are notes, not errors.
async fn maintain_pinot(
    seen: &Seen,
    step: &Step,
    policy: &Policy,
    naming: &Naming<'_>,
) -> Vec<String> {
    let (Some(pinot), PinotView::Reachable(snapshot)) = (&seen.pinot, &seen.view) else {
        return vec![];
    };
    let mut notes = Vec::new();
    match pinot::sync_instances(pinot, &seen.desired.pools, &seen.observed, naming).await {
        Ok(changed) if !changed.is_empty() => notes.push(format!("tagged {}", changed.join(", "))),
        Ok(_) => {}
        Err(e) => notes.push(format!("tagging instances failed: {e}")),
    }
    if matches!(step, Step::Settled) && !policy.stopped {
        let dropped = pinot::forget_departed(pinot, &seen.desired.pools, snapshot, naming).await;
        if !dropped.is_empty() {
            notes.push(format!("dropped departed instances {}", dropped.join(", ")));
        }
    }
    notes
}

async fn write_status(
    ctx: &Context,
    cluster: &PinotCluster,
    status: api::PinotClusterStatus,
) -> Result<(), ClusterError> {
    if cluster.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<PinotCluster> =
        Api::namespaced(ctx.client.clone(), &cluster.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": PinotCluster::api_version(&()),
        "kind": PinotCluster::kind(&()),
        "status": status,
    });
    api.patch_status(
        &cluster.name_any(),
        &PatchParams::apply(crate::FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

//! The shell of the cluster controller: it reads (the watched stores, the Secrets
//! the spec names, Pinot), calls the pure stages, carries the plan out and writes
//! status and Events. It decides nothing itself.

use std::sync::Arc;
use std::time::Instant;

use api::PinotCluster;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, WatchStreamExt, watcher};
use pinot_client::PinotClient;
use tokio_util::sync::CancellationToken;

use crate::cluster::act::{self, Target};
use crate::cluster::desired::features::additions::referenced_secrets;
use crate::cluster::desired::{DesiredCluster, build};
use crate::cluster::error::ClusterError;
use crate::cluster::names::{CLUSTER_LABEL, MANAGED_BY_LABEL, Naming};
use crate::cluster::observe::pinot::{PinotView, read_view};
use crate::cluster::observe::routing::{self, Routing};
use crate::cluster::observe::workloads::{self, Observed};
use crate::cluster::observe::zookeeper;
use crate::cluster::plan::rollout::{Policy, progress, targets};
use crate::cluster::plan::{
    self, BUSY_REQUEUE, Note, Seen, quiesce, requeue_after, routable, why_not_ask_pinot,
};
use crate::cluster::report::events::publish_events;
use crate::cluster::report::status::{self, Outcome};
use crate::context::Context;
use crate::metrics::ClusterLabels;
use crate::pinot::{Profile, access};
use crate::secrets::{self, SecretValues};

const CONTROLLER: &str = "pinotcluster";

/// Runs the `PinotCluster` controller until `shutdown` is cancelled. Its watches feed
/// the stores of clusters, StatefulSets and pods that every reconcile reads.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let managed =
        watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={}", crate::FIELD_MANAGER));
    let (clusters, sets, pods, claims) = {
        let mut writers = ctx.writers();
        let claims = writers.claims();
        (
            writers.clusters(),
            writers.statefulsets(),
            writers.pods(),
            claims,
        )
    };
    let store = ctx.stores.clusters.clone();
    let clusters = watcher(ctx.cluster_api(), ctx.managed_objects().any_semantic())
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(clusters)
        .applied_objects();
    let sets = watcher(ctx.api::<StatefulSet>(), managed.clone())
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(sets)
        .applied_objects();
    // Pod readiness is what the rollout waits on; StatefulSet status lags it.
    let pods = watcher(ctx.api::<Pod>(), managed)
        .default_backoff()
        .modify(crate::cache::slim)
        .reflect(pods)
        .applied_objects();
    // A claim waiting for its pod to restart (FileSystemResizePending) is a reason to
    // restart it; StatefulSet-made claims carry the selector's labels, ours included.
    let claims = watcher(
        ctx.api::<PersistentVolumeClaim>(),
        watcher::Config::default().labels(CLUSTER_LABEL),
    )
    .default_backoff()
    .modify(crate::cache::slim)
    .reflect(claims)
    .applied_objects();
    Controller::for_stream(clusters, store)
        .with_config(ctx.controller_config())
        .owns_stream(sets)
        .watches_stream(pods, cluster_of)
        .watches_stream(claims, cluster_of)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// The cluster an object of one of its pools belongs to, by its label.
fn cluster_of<K: ResourceExt>(object: K) -> Option<ObjectRef<PinotCluster>> {
    let cluster = object.labels().get(CLUSTER_LABEL)?.clone();
    Some(ObjectRef::<PinotCluster>::new(&cluster).within(&object.namespace()?))
}

#[tracing::instrument(skip_all, fields(namespace = cluster.namespace(), name = cluster.name_any()))]
async fn reconcile(cluster: Arc<PinotCluster>, ctx: Arc<Context>) -> Result<Action, ClusterError> {
    let started = Instant::now();
    ctx.pinot.forget_deleted(&ctx.stores.clusters);
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

async fn reconcile_deployed(cluster: &PinotCluster, ctx: &Context) -> Result<Action, ClusterError> {
    let namespace = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    let refs = referenced_secrets(&cluster.spec);
    let built = match secrets::read(&ctx.client, &namespace, &refs).await {
        Ok(secrets) => {
            build(cluster, &secrets, &ctx.cluster_domain).map(|desired| (desired, secrets))
        }
        Err(error) => Err(error.into()),
    };
    let (desired, secrets) = match built {
        Ok(built) => built,
        Err(error @ ClusterError::Kubernetes(_)) => return Err(error),
        Err(error) => return report_invalid(cluster, ctx, error).await,
    };
    // The stores fill from the controller's own watches; until their first listing
    // is in, an empty store would read as "nothing runs".
    let _ = ctx.stores.statefulsets.wait_until_ready().await;
    let _ = ctx.stores.pods.wait_until_ready().await;
    let _ = ctx.stores.claims.wait_until_ready().await;
    let observed = workloads::read(&ctx.stores, &namespace, &name);
    let (pinot, view) = look_at_pinot(cluster, ctx, &desired, &observed, &secrets).await;
    let policy = Policy::of(&cluster.spec);
    let naming = Naming {
        cluster: &name,
        namespace: &namespace,
        domain: &ctx.cluster_domain,
    };
    let seen = Seen {
        desired: &desired,
        observed: &observed,
        view: &view,
        policy: &policy,
        naming: &naming,
        routing: None,
        quorum: None,
        now: unix_now(),
    };
    let routing = look_at_routing(cluster, ctx, &seen, pinot.as_ref(), &secrets).await;
    let quorum = match zookeeper::members_to_ask(&desired, &observed, &naming) {
        Some(members) => Some(zookeeper::read(&ctx.http, &members).await),
        None => None,
    };
    let plan = plan::plan(&Seen {
        routing: routing.as_ref(),
        quorum: quorum.as_ref(),
        ..seen
    });
    let step = plan.step.clone();
    let target = Target {
        client: &ctx.client,
        namespace: &namespace,
        cluster: &name,
        desired: &desired,
        pinot: pinot.as_ref(),
        metrics: &ctx.metrics,
    };
    let done = act::carry_out(&target, plan).await;
    let outcome = Outcome {
        desired: Some(&desired),
        observed: &observed,
        step: &step,
        error: done.error.as_ref(),
        notes: &done.notes,
    };
    let new_status = status::compute(cluster, &outcome);
    report(cluster, ctx, new_status, &done.notes).await?;
    record_progress(ctx, &namespace, &name, &desired, &observed);
    match done.error {
        // The API itself failed: let the controller's error policy retry.
        Some(error @ ClusterError::Kubernetes(_)) => Err(error),
        error => Ok(Action::requeue(requeue_after(
            &step,
            error.is_some(),
            ctx.resync,
        ))),
    }
}

fn unix_now() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |d| d.as_secs())
}

fn record_progress(
    ctx: &Context,
    namespace: &str,
    name: &str,
    desired: &DesiredCluster,
    observed: &Observed,
) {
    let labels = ClusterLabels {
        namespace: namespace.to_owned(),
        cluster: name.to_owned(),
    };
    let progress = progress(&targets(desired), observed);
    ctx.metrics
        .rollout_progress
        .get_or_create(&labels)
        .set(progress);
}

/// An unbuildable spec changes nothing; it is reported until fixed.
async fn report_invalid(
    cluster: &PinotCluster,
    ctx: &Context,
    error: ClusterError,
) -> Result<Action, ClusterError> {
    report(cluster, ctx, status::invalid(cluster, &error), &[]).await?;
    Ok(Action::requeue(ctx.resync))
}

/// Events for what changed, then the status itself.
async fn report(
    cluster: &PinotCluster,
    ctx: &Context,
    new_status: api::PinotClusterStatus,
    notes: &[Note],
) -> Result<(), ClusterError> {
    publish_events(ctx, cluster, &new_status, notes).await;
    write_status(ctx, cluster, new_status).await
}

/// Pinot's view when it may be asked, with the client that asked.
async fn look_at_pinot(
    cluster: &PinotCluster,
    ctx: &Context,
    desired: &DesiredCluster,
    observed: &Observed,
    secrets: &SecretValues,
) -> (Option<PinotClient>, PinotView) {
    if let Some(why) = why_not_ask_pinot(desired, observed, cluster.spec.stopped) {
        return (None, PinotView::Unreachable(why));
    }
    let client = access::deployed_config(cluster, secrets)
        .map_err(|e| e.to_string())
        .and_then(|config| {
            let client = ctx.pinot.get(cluster, Profile::FailFast, config);
            client.map_err(|e| e.to_string())
        });
    match client {
        Ok(client) => {
            let view = read_view(&client).await;
            (Some(client), view)
        }
        Err(why) => (None, PinotView::Unreachable(why)),
    }
}

/// What the brokers route, read only when server pods are about to restart or wait
/// for their readiness gate.
async fn look_at_routing(
    cluster: &PinotCluster,
    ctx: &Context,
    seen: &Seen<'_>,
    pinot: Option<&PinotClient>,
    secrets: &SecretValues,
) -> Option<Routing> {
    let (Some(controller), PinotView::Reachable(snapshot)) = (pinot, seen.view) else {
        return None;
    };
    let mut instances = quiesce::wave(&plan::step(seen), seen);
    instances.extend(routable::pending(seen).into_iter().map(|p| p.instance));
    if instances.is_empty() {
        return None;
    }
    let tls = cluster.spec.tls.is_some();
    let brokers: Vec<_> = routing::broker_pods(seen.desired, seen.observed, seen.naming)
        .into_iter()
        .map(|pod| {
            let url = access::broker_pod_url(&pod.fqdn, pod.port, tls);
            let client = access::broker_config(cluster, secrets, &url)
                .map_err(|e| e.to_string())
                .and_then(|config| ctx.pinot.broker(config).map_err(|e| e.to_string()));
            (pod.name, client)
        })
        .collect();
    let samples = quiesce::samples(snapshot, &instances);
    Some(routing::read(controller, &brokers, &instances, &samples).await)
}

async fn write_status(
    ctx: &Context,
    cluster: &PinotCluster,
    status: api::PinotClusterStatus,
) -> Result<(), ClusterError> {
    crate::status::patch(&ctx.client, cluster, cluster.status.as_ref(), status).await?;
    Ok(())
}

#[cfg(test)]
mod tests;

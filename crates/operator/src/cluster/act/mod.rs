//! Carries a [`Plan`] out: server-side apply and pod deletes ([`kubernetes`]), and
//! the Pinot calls of draining, instance upkeep and forgetting departed instances
//! ([`pinot`]). Nothing here decides; every choice was made by [`super::plan`].

pub mod kubernetes;
pub mod pinot;

use kube::Client;
use pinot_client::PinotClient;

use crate::cluster::desired::{DesiredCluster, DesiredPool};
use crate::cluster::error::ClusterError;
use crate::cluster::names::PoolId;
use crate::cluster::plan::error_segments::Reset;
use crate::cluster::plan::{Action, Blocked, Note, Plan, Upkeep};
use crate::metrics::Metrics;

/// Where a plan is carried out.
pub struct Target<'a> {
    pub client: &'a Client,
    pub namespace: &'a str,
    pub cluster: &'a str,
    pub desired: &'a DesiredCluster,
    /// `None` when Pinot was not asked this reconcile (the plan then has no Pinot call).
    pub pinot: Option<&'a PinotClient>,
    pub metrics: &'a Metrics,
}

/// What carrying a plan out came to.
pub struct Done {
    /// The first action that failed (later actions were not run), or why the plan
    /// could not be carried out.
    pub error: Option<ClusterError>,
    /// The plan's notes, then the upkeep's.
    pub notes: Vec<Note>,
}

/// Runs the actions in order until one fails, then the upkeep whatever happened.
pub async fn carry_out(target: &Target<'_>, plan: Plan) -> Done {
    let mut error = plan.blocked.map(|blocked| match blocked {
        Blocked::ScaleDown(why) => ClusterError::ScaleDownBlocked(why),
        Blocked::Storage(why) => ClusterError::StorageChangeRefused(why),
    });
    for action in &plan.actions {
        if let Err(e) = run(target, action).await {
            error = Some(e);
            break;
        }
    }
    let mut notes = plan.notes;
    for upkeep in &plan.upkeep {
        notes.extend(keep_up(target, upkeep).await);
    }
    Done { error, notes }
}

async fn run(target: &Target<'_>, action: &Action) -> Result<(), ClusterError> {
    let (client, namespace) = (target.client, target.namespace);
    match action {
        Action::ApplyShared => kubernetes::apply_shared(client, namespace, target.desired).await,
        Action::ApplyPool(id) => kubernetes::apply_pool(client, namespace, pool(target, id)).await,
        Action::DeletePoolPdb(id) => {
            kubernetes::delete_pool_pdb(client, namespace, pool(target, id)).await
        }
        Action::MarkRoutable(pods) => kubernetes::mark_routable(client, namespace, pods).await,
        Action::DeletePods { pool, pods } => {
            let deleted = kubernetes::delete_pods(client, namespace, pods).await?;
            let pool = pool.to_string();
            let metrics = target.metrics;
            metrics.pods_restarted(namespace, target.cluster, &pool, deleted);
            Ok(())
        }
        Action::DisableQueries(ids) => pinot::disable_queries(pinot_of(target)?, ids).await,
        Action::ForceCommit { tables, marks } => {
            pinot::force_commit(pinot_of(target)?, tables).await?;
            kubernetes::mark_pods(client, namespace, marks).await
        }
        Action::UntagLeaving(leaving) => pinot::untag(pinot_of(target)?, leaving).await,
        Action::Rebalance(tables) => pinot::rebalance(pinot_of(target)?, tables).await,
        Action::ExpandClaims(claims) => kubernetes::expand_claims(client, namespace, claims).await,
        Action::OrphanStatefulSet(id) => {
            kubernetes::orphan_statefulset(client, namespace, pool(target, id)).await
        }
    }
}

async fn keep_up(target: &Target<'_>, upkeep: &Upkeep) -> Option<Note> {
    let client = target.pinot?;
    let (kube, namespace) = (target.client, target.namespace);
    match upkeep {
        Upkeep::SyncInstances(wanted) => match pinot::sync_instances(client, wanted).await {
            Ok(changed) if !changed.is_empty() => Some(Note::Tagged(changed)),
            Ok(_) => None,
            Err(e) => Some(Note::TaggingFailed(e.to_string())),
        },
        Upkeep::ForgetDeparted(departed) => {
            let dropped = pinot::forget(client, departed).await;
            (!dropped.is_empty()).then_some(Note::DroppedDeparted(dropped))
        }
        Upkeep::ResetSegments { resets, marks } => {
            let reset = pinot::reset_segments(client, resets).await;
            let marked = async { kubernetes::mark_pods(kube, namespace, marks).await };
            match reset {
                Ok(()) => Some(match marked.await {
                    Ok(()) => Note::SegmentsReset(resets.iter().map(Reset::describe).collect()),
                    Err(e) => Note::ResetFailed(format!("recording the reset on the pods: {e}")),
                }),
                Err(e) => Some(Note::ResetFailed(e.to_string())),
            }
        }
    }
}

fn pool<'a>(target: &Target<'a>, id: &PoolId) -> &'a DesiredPool {
    target
        .desired
        .pools
        .iter()
        .find(|p| &p.id == id)
        .expect("planned pools are desired")
}

/// Pinot actions are planned only when Pinot answered this reconcile.
fn pinot_of<'a>(target: &Target<'a>) -> Result<&'a PinotClient, ClusterError> {
    target.pinot.ok_or_else(|| {
        ClusterError::ScaleDownBlocked("the Pinot controller was not asked this reconcile".into())
    })
}

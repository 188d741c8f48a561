//! The Pinot calls of a plan, through the cluster's controller Service: taking
//! servers out of routing before a restart, draining servers before a scale-down,
//! keeping tags, Pinot pools and `queriesDisabled` on instances, resetting segments
//! in ERROR, and forgetting instances that are gone.

use pinot_client::{InstanceChange, PinotClient, RebalanceOptions, TableType};

use crate::cluster::error::ClusterError;
use crate::cluster::plan::error_segments::Reset;
use crate::cluster::plan::instances::{WantedInstance, pools_differ, tags_differ};

fn drain_failed(e: pinot_client::Error) -> ClusterError {
    ClusterError::DrainFailed(e.to_string())
}

/// Sets `queriesDisabled` on servers about to restart.
pub async fn disable_queries(pinot: &PinotClient, ids: &[String]) -> Result<(), ClusterError> {
    for id in ids {
        pinot
            .set_queries_disabled(id, true)
            .await
            .map_err(|e| ClusterError::QuiesceFailed(e.to_string()))?;
    }
    Ok(())
}

/// Asks Pinot to force-commit the consuming segments of `tables`.
pub async fn force_commit(pinot: &PinotClient, tables: &[String]) -> Result<(), ClusterError> {
    for table in tables {
        pinot
            .force_commit(table)
            .await
            .map_err(|e| ClusterError::QuiesceFailed(format!("force-commit {table}: {e}")))?;
    }
    Ok(())
}

/// Resets segments in ERROR on their servers.
pub async fn reset_segments(
    pinot: &PinotClient,
    resets: &[Reset],
) -> Result<(), pinot_client::Error> {
    for r in resets {
        pinot
            .reset_segment(&r.table, &r.segment, &r.instance)
            .await?;
    }
    Ok(())
}

/// Clears the tags of leaving servers, so no new segment lands on them.
pub async fn untag(pinot: &PinotClient, leaving: &[String]) -> Result<(), ClusterError> {
    for id in leaving {
        let instance = pinot.get_instance(id).await.map_err(drain_failed)?;
        if instance.is_some_and(|i| !i.tags.is_empty()) {
            pinot
                .update_instance_tags(id, &[])
                .await
                .map_err(drain_failed)?;
        }
    }
    Ok(())
}

/// Rebalances tables so their segments leave the untagged servers.
pub async fn rebalance(
    pinot: &PinotClient,
    tables: &[(String, TableType)],
) -> Result<(), ClusterError> {
    // Without downtime, with at most one replica of a segment down at a time (-1):
    // Pinot refuses a minimum equal to the replication, which 1 would be for
    // single-replica tables.
    let options = RebalanceOptions {
        reassign_instances: true,
        include_consuming: true,
        min_available_replicas: -1,
        ..RebalanceOptions::default()
    };
    for (name, table_type) in tables {
        pinot
            .rebalance(name, *table_type, &options)
            .await
            .map_err(drain_failed)?;
    }
    Ok(())
}

/// Keeps tenant/tier tags, Pinot pools and `queriesDisabled` on the wanted instances
/// (drift is reverted); returns the instances changed.
pub async fn sync_instances(
    pinot: &PinotClient,
    wanted: &[WantedInstance],
) -> Result<Vec<String>, pinot_client::Error> {
    let mut changed = Vec::new();
    for want in wanted {
        // Not registered yet: the instance is set up on a later reconcile.
        let Some(instance) = pinot.get_instance(&want.id).await? else {
            continue;
        };
        let retag = tags_differ(&instance.tags, &want.tags);
        if retag {
            pinot.update_instance_tags(&want.id, &want.tags).await?;
        }
        // After the tags: the update writes back the instance as it reads it.
        let change = InstanceChange {
            pools: pools_differ(&instance.pools, &want.pools).then(|| want.pools.clone()),
            queries_disabled: want
                .queries_disabled
                .filter(|d| *d != instance.queries_disabled),
        };
        let update = change != InstanceChange::default();
        if update {
            pinot.update_instance(&want.id, &change).await?;
        }
        if retag || update {
            changed.push(want.id.clone());
        }
    }
    Ok(changed)
}

/// Drops instances a scale-down left behind. Pinot refuses (409) while one is still
/// alive or placed in an ideal state; that is retried on a later reconcile.
pub async fn forget(pinot: &PinotClient, departed: &[String]) -> Vec<String> {
    let mut dropped = Vec::new();
    for id in departed {
        match pinot.drop_instance(id).await {
            Ok(()) => dropped.push(id.clone()),
            Err(e) => tracing::debug!(%id, error = %e, "instance not dropped yet"),
        }
    }
    dropped
}

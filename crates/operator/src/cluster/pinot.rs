//! The Pinot side of a deployed cluster, through its controller Service: the
//! snapshot health checks read, instance tags, draining servers before a
//! scale-down, and forgetting instances that are gone. Every call here is optional
//! to progress except the drain: an unreachable Pinot is reported, never guessed.

use std::sync::Arc;
use std::time::Duration;

use pinot_client::{Auth, ClientConfig, PinotClient, RebalanceOptions, TableType};

use super::build::DesiredPool;
use super::drain::{departed, hosting, pools_differ, tags_differ, wanted_instances};
use super::error::ClusterError;
use super::health::{Naming, PinotView, Snapshot, TableStates};
use super::observe::Observed;
use crate::metrics::{Metrics, PinotCallMetrics};

/// A client that fails fast: a reconcile must not stall on an unreachable Pinot.
pub fn client(
    url: &str,
    auth: Option<Auth>,
    ca_pem: Option<Vec<u8>>,
    metrics: Arc<Metrics>,
) -> Result<PinotClient, String> {
    let url = url
        .parse()
        .map_err(|e| format!("invalid controller URL {url}: {e}"))?;
    let mut config = ClientConfig::new(url);
    config.timeout = Duration::from_secs(5);
    config.max_retries = 0;
    config.auth = auth;
    config.tls.ca_pem = ca_pem;
    config.observer = Some(Arc::new(PinotCallMetrics(metrics)));
    PinotClient::new(config).map_err(|e| e.to_string())
}

/// Reads instances and, per table, ideal state and external view.
pub async fn read_view(pinot: &PinotClient) -> PinotView {
    match snapshot(pinot).await {
        Ok(snapshot) => PinotView::Reachable(snapshot),
        Err(e) => PinotView::Unreachable(e.to_string()),
    }
}

async fn snapshot(pinot: &PinotClient) -> Result<Snapshot, pinot_client::Error> {
    let instances = pinot.list_instances().await?.into_iter().collect();
    let mut tables = Vec::new();
    for name in pinot.list_tables().await? {
        for table_type in [TableType::Offline, TableType::Realtime] {
            if let Some(states) = table_states(pinot, &name, table_type).await? {
                tables.push(states);
            }
        }
    }
    Ok(Snapshot { instances, tables })
}

/// `None` when the table has no such type (a raw name covers both).
async fn table_states(
    pinot: &PinotClient,
    name: &str,
    table_type: TableType,
) -> Result<Option<TableStates>, pinot_client::Error> {
    let ideal = match pinot.ideal_state(name, table_type).await {
        Ok(ideal) if ideal.is_empty() => return Ok(None),
        Ok(ideal) => ideal,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let external = pinot.external_view(name, table_type).await?;
    Ok(Some(TableStates {
        name: name.to_owned(),
        table_type,
        ideal,
        external,
    }))
}

/// Progress of draining servers before a scale-down.
#[derive(Debug, Clone, PartialEq)]
pub enum Drain {
    /// No table holds a segment on the leaving instances: the pool may shrink.
    Done,
    /// Segments are moving (a note for status).
    Moving(String),
}

/// Untags the leaving instances (so no new segment lands there), rebalances every
/// table that still places segments on them, and reports whether any remain.
pub async fn drain(
    pinot: Option<&PinotClient>,
    view: &PinotView,
    leaving: &[String],
) -> Result<Drain, ClusterError> {
    let (Some(pinot), PinotView::Reachable(snapshot)) = (pinot, view) else {
        let why = match view {
            PinotView::Unreachable(why) => why.as_str(),
            PinotView::Reachable(_) => "no client",
        };
        return Err(ClusterError::ScaleDownBlocked(format!(
            "not shrinking: the Pinot controller is unreachable, so segments on {} cannot be moved first ({why})",
            leaving.join(", ")
        )));
    };
    let failed = |e: pinot_client::Error| ClusterError::DrainFailed(e.to_string());
    for id in leaving {
        let instance = pinot.get_instance(id).await.map_err(failed)?;
        if instance.is_some_and(|i| !i.tags.is_empty()) {
            pinot.update_instance_tags(id, &[]).await.map_err(failed)?;
        }
    }
    let tables = hosting(snapshot, leaving);
    if tables.is_empty() {
        return Ok(Drain::Done);
    }
    // Without downtime, with at most one replica of a segment down at a time (-1):
    // Pinot refuses a minimum equal to the replication, which 1 would be for
    // single-replica tables.
    let options = RebalanceOptions {
        reassign_instances: true,
        include_consuming: true,
        min_available_replicas: -1,
        ..RebalanceOptions::default()
    };
    for table in &tables {
        // Once the ideal state is free of the leaving instances the rebalance is
        // under way; the external view catching up is only waited for.
        if leaving
            .iter()
            .any(|id| table.ideal.values().any(|s| s.contains_key(id)))
        {
            pinot
                .rebalance(&table.name, table.table_type, &options)
                .await
                .map_err(failed)?;
        }
    }
    let names: Vec<String> = tables
        .iter()
        .map(|t| t.table_type.table_name_with_type(&t.name))
        .collect();
    Ok(Drain::Moving(format!(
        "moving segments of {} off the leaving servers",
        names.join(", ")
    )))
}

/// Keeps tenant/tier tags and Pinot pools on the pools' ready instances (drift is
/// reverted); returns the instances changed.
pub async fn sync_instances(
    pinot: &PinotClient,
    pools: &[DesiredPool],
    observed: &Observed,
    naming: &Naming<'_>,
) -> Result<Vec<String>, pinot_client::Error> {
    let mut changed = Vec::new();
    for want in wanted_instances(pools, observed, naming) {
        // Not registered yet: the instance is set up on a later reconcile.
        let Some(instance) = pinot.get_instance(&want.id).await? else {
            continue;
        };
        let retag = tags_differ(&instance.tags, &want.tags);
        if retag {
            pinot.update_instance_tags(&want.id, &want.tags).await?;
        }
        // After the tags: the pools update writes back the instance as it reads it.
        let repool = pools_differ(&instance.pools, &want.pools);
        if repool {
            pinot.update_instance_pools(&want.id, &want.pools).await?;
        }
        if retag || repool {
            changed.push(want.id);
        }
    }
    Ok(changed)
}

/// Drops instances a scale-down left behind. Pinot refuses (409) while one is still
/// alive or placed in an ideal state; that is retried on a later reconcile.
pub async fn forget_departed(
    pinot: &PinotClient,
    pools: &[DesiredPool],
    snapshot: &Snapshot,
    naming: &Naming<'_>,
) -> Vec<String> {
    let mut dropped = Vec::new();
    for id in departed(pools, snapshot, naming) {
        match pinot.drop_instance(&id).await {
            Ok(()) => dropped.push(id),
            Err(e) => tracing::debug!(%id, error = %e, "instance not dropped yet"),
        }
    }
    dropped
}

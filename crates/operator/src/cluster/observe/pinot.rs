//! What Pinot says about a deployed cluster, read once per reconcile through its
//! controller Service: the registered instances and, per table, the ideal state and
//! the external view. An unreachable Pinot is recorded as such, never guessed.

use std::collections::BTreeSet;

use pinot_client::{PinotClient, SegmentStates, TableType};

/// Pinot as seen from the operator.
#[derive(Debug, Clone, PartialEq)]
pub enum PinotView {
    Reachable(Snapshot),
    /// Why Pinot could not be asked; health checks and Pinot-side steps are skipped.
    Unreachable(String),
}

/// The cluster state the checks need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Registered instance ids.
    pub instances: BTreeSet<String>,
    pub tables: Vec<TableStates>,
}

/// Whether a segment in `state` answers queries: ONLINE, or CONSUMING (a REALTIME
/// segment still being written).
pub fn serving(state: &str) -> bool {
    matches!(state, "ONLINE" | "CONSUMING")
}

/// One table (of one type): where its segments should be and where they are.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStates {
    pub name: String,
    pub table_type: TableType,
    pub ideal: SegmentStates,
    pub external: SegmentStates,
}

impl TableStates {
    /// Whether the ideal state or external view still places a segment on `instance`.
    pub fn hosts(&self, instance: &str) -> bool {
        [&self.ideal, &self.external]
            .iter()
            .any(|states| states.values().any(|s| s.contains_key(instance)))
    }
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
///
/// The external view is read first: Pinot changes the ideal state before the external
/// view follows it, so the ideal state read after is at least as new. Read the other
/// way round, a commit landing between the reads showed a segment ONLINE in the view
/// with its successor in neither, and the stranding hold let a wave go whose server
/// was about to be the successor's only CONSUMING replica (a CI run's two 305s).
async fn table_states(
    pinot: &PinotClient,
    name: &str,
    table_type: TableType,
) -> Result<Option<TableStates>, pinot_client::Error> {
    let external = pinot.external_view(name, table_type).await?;
    let ideal = match pinot.ideal_state(name, table_type).await {
        Ok(ideal) if ideal.is_empty() => return Ok(None),
        Ok(ideal) => ideal,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(TableStates {
        name: name.to_owned(),
        table_type,
        ideal,
        external,
    }))
}

//! `PinotTable` → Pinot table config, with the waits a table needs (its schema,
//! its tenants), the follow-ups a change needs (rebalance, reload), and a REALTIME
//! table's consumption paused or resumed as `spec.consumption` says.

use crate::stores;
use api::table::{Consumption, TableDocument};
use api::{ContentStatus, DeletionPolicy, FollowUp, PinotSchema, PinotTable};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use pinot_client::{RebalanceOptions, Reload, TableType, Tenants};
use serde_json::Value;

use super::compare::hash;
use super::error::SyncError;
use super::follow_up::{self, Fingerprint, describe};
use super::schema::{Plan, plan};
use super::{
    ContentResource, FollowUpFailure, Outcome, SyncContext, Synced, created, status, validate,
};

/// The call that brings a REALTIME table's consumption to what the spec asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumptionCall {
    Pause,
    Resume,
}

/// Pure: which call (if any) moves Pinot's pause flag to `desired`. `None` when it is
/// already there, so a steady state makes no writes.
pub fn consumption_call(desired: Consumption, paused_in_pinot: bool) -> Option<ConsumptionCall> {
    match (desired, paused_in_pinot) {
        (Consumption::Paused, false) => Some(ConsumptionCall::Pause),
        (Consumption::Running, true) => Some(ConsumptionCall::Resume),
        (Consumption::Paused, true) | (Consumption::Running, false) => None,
    }
}

/// The status note for a table's consumption, after `call` (if one was made).
fn consumption_note(desired: Consumption, call: Option<ConsumptionCall>) -> Option<&'static str> {
    match (call, desired) {
        (Some(ConsumptionCall::Pause), _) => Some("consumption paused"),
        (Some(ConsumptionCall::Resume), _) => Some("consumption resumed"),
        (None, Consumption::Paused) => Some("consumption is paused"),
        (None, Consumption::Running) => None,
    }
}

/// The document sent to Pinot: the spec's, without `segmentsConfig.schemaName`. Pinot
/// 1.x drops that field (and never returns it, so a spec carrying it would never match
/// what Pinot has); [`validate::table`] allows it only equal to
/// `tableName`, which is how every version finds the table's schema anyway.
fn pinot_document(table: &TableDocument) -> Value {
    let mut doc = table.to_json();
    if let Some(segments) = doc.get_mut("segmentsConfig").and_then(Value::as_object_mut) {
        segments.remove("schemaName");
    }
    doc
}

/// Pinot returns `tableName` with its type suffix (`events_OFFLINE`); the spec holds
/// the raw name, so compare like with like.
fn without_type_suffix(mut config: Value) -> Value {
    if let Some(name) = config.get("tableName").and_then(Value::as_str) {
        let raw = validate::raw_table_name(name).to_owned();
        config["tableName"] = Value::String(raw);
    }
    config
}

/// Tenants a table config names (Pinot's default when unset).
fn tenants(doc: &Value) -> (String, String) {
    let name = |role: &str| {
        doc.pointer(&format!("/tenants/{role}"))
            .and_then(Value::as_str)
            .unwrap_or("DefaultTenant")
            .to_owned()
    };
    (name("server"), name("broker"))
}

impl ContentResource for PinotTable {
    const CONTROLLER: &'static str = "pinottable";
    const FOLLOWS_SCHEMAS: bool = true;

    fn cluster_name(&self) -> &str {
        &self.spec.cluster_ref.name
    }

    fn schema_ref(&self) -> Option<&str> {
        self.spec.schema_ref.as_ref().map(|r| r.name.as_str())
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn content_status(&self) -> Option<&ContentStatus> {
        self.status.as_ref()
    }

    fn pinot_object(&self) -> String {
        let t = &self.spec.table;
        format!("table {}_{}", t.table_name, t.table_type.as_str())
    }

    fn desired_hash(&self) -> String {
        hash(&pinot_document(&self.spec.table))
    }

    async fn sync(&self, cx: &SyncContext<'_>) -> Result<Synced, SyncError> {
        validate::table(&self.spec.table.to_json())?;
        let desired = pinot_document(&self.spec.table);
        if self.spec.consumption == Consumption::Paused
            && self.spec.table.table_type != TableType::Realtime
        {
            return Err(SyncError::InvalidTable(
                "consumption: Paused applies to REALTIME tables only".into(),
            ));
        }
        let schema = check_schema_ref(self, cx, &desired).await?;
        let mut synced = match write_unread(self, cx, &desired, &schema).await? {
            Some(done) => done,
            None => converge_config(self, cx, &desired, &schema).await?,
        };
        if let Some(uid) = self.uid() {
            let fingerprint = Fingerprint::of(&desired);
            (cx.known.tables).remember(&uid, hash(&desired), fingerprint, cx.resync);
        }
        if self.spec.table.table_type == TableType::Realtime {
            let (name, desired) = (&self.spec.table.table_name, self.spec.consumption);
            let call = converge_consumption(cx, name, desired).await?;
            if call.is_some() && synced.outcome == Outcome::InSync {
                synced.outcome = Outcome::Updated;
            }
            synced
                .notes
                .extend(consumption_note(desired, call).map(String::from));
        }
        Ok(synced)
    }

    async fn remove(&self, cx: &SyncContext<'_>) -> Result<(), SyncError> {
        let t = &self.spec.table;
        match cx
            .pinot
            .delete_table(&t.table_name, t.table_type, None)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The schema a table uses, and whether the operator knows it is in Pinot.
struct TableSchema {
    name: String,
    /// Its PinotSchema says it is synced to this cluster: no need to ask Pinot.
    known_in_pinot: bool,
}

/// A write without a read first, where the operator knows what Pinot has: the create
/// of a table never applied (Pinot answers 409 if it has it after all), or the change
/// of one whose last applied config it remembers. `None`: read Pinot and compare.
async fn write_unread(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    desired: &Value,
    schema: &TableSchema,
) -> Result<Option<Synced>, SyncError> {
    if cx.creates_first() {
        check_dependencies(cx, desired, schema).await?;
        return created(cx.pinot.create_table(desired).await);
    }
    let Some(before) = remembered_change(table, cx, desired) else {
        return Ok(None);
    };
    check_dependencies(cx, desired, schema).await?;
    match cx
        .pinot
        .update_table(&table.spec.table.table_name, desired)
        .await
    {
        // Deleted behind the operator's back: reading finds it gone and creates it.
        Err(e) if e.is_not_found() => return Ok(None),
        result => result?,
    }
    let needed = follow_up::needed_since(&before, desired);
    Ok(Some(follow(table, cx, Outcome::Updated, &needed).await))
}

/// The fingerprint of the config the table applied last, when the spec changed since
/// and the operator remembers that config (not after a restart or a failed sync).
fn remembered_change(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    desired: &Value,
) -> Option<Fingerprint> {
    let applied = cx.applied_hash?;
    if applied == hash(desired) || !cx.trusts_memory() {
        return None;
    }
    cx.known.tables.recall(&table.uid()?, applied)
}

/// Reads the table from Pinot and creates or replaces it where it differs from
/// `desired`, then runs the follow-ups the change needs and those still pending.
async fn converge_config(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    desired: &Value,
    schema: &TableSchema,
) -> Result<Synced, SyncError> {
    let name = &table.spec.table.table_name;
    let observed = cx
        .pinot
        .get_table(name, table.spec.table.table_type)
        .await?
        .map(without_type_suffix);
    let plan = plan(desired, observed.as_ref(), cx.applied_hash);
    // A table in sync needs nothing else from Pinot: one read per resync.
    if plan == Plan::Nothing && cx.pending_follow_ups.is_empty() {
        return Ok(Synced::new(Outcome::InSync));
    }
    let (outcome, needed) = match plan {
        Plan::Nothing => (Outcome::InSync, Default::default()),
        Plan::Create => {
            check_dependencies(cx, desired, schema).await?;
            cx.pinot.create_table(desired).await?;
            return Ok(Synced::new(Outcome::Created));
        }
        Plan::Update => {
            check_dependencies(cx, desired, schema).await?;
            cx.pinot.update_table(name, desired).await?;
            let before = observed.unwrap_or(Value::Null);
            (Outcome::Updated, follow_up::needed(&before, desired))
        }
    };
    Ok(follow(table, cx, outcome, &needed).await)
}

/// After a change (or none): runs the follow-ups it needs and those still pending, as
/// far as the spec allows, and says so.
async fn follow(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    outcome: Outcome,
    needed: &std::collections::BTreeSet<FollowUp>,
) -> Synced {
    let decision = follow_up::decide(needed, cx.pending_follow_ups, &table.spec.on_change);
    let mut synced = run_follow_ups(table, cx, &decision.run).await;
    synced.outcome = outcome;
    synced.notes.extend(decision.notes);
    synced
}

/// Before Pinot is asked to create or change the table: its schema and tenants must
/// be in Pinot (Pinot 0.11 accepts an OFFLINE table whose schema is missing). Asked of
/// Pinot only where the operator does not know.
async fn check_dependencies(
    cx: &SyncContext<'_>,
    desired: &Value,
    schema: &TableSchema,
) -> Result<(), SyncError> {
    if !schema.known_in_pinot {
        check_schema_in_pinot(cx, &schema.name).await?;
    }
    check_tenants(cx, desired).await
}

/// The schema `schemaRef` names must exist as a PinotSchema, be the one the table
/// uses, and have been synced to Pinot at least once (until then the table waits
/// without asking Pinot anything).
async fn check_schema_ref(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    desired: &Value,
) -> Result<TableSchema, SyncError> {
    // Pinot finds a table's schema by its table name (1.x only so; see pinot_document).
    let name = validate::table_schema_name(desired)
        .unwrap_or_default()
        .to_owned();
    let Some(schema_ref) = &table.spec.schema_ref else {
        let known_in_pinot = false;
        return Ok(TableSchema {
            name,
            known_in_pinot,
        });
    };
    let found = stores::find(cx.schemas, cx.kube, cx.namespace, &schema_ref.name).await?;
    let referenced = found.ok_or_else(|| {
        SyncError::SchemaNotFound(format!(
            "{name} (PinotSchema {} not found)",
            schema_ref.name
        ))
    })?;
    let referenced_name = &referenced.spec.schema.schema_name;
    if *referenced_name != name {
        return Err(SyncError::SchemaMismatch(format!(
            "schemaRef {} holds schema {referenced_name:?}, but Pinot finds the schema of table \
                 {name:?} by its name: the PinotSchema's schemaName must equal tableName",
            schema_ref.name
        )));
    }
    if referenced
        .status
        .as_ref()
        .is_none_or(|s| s.applied_hash.is_none())
    {
        let why = format!("{} (schema {name})", schema_ref.name);
        return Err(match is_new_and_unreconciled(&referenced) {
            true => SyncError::Waiting(why),
            false => SyncError::SchemaNotSynced(why),
        });
    }
    let known_in_pinot = cx.trusts_memory()
        && referenced.spec.cluster_ref.name == table.spec.cluster_ref.name
        && status::in_sync(referenced.as_ref());
    Ok(TableSchema {
        name,
        known_in_pinot,
    })
}

/// How long a table waits without a word on a schema no reconcile has looked at yet
/// (applied with it, in the same bulk apply): after that, it says it is waiting. A
/// bulk apply of 1,000 pairs on 2 cores left its last schemas unreconciled for 58 s
/// (Pinot takes the creates one by one); with 30 s here, 236 tables said so in status
/// and an Event for nothing.
const QUIET_WAIT_SECONDS: i64 = 120;

fn is_new_and_unreconciled(schema: &PinotSchema) -> bool {
    let reconciled = status::synced(schema).is_some();
    let age = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time| {
        Timestamp::now().as_second() - t.0.as_second()
    };
    let created = schema.metadata.creation_timestamp.as_ref();
    !reconciled && created.is_some_and(|t| age(t) < QUIET_WAIT_SECONDS)
}

async fn check_schema_in_pinot(cx: &SyncContext<'_>, schema_name: &str) -> Result<(), SyncError> {
    match cx.pinot.get_schema(schema_name).await? {
        Some(_) => Ok(()),
        None => Err(SyncError::SchemaNotFound(schema_name.to_owned())),
    }
}

/// Runs `follow_ups` one by one. A failure does not fail the sync (the change is in
/// Pinot): the follow-up stays pending and is retried at the next sync.
async fn run_follow_ups(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    follow_ups: &[FollowUp],
) -> Synced {
    let mut synced = Synced::new(Outcome::InSync);
    for follow_up in follow_ups {
        match run_follow_up(table, cx, *follow_up).await {
            Ok(note) => synced.notes.push(note),
            Err(e) => {
                synced.pending.push(*follow_up);
                synced.follow_up_failure.get_or_insert(FollowUpFailure {
                    message: format!("{} failed: {e}", describe(*follow_up)),
                    retry_soon: !e.needs_spec_change(),
                });
            }
        }
    }
    synced
}

/// One follow-up; returns the status note for it.
async fn run_follow_up(
    table: &PinotTable,
    cx: &SyncContext<'_>,
    follow_up: FollowUp,
) -> Result<String, SyncError> {
    let t = &table.spec.table;
    let table_type = t.table_type;
    match follow_up {
        FollowUp::Rebalance => {
            let opts = RebalanceOptions {
                reassign_instances: true,
                include_consuming: true,
                ..RebalanceOptions::default()
            };
            let result = cx.pinot.rebalance(&t.table_name, table_type, &opts).await?;
            Ok(format!("rebalance started: {:?}", result.status))
        }
        FollowUp::Reload => match cx.pinot.reload_table(&t.table_name, table_type).await? {
            Reload::Started => Ok("segment reload started".into()),
            Reload::NoSegments | Reload::NoTable => Ok("no segments to reload".into()),
        },
    }
}

/// Reads the REALTIME table's pause flag and pauses or resumes it only when it differs
/// from `desired` (after a create or update, so a new table is paused at once); returns
/// the call made.
async fn converge_consumption(
    cx: &SyncContext<'_>,
    name: &str,
    desired: Consumption,
) -> Result<Option<ConsumptionCall>, SyncError> {
    let paused = match cx.pinot.pause_status(name).await {
        Ok(status) => status.pause_flag,
        // Pinot before 0.11 has no pause API (404): a running table needs nothing.
        Err(e) if e.is_not_found() && desired == Consumption::Running => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let call = consumption_call(desired, paused);
    match call {
        Some(ConsumptionCall::Pause) => {
            cx.pinot.pause_consumption(name).await?;
        }
        Some(ConsumptionCall::Resume) => {
            cx.pinot.resume_consumption(name).await?;
        }
        None => {}
    }
    Ok(call)
}

/// The tenants a table names must exist (some instance carries their tag). Pinot's
/// list is remembered per cluster and asked again only when it lacks one of them, or
/// after a failed sync.
async fn check_tenants(cx: &SyncContext<'_>, desired: &Value) -> Result<(), SyncError> {
    let (server, broker) = tenants(desired);
    let remembered = cx
        .known
        .tenants
        .get(cx.cluster)
        .filter(|_| cx.trusts_memory());
    if remembered.is_some_and(|known| missing_tenant(&known, &server, &broker).is_none()) {
        return Ok(());
    }
    let known = (cx.known.tenants)
        .refresh(cx.cluster, cx.pinot.list_tenants())
        .await?;
    missing_tenant(&known, &server, &broker).map_or(Ok(()), Err)
}

/// Pure: which of the two tenants `known` lacks, as the error the table reports.
fn missing_tenant(known: &Tenants, server: &str, broker: &str) -> Option<SyncError> {
    if !known.server_tenants.iter().any(|t| t == server) {
        return Some(SyncError::TenantNotFound(format!(
            "server tenant {server:?} does not exist in Pinot"
        )));
    }
    if !known.broker_tenants.iter().any(|t| t == broker) {
        return Some(SyncError::TenantNotFound(format!(
            "broker tenant {broker:?} does not exist in Pinot"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pinot_s_suffixed_table_name_matches_the_spec() {
        let from_pinot = json!({"tableName": "events_OFFLINE", "tableType": "OFFLINE", "extra": 1});
        let spec = json!({"tableName": "events", "tableType": "OFFLINE"});
        assert!(crate::content::compare::covers(
            &without_type_suffix(from_pinot),
            &spec
        ));
    }

    #[test]
    fn consumption_is_only_touched_when_pinot_differs() {
        use ConsumptionCall::{Pause, Resume};
        assert_eq!(consumption_call(Consumption::Paused, false), Some(Pause));
        assert_eq!(consumption_call(Consumption::Running, true), Some(Resume));
        // Steady states: no call, so a resync makes no writes.
        assert_eq!(consumption_call(Consumption::Paused, true), None);
        assert_eq!(consumption_call(Consumption::Running, false), None);
    }

    #[test]
    fn consumption_notes_say_what_happened_and_a_standing_pause() {
        use ConsumptionCall::{Pause, Resume};
        let note = consumption_note;
        assert_eq!(
            note(Consumption::Paused, Some(Pause)),
            Some("consumption paused")
        );
        assert_eq!(
            note(Consumption::Running, Some(Resume)),
            Some("consumption resumed")
        );
        assert_eq!(
            note(Consumption::Paused, None),
            Some("consumption is paused")
        );
        assert_eq!(note(Consumption::Running, None), None);
    }

    #[test]
    fn unset_tenants_mean_the_default_tenant() {
        let doc = json!({"tableName": "t"});
        assert_eq!(
            tenants(&doc),
            ("DefaultTenant".into(), "DefaultTenant".into())
        );
    }
}

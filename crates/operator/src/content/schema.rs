//! `PinotSchema` → Pinot schema.

use api::{ContentStatus, DeletionPolicy, PinotSchema};
use pinot_client::{Reload, SchemaUpdate, TableType};
use serde_json::Value;

use super::compare::{covers, hash};
use super::error::SyncError;
use super::{ContentResource, Outcome, SyncContext, Synced, created, validate};

/// What to do with a schema, decided from what Pinot has.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    Create,
    Update,
    Nothing,
}

/// Pure: compare the spec's document with Pinot's.
pub fn plan(desired: &Value, observed: Option<&Value>, applied_hash: Option<&str>) -> Plan {
    match observed {
        None => Plan::Create,
        Some(actual) if !covers(actual, desired) => Plan::Update,
        // Pinot has every field, but the spec changed since the last apply (e.g. a
        // column was removed): send the new document.
        Some(_) if applied_hash.is_some_and(|h| h != hash(desired)) => Plan::Update,
        Some(_) => Plan::Nothing,
    }
}

/// Pinot answers 400 for backward-incompatible updates ("Backward incompatible schema",
/// "is not backward-compatible"); other 400s are plain rejections.
fn is_incompatible(e: &pinot_client::Error) -> bool {
    e.is_bad_request() && e.to_string().to_lowercase().contains("backward")
}

/// Tables in Pinot whose config uses schema `name`. Pinot 0.11 deletes a schema that an
/// OFFLINE table still uses without complaint (1.5.1 refuses with 409), so the
/// operator checks first, on every version, and names the tables.
async fn tables_using(cx: &SyncContext<'_>, name: &str) -> Result<Vec<String>, SyncError> {
    let mut users = vec![];
    for table in cx.pinot.list_tables().await? {
        for table_type in [TableType::Offline, TableType::Realtime] {
            let config = cx.pinot.get_table(&table, table_type).await?;
            if config.is_some_and(|c| validate::table_schema_name(&c) == Some(name)) {
                users.push(table_type.table_name_with_type(&table));
            }
        }
    }
    Ok(users)
}

impl ContentResource for PinotSchema {
    const CONTROLLER: &'static str = "pinotschema";

    /// Tables read schemas from the store this controller's watch feeds.
    fn cluster_name(&self) -> &str {
        &self.spec.cluster_ref.name
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn content_status(&self) -> Option<&ContentStatus> {
        self.status.as_ref()
    }

    fn pinot_object(&self) -> String {
        format!("schema {}", self.spec.schema.schema_name)
    }

    fn desired_hash(&self) -> String {
        hash(&self.spec.schema.to_json())
    }

    async fn sync(&self, cx: &SyncContext<'_>) -> Result<Synced, SyncError> {
        let desired = self.spec.schema.to_json();
        validate::schema(&desired)?;
        if cx.creates_first()
            && let Some(done) = created(cx.pinot.create_schema(&desired).await)?
        {
            return Ok(done);
        }
        let name = &self.spec.schema.schema_name;
        let observed = cx.pinot.get_schema(name).await?;
        match plan(&desired, observed.as_ref(), cx.applied_hash) {
            Plan::Nothing => Ok(Synced::new(Outcome::InSync)),
            Plan::Create => {
                cx.pinot.create_schema(&desired).await?;
                Ok(Synced::new(Outcome::Created))
            }
            Plan::Update => update(self, cx, &desired).await,
        }
    }

    async fn remove(&self, cx: &SyncContext<'_>) -> Result<(), SyncError> {
        let name = &self.spec.schema.schema_name;
        let users = tables_using(cx, name).await?;
        if !users.is_empty() {
            return Err(SyncError::SchemaInUse(format!(
                "used by {}",
                users.join(", ")
            )));
        }
        match cx.pinot.delete_schema(name).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) if e.is_conflict() => Err(SyncError::SchemaInUse(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}

async fn update(
    schema: &PinotSchema,
    cx: &SyncContext<'_>,
    desired: &Value,
) -> Result<Synced, SyncError> {
    let name = &schema.spec.schema.schema_name;
    let policy = &schema.spec.update_policy;
    let opts = SchemaUpdate {
        reload: policy.reload,
        force: false,
    };
    let (reload, forced) = match cx.pinot.update_schema(name, desired, opts).await {
        Ok(reload) => (reload, false),
        Err(e) if is_incompatible(&e) && policy.force => {
            let forced = SchemaUpdate {
                force: true,
                ..opts
            };
            (cx.pinot.update_schema(name, desired, forced).await?, true)
        }
        Err(e) if is_incompatible(&e) => {
            return Err(SyncError::IncompatibleSchemaChange(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let mut synced = Synced::new(Outcome::Updated);
    if forced {
        synced
            .notes
            .push("backward-incompatible change forced (updatePolicy.force)".into());
    }
    synced.notes.extend(reload_note(reload, name));
    Ok(synced)
}

/// What the reload that came with the update did, for the status message.
fn reload_note(reload: Option<Reload>, name: &str) -> Option<String> {
    match reload? {
        Reload::Started => Some(format!("reload of table {name} started")),
        Reload::NoSegments => Some(format!("table {name} has no segments to reload")),
        // A schema need not have a table of its name: nothing to reload is no failure.
        Reload::NoTable => Some(format!("no table named {name} to reload")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"schemaName": "events", "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING"}]})
    }

    #[test]
    fn missing_in_pinot_is_created() {
        assert_eq!(plan(&doc(), None, None), Plan::Create);
    }

    #[test]
    fn drift_in_pinot_is_updated() {
        let drifted = json!({"schemaName": "events", "dimensionFieldSpecs": [{"name": "a", "dataType": "INT"}]});
        assert_eq!(
            plan(&doc(), Some(&drifted), Some(&hash(&doc()))),
            Plan::Update
        );
    }

    #[test]
    fn equal_documents_need_nothing() {
        assert_eq!(
            plan(&doc(), Some(&doc()), Some(&hash(&doc()))),
            Plan::Nothing
        );
        // No status yet (e.g. adopted schema): coverage alone decides.
        assert_eq!(plan(&doc(), Some(&doc()), None), Plan::Nothing);
    }

    #[test]
    fn nothing_to_reload_is_said_not_failed() {
        assert_eq!(reload_note(None, "events"), None);
        assert_eq!(
            reload_note(Some(Reload::NoTable), "events").as_deref(),
            Some("no table named events to reload")
        );
        assert!(
            reload_note(Some(Reload::Started), "e")
                .unwrap()
                .contains("started")
        );
    }

    #[test]
    fn a_field_removed_from_the_spec_is_sent() {
        let old = json!({"schemaName": "events", "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING"}], "x": 1});
        assert_eq!(plan(&doc(), Some(&old), Some(&hash(&old))), Plan::Update);
    }
}

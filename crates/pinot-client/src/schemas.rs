//! Schemas: `/schemas`.

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::segments::Reload;

/// How [`PinotClient::update_schema`] applies a new schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaUpdate {
    /// Reload the tables that use the schema so existing segments pick up new columns.
    pub reload: bool,
    /// Also accept backward-incompatible changes, through
    /// `POST /schemas?override=true&force=true`. Pinot 1.x applies them (1.5.1
    /// observed); 0.11 has no such switch and still refuses them with 400.
    pub force: bool,
}

impl PinotClient {
    /// `GET /schemas`: names of all schemas.
    pub async fn list_schemas(&self) -> Result<Vec<String>, Error> {
        let mut names: Vec<String> = self.json(Request::new("GET /schemas", ["schemas"])).await?;
        names.sort();
        Ok(names)
    }

    /// `GET /schemas/{name}`: the schema JSON, `None` if there is none.
    pub async fn get_schema(&self, name: &str) -> Result<Option<Value>, Error> {
        let request = Request::new("GET /schemas/{name}", ["schemas", name]);
        none_if_not_found(self.json(request).await)
    }

    /// `POST /schemas?override=false`: fails with 409 ([`Error::is_conflict`]) if a
    /// schema of that name exists, instead of silently overwriting it.
    pub async fn create_schema(&self, schema: &Value) -> Result<(), Error> {
        let request = Request::new("POST /schemas", ["schemas"])
            .query("override", false)
            .json(schema);
        self.execute(request).await?;
        Ok(())
    }

    /// Replaces schema `name` (which must equal the body's `schemaName`).
    ///
    /// Without `force`: `PUT /schemas/{name}?reload=..`; 404 if it does not exist,
    /// 400 ([`Error::is_bad_request`]) if the change is backward-incompatible (only
    /// adding columns is allowed). With `force`: `POST /schemas?override=true&force=true`,
    /// then, if `reload`, a `PUT ..?reload=true` of the same schema (a no-op update that
    /// triggers the reload, since the forcing POST cannot reload).
    ///
    /// Returns what the reload did, `None` when none was asked for. A schema no table
    /// is named after has nothing to reload: Pinot updates it, then answers 404 "Failed
    /// to find table x to reload" (0.11 to 1.5), which is [`Reload::NoTable`] here.
    pub async fn update_schema(
        &self,
        name: &str,
        schema: &Value,
        opts: SchemaUpdate,
    ) -> Result<Option<Reload>, Error> {
        if opts.force {
            self.force_schema(schema).await?;
            if !opts.reload {
                return Ok(None);
            }
        }
        let request = Request::new("PUT /schemas/{name}", ["schemas", name])
            .query("reload", opts.reload)
            .json(schema);
        match self.execute(request).await {
            Ok(_) => Ok(opts.reload.then_some(Reload::Started)),
            Err(e) if opts.reload => Reload::from_not_found(&e).map(Some).ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /schemas/{name}`: 404 if missing; 409 ([`Error::is_conflict`]) while a
    /// table uses it. Pinot 0.11 only checks REALTIME tables and deletes the schema of
    /// an OFFLINE table without complaint, so callers that must not lose it check
    /// OFFLINE tables themselves; 1.5.1 checks both ("Cannot delete schema x, as it is
    /// associated with table y").
    pub async fn delete_schema(&self, name: &str) -> Result<(), Error> {
        self.execute(Request::new("DELETE /schemas/{name}", ["schemas", name]))
            .await?;
        Ok(())
    }

    async fn force_schema(&self, schema: &Value) -> Result<(), Error> {
        // Overwriting with the same document gives the same result: safe to retry.
        let request = Request::new("POST /schemas?force", ["schemas"])
            .query("override", true)
            .query("force", true)
            .json(schema)
            .idempotent();
        self.execute(request).await?;
        Ok(())
    }
}

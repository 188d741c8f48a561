//! Schemas: `/schemas`.

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;

/// How [`PinotClient::update_schema`] applies a new schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaUpdate {
    /// Reload the tables that use the schema so existing segments pick up new columns.
    pub reload: bool,
    /// Also accept backward-incompatible changes. Pinot only offers this on
    /// `POST /schemas?override=true&force=true` (1.x); Pinot 0.11 has no such
    /// switch, so there an incompatible schema is still refused with 400.
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
    pub async fn update_schema(
        &self,
        name: &str,
        schema: &Value,
        opts: SchemaUpdate,
    ) -> Result<(), Error> {
        if opts.force {
            self.force_schema(schema).await?;
            if !opts.reload {
                return Ok(());
            }
        }
        let request = Request::new("PUT /schemas/{name}", ["schemas", name])
            .query("reload", opts.reload)
            .json(schema);
        self.execute(request).await?;
        Ok(())
    }

    /// `DELETE /schemas/{name}`: 404 if missing; 409 if a REALTIME table uses it.
    /// Pinot (0.11 to 1.5) does NOT check OFFLINE tables: callers must.
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

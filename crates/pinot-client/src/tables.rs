//! Table configs: `/tables`.

use serde::Deserialize;
use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::types::TableType;

#[derive(Deserialize)]
struct TableList {
    tables: Vec<String>,
}

/// Whether a REALTIME table consumes from its stream: the answer of
/// `GET /tables/{name}/pauseStatus`, `POST .../pauseConsumption` and
/// `POST .../resumeConsumption`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseStatus {
    /// The table's pause flag (`isTablePaused` in its ideal state): set by a pause,
    /// cleared by a resume.
    pub pause_flag: bool,
    /// Segments CONSUMING right now. Right after a pause they are still listed while
    /// the servers commit them; once paused and committed the list is empty.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub consuming_segments: Vec<String>,
    /// Pinot's explanation (`description` in 0.11, `comment` in 1.x), if any.
    #[serde(default, alias = "comment")]
    pub description: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl PinotClient {
    /// `GET /tables`: raw table names (no `_OFFLINE`/`_REALTIME` suffix), each once
    /// even if the table is hybrid.
    pub async fn list_tables(&self) -> Result<Vec<String>, Error> {
        let list: TableList = self.json(Request::new("GET /tables", ["tables"])).await?;
        Ok(list.tables)
    }

    /// `GET /tables/{name}?type=..`: the table config of that type, `None` if missing.
    ///
    /// Pinot wraps the config as `{"OFFLINE": {...}}`; this returns the inner object.
    /// A missing table is `200 {}` up to 1.3 and `404` from 1.4: both are `None`.
    pub async fn get_table(
        &self,
        name: &str,
        table_type: TableType,
    ) -> Result<Option<Value>, Error> {
        let request =
            Request::new("GET /tables/{name}", ["tables", name]).query("type", table_type);
        let wrapped: Option<Value> = none_if_not_found(self.json(request).await)?;
        Ok(wrapped.and_then(|w| unwrap_table(w, table_type)))
    }

    /// `POST /tables`: 409 if the table exists, 400 if the config is invalid (including
    /// a missing schema or a tenant without instances).
    pub async fn create_table(&self, config: &Value) -> Result<(), Error> {
        self.execute(Request::new("POST /tables", ["tables"]).json(config))
            .await?;
        Ok(())
    }

    /// `PUT /tables/{name}`: replaces the config. `name` is the raw name (or the name
    /// with type); the config's `tableName`/`tableType` pick which table is updated.
    /// 404 if it does not exist.
    pub async fn update_table(&self, name: &str, config: &Value) -> Result<(), Error> {
        let request = Request::new("PUT /tables/{name}", ["tables", name]).json(config);
        self.execute(request).await?;
        Ok(())
    }

    /// `DELETE /tables/{name}?type=..[&retention=..]`: deletes the table of that type and,
    /// after `retention` (e.g. `"0d"` for at once; Pinot's default is 7 days), its
    /// segments. 404 if there is no such table.
    pub async fn delete_table(
        &self,
        name: &str,
        table_type: TableType,
        retention: Option<&str>,
    ) -> Result<(), Error> {
        let mut request =
            Request::new("DELETE /tables/{name}", ["tables", name]).query("type", table_type);
        if let Some(retention) = retention {
            request = request.query("retention", retention);
        }
        self.execute(request).await?;
        Ok(())
    }

    /// `POST /tables/{name}/pauseConsumption`: stops consumption of the REALTIME table
    /// `name` (raw name or `x_REALTIME`). Pinot sets the pause flag and has the servers
    /// commit their CONSUMING segments, so what was consumed stays queryable; no new
    /// consuming segments are created until [`PinotClient::resume_consumption`].
    /// Pausing a paused table is harmless.
    pub async fn pause_consumption(&self, name: &str) -> Result<PauseStatus, Error> {
        let request = Request::new(
            "POST /tables/{name}/pauseConsumption",
            ["tables", name, "pauseConsumption"],
        )
        .idempotent();
        self.json(request).await
    }

    /// `POST /tables/{name}/forceCommit` (0.11 and 1.x; a raw name or one with
    /// `_REALTIME`): asks the servers to commit every CONSUMING segment of the table
    /// now and to go on consuming in new segments from where those end. Asynchronous:
    /// the answer comes before the commits (0.11 answers an empty 200, 1.x a job id
    /// this client does not read); watch the segments turn ONLINE in the external
    /// view. Repeating it commits the new consuming segments too.
    pub async fn force_commit(&self, name: &str) -> Result<(), Error> {
        let request = Request::new(
            "POST /tables/{name}/forceCommit",
            ["tables", name, "forceCommit"],
        );
        self.execute(request).await?;
        Ok(())
    }

    /// `POST /tables/{name}/resumeConsumption`: clears the pause flag and creates new
    /// consuming segments, which continue from the offsets the committed segments
    /// ended at (Pinot's default without `consumeFrom`), so nothing produced while
    /// paused is skipped. Resuming a running table is harmless.
    pub async fn resume_consumption(&self, name: &str) -> Result<PauseStatus, Error> {
        let request = Request::new(
            "POST /tables/{name}/resumeConsumption",
            ["tables", name, "resumeConsumption"],
        )
        .idempotent();
        self.json(request).await
    }

    /// `GET /tables/{name}/pauseStatus`: the pause flag and the CONSUMING segments of
    /// the REALTIME table `name`.
    pub async fn pause_status(&self, name: &str) -> Result<PauseStatus, Error> {
        let request = Request::new(
            "GET /tables/{name}/pauseStatus",
            ["tables", name, "pauseStatus"],
        );
        self.json(request).await
    }

    /// `POST /tables/validate`: checks a config against its schema without creating the
    /// table. Returns Pinot's answer (`{"OFFLINE": <normalised config>,
    /// "unrecognizedProperties": {...}}`); an invalid config is an [`Error::Http`] 400.
    pub async fn validate_table(&self, config: &Value) -> Result<Value, Error> {
        let request = Request::new("POST /tables/validate", ["tables", "validate"])
            .json(config)
            .idempotent();
        self.json(request).await
    }
}

/// `{"OFFLINE": {...}}` -> `{...}`; `{}` (Pinot <= 1.3 for a missing table) -> `None`.
pub(crate) fn unwrap_table(mut wrapped: Value, table_type: TableType) -> Option<Value> {
    match wrapped.get_mut(table_type.as_str()).map(Value::take) {
        Some(Value::Null) | None => None,
        Some(config) => Some(config),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unwraps_the_requested_type() {
        let wrapped =
            json!({"OFFLINE": {"tableName": "t_OFFLINE"}, "REALTIME": {"tableName": "t_REALTIME"}});
        assert_eq!(
            unwrap_table(wrapped.clone(), TableType::Offline),
            Some(json!({"tableName": "t_OFFLINE"}))
        );
        assert_eq!(
            unwrap_table(wrapped, TableType::Realtime),
            Some(json!({"tableName": "t_REALTIME"}))
        );
    }

    #[test]
    fn pause_status_in_both_pinot_styles() {
        // 0.11, as observed (tests/pinot.rs).
        let v011: PauseStatus = serde_json::from_value(json!({"pauseFlag": true,
            "consumingSegments": ["t__0__0__20240101T0000Z"],
            "description": "Pause flag is set. Consuming segments are being committed."}))
        .unwrap();
        assert!(v011.pause_flag);
        assert_eq!(v011.consuming_segments.len(), 1);
        assert!(v011.description.unwrap().contains("committed"));
        // 1.x: `comment`, a reason code and a timestamp; `pauseStatus` without a comment.
        let v1: PauseStatus = serde_json::from_value(json!({"pauseFlag": false,
            "consumingSegments": null, "reasonCode": "ADMINISTRATIVE",
            "comment": "resumed", "timestamp": "2026-01-01T00:00:00Z"}))
        .unwrap();
        assert!(!v1.pause_flag);
        assert!(v1.consuming_segments.is_empty());
        assert_eq!(v1.description.as_deref(), Some("resumed"));
    }

    #[test]
    fn empty_object_means_missing() {
        assert_eq!(unwrap_table(json!({}), TableType::Offline), None);
        assert_eq!(
            unwrap_table(json!({"OFFLINE": null}), TableType::Offline),
            None
        );
        assert_eq!(
            unwrap_table(json!({"REALTIME": {"a": 1}}), TableType::Offline),
            None
        );
    }
}

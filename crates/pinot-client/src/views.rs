//! Segment placement: a table's ideal state (what Helix wants) and external view
//! (what the servers report).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::types::TableType;

/// segment name -> instance id -> state (`ONLINE`, `CONSUMING`, `OFFLINE`, `ERROR`, ...).
pub type SegmentStates = BTreeMap<String, BTreeMap<String, String>>;

impl PinotClient {
    /// `GET /tables/{table}/externalview?tableType=..`. Helix creates a table's external
    /// view only once a segment is assigned, and Pinot answers 404 until then: that is
    /// an empty map here (whether the table exists is told by [`Self::ideal_state`]).
    pub async fn external_view(
        &self,
        table: &str,
        table_type: TableType,
    ) -> Result<SegmentStates, Error> {
        let request = Request::new(
            "GET /tables/{name}/externalview",
            ["tables", table, "externalview"],
        )
        .query("tableType", table_type);
        let view: Option<Value> = none_if_not_found(self.json(request).await)?;
        let view = view.unwrap_or(Value::Null);
        segment_states(view, table_type)
            .map_err(|m| Error::decode("GET /tables/{name}/externalview", m))
    }

    /// `GET /tables/{table}/idealstate?tableType=..`; 404 ([`Error::is_not_found`]) if
    /// the table does not exist.
    pub async fn ideal_state(
        &self,
        table: &str,
        table_type: TableType,
    ) -> Result<SegmentStates, Error> {
        let request = Request::new(
            "GET /tables/{name}/idealstate",
            ["tables", table, "idealstate"],
        )
        .query("tableType", table_type);
        let view: Value = self.json(request).await?;
        segment_states(view, table_type)
            .map_err(|m| Error::decode("GET /tables/{name}/idealstate", m))
    }
}

/// Picks `{"OFFLINE": {...}, "REALTIME": null}[type]`; absent or null is empty.
pub(crate) fn segment_states(
    mut view: Value,
    table_type: TableType,
) -> Result<SegmentStates, String> {
    match view.get_mut(table_type.as_str()).map(Value::take) {
        None | Some(Value::Null) => Ok(SegmentStates::new()),
        Some(states) => serde_json::from_value(states).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn picks_the_type() {
        let view = json!({
            "OFFLINE": {"seg_0": {"Server_a_8098": "ONLINE", "Server_b_8098": "OFFLINE"}},
            "REALTIME": null
        });
        let states = segment_states(view.clone(), TableType::Offline).unwrap();
        assert_eq!(states["seg_0"]["Server_a_8098"], "ONLINE");
        assert_eq!(states["seg_0"].len(), 2);
        assert!(
            segment_states(view, TableType::Realtime)
                .unwrap()
                .is_empty()
        );
        assert!(
            segment_states(Value::Null, TableType::Offline)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_states_are_an_error() {
        assert!(segment_states(json!({"OFFLINE": {"s": 3}}), TableType::Offline).is_err());
    }
}

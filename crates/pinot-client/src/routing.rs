//! A broker's routing: which server it would send each segment of a table to. Asked
//! of one broker (the client's base URL is the broker's, not the controller's).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;

/// instance id -> the segments a query would be sent to it for.
pub type Routes = BTreeMap<String, Vec<String>>;

impl PinotClient {
    /// `GET /debug/routingTable/{table}` on a broker (0.11 and 1.x), for a table name
    /// with its type. Each call is one query's pick: a balanced broker rotates over a
    /// segment's replicas from call to call, so one call shows one replica per
    /// segment. Empty when the broker has no routing for the table (404).
    pub async fn routing_table(&self, table_with_type: &str) -> Result<Routes, Error> {
        let endpoint = "GET /debug/routingTable/{table}";
        let request = Request::new(endpoint, ["debug", "routingTable", table_with_type]);
        let answer: Option<Value> = none_if_not_found(self.json(request).await)?;
        let Some(answer) = answer else {
            return Ok(Routes::new());
        };
        routes(answer, table_with_type).map_err(|m| Error::decode(endpoint, m))
    }
}

/// Picks `{"t_OFFLINE": {"Server_..": ["s0", ..]}}[table]`; absent is empty.
fn routes(mut answer: Value, table_with_type: &str) -> Result<Routes, String> {
    match answer.get_mut(table_with_type).map(Value::take) {
        None | Some(Value::Null) => Ok(Routes::new()),
        Some(table) => serde_json::from_value(table).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_table_asked_for() {
        let answer = json!({"t_OFFLINE": {"Server_a_8098": ["s0", "s1"], "Server_b_8098": []}});
        let routes = routes(answer, "t_OFFLINE").unwrap();
        assert_eq!(routes["Server_a_8098"], ["s0", "s1"]);
        assert!(routes["Server_b_8098"].is_empty());
    }

    #[test]
    fn another_table_or_nothing_is_empty() {
        assert!(
            routes(json!({"u_OFFLINE": {}}), "t_OFFLINE")
                .unwrap()
                .is_empty()
        );
        assert!(routes(json!({"t_OFFLINE": ["x"]}), "t_OFFLINE").is_err());
    }
}

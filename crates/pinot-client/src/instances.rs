//! Instances (controllers, brokers, servers, minions): `/instances`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;

/// Pinot's own 10 s wait in enable/disable, plus slack for the round trip.
const INSTANCE_TOGGLE_TIMEOUT: Duration = Duration::from_secs(15);

/// What kind of process an instance is, from its id prefix (`Server_host_8098`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceKind {
    Controller,
    Broker,
    Server,
    Minion,
}

impl InstanceKind {
    /// Pinot's `InstanceType` name.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::Controller => "CONTROLLER",
            InstanceKind::Broker => "BROKER",
            InstanceKind::Server => "SERVER",
            InstanceKind::Minion => "MINION",
        }
    }

    /// The kind encoded in a Pinot instance id, if it has one of the standard prefixes.
    pub fn of_id(id: &str) -> Option<Self> {
        let (prefix, _) = id.split_once('_')?;
        match prefix {
            "Controller" => Some(InstanceKind::Controller),
            "Broker" => Some(InstanceKind::Broker),
            "Server" => Some(InstanceKind::Server),
            "Minion" => Some(InstanceKind::Minion),
            _ => None,
        }
    }
}

/// One instance as `GET /instances/{id}` reports it. Fields Pinot may omit are
/// `Option`s; everything Pinot said is kept in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub host: String,
    pub port: Option<u16>,
    pub tags: Vec<String>,
    /// Whether Helix has the instance enabled (not whether it is alive).
    pub enabled: bool,
    /// Pool number per tenant tag (pool-based instance assignment); empty if unset.
    pub pools: BTreeMap<String, i32>,
    pub admin_port: Option<u16>,
    pub grpc_port: Option<u16>,
    pub queries_disabled: bool,
    /// `None` before Pinot 1.5.0, which added the field.
    pub shutdown_in_progress: Option<bool>,
    pub raw: Value,
}

impl Instance {
    pub fn kind(&self) -> Option<InstanceKind> {
        InstanceKind::of_id(&self.id)
    }

    /// Reads Pinot's instance JSON, tolerating numbers sent as strings (0.11 sends
    /// `"port": "8098"`) and `-1` for "not set".
    pub(crate) fn from_json(raw: Value) -> Result<Self, String> {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("instanceName").ok_or("no instanceName")?;
        Ok(Instance {
            host: text("hostName").unwrap_or_default(),
            port: port(raw.get("port")),
            tags: string_list(raw.get("tags")),
            enabled: flag(raw.get("enabled")).unwrap_or(false),
            pools: pools(raw.get("pools")),
            admin_port: port(raw.get("adminPort")),
            grpc_port: port(raw.get("grpcPort")),
            queries_disabled: flag(raw.get("queriesDisabled")).unwrap_or(false),
            shutdown_in_progress: flag(raw.get("shutdownInProgress")),
            id,
            raw,
        })
    }
}

#[derive(Deserialize)]
struct InstanceList {
    instances: Vec<String>,
}

impl PinotClient {
    /// `GET /instances`: ids of every instance registered in the cluster, live or not.
    pub async fn list_instances(&self) -> Result<Vec<String>, Error> {
        let list: InstanceList = self
            .json(Request::new("GET /instances", ["instances"]))
            .await?;
        Ok(list.instances)
    }

    /// `GET /instances/{id}`; `None` if no such instance is registered.
    pub async fn get_instance(&self, id: &str) -> Result<Option<Instance>, Error> {
        let endpoint = "GET /instances/{id}";
        let raw: Option<Value> =
            none_if_not_found(self.json(Request::new(endpoint, ["instances", id])).await)?;
        raw.map(|raw| Instance::from_json(raw).map_err(|m| Error::decode(endpoint, m)))
            .transpose()
    }

    /// `PUT /instances/{id}/updateTags`: replaces the instance's tags. For brokers it also
    /// updates the broker resource (`updateBrokerResource=true`) so routing follows the
    /// new tags at once; Pinot ignores that flag for other instances.
    pub async fn update_instance_tags(&self, id: &str, tags: &[String]) -> Result<(), Error> {
        let request = Request::new(
            "PUT /instances/{id}/updateTags",
            ["instances", id, "updateTags"],
        )
        .query("tags", tags.join(","))
        .query("updateBrokerResource", true);
        self.execute(request).await?;
        Ok(())
    }

    /// Enables or disables the instance in Helix (a disabled server's segments go
    /// OFFLINE in the external view). Uses `POST /instances/{id}/state` with a
    /// `text/plain` body, the only form 0.11 has; newer releases keep it (deprecated).
    ///
    /// Pinot waits up to 10 s for the instance's segments to settle before answering,
    /// and answers 500 "... failed, timeout" when they do not (e.g. enabling an instance
    /// that is not running; the Helix flag is set all the same). So this call gets a
    /// longer timeout, and its 5xx is not retried: a repeat would just wait again.
    pub async fn set_instance_enabled(&self, id: &str, enabled: bool) -> Result<(), Error> {
        let state = if enabled { "enable" } else { "disable" };
        let request = Request::new("POST /instances/{id}/state", ["instances", id, "state"])
            .text(state)
            .min_timeout(INSTANCE_TOGGLE_TIMEOUT);
        self.execute(request).await?;
        Ok(())
    }

    /// Sets the instance's pool number per tenant tag (empty: no pools), for pool-based
    /// replica-group assignment. See [`PinotClient::update_instance`].
    pub async fn update_instance_pools(
        &self,
        id: &str,
        pools: &BTreeMap<String, i32>,
    ) -> Result<(), Error> {
        let change = InstanceChange {
            pools: Some(pools.clone()),
            ..InstanceChange::default()
        };
        self.update_instance(id, &change).await
    }

    /// Sets or clears `queriesDisabled`: brokers route no query to a server that has it
    /// (both 0.11 and 1.x), while it keeps its segments ONLINE. See
    /// [`PinotClient::update_instance`].
    pub async fn set_queries_disabled(&self, id: &str, disabled: bool) -> Result<(), Error> {
        let change = InstanceChange {
            queries_disabled: Some(disabled),
            ..InstanceChange::default()
        };
        self.update_instance(id, &change).await
    }

    /// Pinot offers pools and `queriesDisabled` only through `PUT /instances/{id}`,
    /// which replaces the instance's host, ports, tags, pools and flag (other fields,
    /// such as `shutdownInProgress`, are kept). So this reads the instance first and
    /// writes it back with `change` applied. Not atomic: a tag change made by someone
    /// else between the two calls is lost. 404 if unknown.
    pub async fn update_instance(&self, id: &str, change: &InstanceChange) -> Result<(), Error> {
        let endpoint = "PUT /instances/{id}";
        let current: Value = self
            .json(Request::new("GET /instances/{id}", ["instances", id]))
            .await?;
        let body = instance_body(id, &current, change).map_err(|m| Error::decode(endpoint, m))?;
        let request = Request::new(endpoint, ["instances", id])
            .query("updateBrokerResource", false)
            .json(&body);
        self.execute(request).await?;
        Ok(())
    }

    /// `DELETE /instances/{id}`: removes a stopped instance. 409 while it is alive or
    /// still in some ideal state; 404 if unknown.
    pub async fn drop_instance(&self, id: &str) -> Result<(), Error> {
        self.execute(Request::new("DELETE /instances/{id}", ["instances", id]))
            .await?;
        Ok(())
    }
}

/// What [`PinotClient::update_instance`] changes; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceChange {
    pub pools: Option<BTreeMap<String, i32>>,
    pub queries_disabled: Option<bool>,
}

/// Pinot's `Instance` JSON for `PUT /instances/{id}`: `current` (as `GET` returned it)
/// with `change` applied. Ports absent from `current` are sent as -1 ("not set").
fn instance_body(id: &str, current: &Value, change: &InstanceChange) -> Result<Value, String> {
    let kind =
        InstanceKind::of_id(id).ok_or_else(|| format!("{id} has no instance type prefix"))?;
    let host = current
        .get("hostName")
        .and_then(Value::as_str)
        .ok_or("no hostName")?;
    let port_or_unset = |key: &str| port(current.get(key)).map_or(-1, i32::from);
    Ok(json!({
        "host": host,
        "port": port_or_unset("port"),
        "type": kind.as_str(),
        "tags": string_list(current.get("tags")),
        "pools": change.pools.clone().unwrap_or_else(|| pools(current.get("pools"))),
        "grpcPort": port_or_unset("grpcPort"),
        "adminPort": port_or_unset("adminPort"),
        "queryServicePort": port_or_unset("queryServicePort"),
        "queryMailboxPort": port_or_unset("queryMailboxPort"),
        "queriesDisabled": change
            .queries_disabled
            .unwrap_or_else(|| flag(current.get("queriesDisabled")).unwrap_or(false)),
    }))
}

fn port(value: Option<&Value>) -> Option<u16> {
    let number = match value? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(number).ok().filter(|p| *p > 0)
}

fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    let items = value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn pools(value: Option<&Value>) -> BTreeMap<String, i32> {
    let Some(map) = value.and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    map.iter()
        .filter_map(|(tag, pool)| Some((tag.clone(), number(pool)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_a_0_11_server() {
        let raw = json!({
            "instanceName": "Server_127.0.0.1_8098", "hostName": "127.0.0.1", "enabled": true,
            "port": "8098", "tags": ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"],
            "pools": null, "grpcPort": 8090, "adminPort": 8097, "queryServicePort": -1,
            "queryMailboxPort": -1, "systemResourceInfo": {"numCores": "2"}
        });
        let instance = Instance::from_json(raw.clone()).unwrap();
        assert_eq!(instance.id, "Server_127.0.0.1_8098");
        assert_eq!(instance.host, "127.0.0.1");
        assert_eq!(instance.port, Some(8098));
        assert_eq!(
            instance.tags,
            ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]
        );
        assert!(instance.enabled);
        assert!(instance.pools.is_empty());
        assert_eq!(instance.admin_port, Some(8097));
        assert_eq!(instance.grpc_port, Some(8090));
        assert!(!instance.queries_disabled);
        assert_eq!(instance.shutdown_in_progress, None);
        assert_eq!(instance.kind(), Some(InstanceKind::Server));
        assert_eq!(instance.raw, raw);
    }

    #[test]
    fn reads_newer_fields() {
        let raw = json!({
            "instanceName": "Broker_b_8099", "hostName": "b", "enabled": false, "port": 8099,
            "tags": [], "pools": {"DefaultTenant_OFFLINE": "1", "x": 2}, "grpcPort": -1,
            "queriesDisabled": "true", "shutdownInProgress": false
        });
        let instance = Instance::from_json(raw).unwrap();
        assert_eq!(instance.port, Some(8099));
        assert_eq!(instance.grpc_port, None);
        assert_eq!(
            instance.pools,
            BTreeMap::from([("DefaultTenant_OFFLINE".into(), 1), ("x".into(), 2)])
        );
        assert!(instance.queries_disabled);
        assert_eq!(instance.shutdown_in_progress, Some(false));
        assert_eq!(instance.kind(), Some(InstanceKind::Broker));
    }

    #[test]
    fn pool_update_keeps_everything_else() {
        let current = json!({
            "instanceName": "Server_127.0.0.1_8098", "hostName": "127.0.0.1", "enabled": true,
            "port": "8098", "tags": ["DefaultTenant_OFFLINE"], "pools": null, "grpcPort": 8090,
            "adminPort": 8097, "queryServicePort": -1, "queryMailboxPort": -1
        });
        let change = InstanceChange {
            pools: Some(BTreeMap::from([("DefaultTenant_OFFLINE".to_string(), 1)])),
            ..InstanceChange::default()
        };
        let body = instance_body("Server_127.0.0.1_8098", &current, &change).unwrap();
        assert_eq!(
            body,
            json!({"host": "127.0.0.1", "port": 8098, "type": "SERVER", "tags": ["DefaultTenant_OFFLINE"],
                   "pools": {"DefaultTenant_OFFLINE": 1}, "grpcPort": 8090, "adminPort": 8097,
                   "queryServicePort": -1, "queryMailboxPort": -1, "queriesDisabled": false})
        );
        assert!(instance_body("weird", &current, &change).is_err());
    }

    #[test]
    fn disabling_queries_keeps_pools_and_everything_else() {
        let current = json!({
            "instanceName": "Server_h_8098", "hostName": "h", "port": 8098,
            "tags": ["T_OFFLINE"], "pools": {"T_OFFLINE": "1"}, "grpcPort": -1
        });
        let change = InstanceChange {
            queries_disabled: Some(true),
            ..InstanceChange::default()
        };
        let body = instance_body("Server_h_8098", &current, &change).unwrap();
        assert_eq!(body["pools"], json!({"T_OFFLINE": 1}));
        assert_eq!(body["tags"], json!(["T_OFFLINE"]));
        assert_eq!(body["queriesDisabled"], json!(true));
        assert_eq!(body["grpcPort"], json!(-1));
    }

    #[test]
    fn instance_without_name_is_rejected() {
        assert!(Instance::from_json(json!({"hostName": "x"})).is_err());
    }

    #[test]
    fn kinds_from_ids() {
        assert_eq!(
            InstanceKind::of_id("Minion_h_9514"),
            Some(InstanceKind::Minion)
        );
        assert_eq!(
            InstanceKind::of_id("Controller_h_9000"),
            Some(InstanceKind::Controller)
        );
        assert_eq!(InstanceKind::of_id("h_9000"), None);
        assert_eq!(InstanceKind::of_id("nounderscore"), None);
    }
}

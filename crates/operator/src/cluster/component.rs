//! The five kinds of workload a `PinotCluster` runs, in deployment order, and what
//! the operator knows about each Pinot role: ports, health endpoints, file names.

use std::fmt;

/// A workload kind. The declaration order is the deployment order: ZooKeeper, then
/// controllers, brokers, servers, minions (PINOT-NOTES "Safe restarts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Zookeeper,
    Controller,
    Broker,
    Server,
    Minion,
}

/// The Pinot roles, in rollout order.
pub const PINOT_ROLES: [Component; 4] = [
    Component::Controller,
    Component::Broker,
    Component::Server,
    Component::Minion,
];

/// A named container port of a Pinot role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePort {
    pub name: &'static str,
    /// The `.conf` key that sets it, so a user override moves the container port,
    /// probes and Services along with it (the Helm chart's server-port bug).
    pub key: &'static str,
    pub default: i32,
}

impl Component {
    /// Lower-case name used in object names and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Zookeeper => "zookeeper",
            Component::Controller => "controller",
            Component::Broker => "broker",
            Component::Server => "server",
            Component::Minion => "minion",
        }
    }

    /// Prefix of the role's Pinot instance ids (`Server_<host>_<port>`).
    pub fn instance_prefix(self) -> &'static str {
        match self {
            Component::Zookeeper => "",
            Component::Controller => "Controller",
            Component::Broker => "Broker",
            Component::Server => "Server",
            Component::Minion => "Minion",
        }
    }

    /// `PinotAdministrator` sub-command that starts the role.
    pub fn start_command(self) -> &'static str {
        match self {
            Component::Zookeeper => "StartZookeeper",
            Component::Controller => "StartController",
            Component::Broker => "StartBroker",
            Component::Server => "StartServer",
            Component::Minion => "StartMinion",
        }
    }

    /// Container ports; the first one is the one in the Pinot instance id.
    pub fn ports(self) -> Vec<RolePort> {
        let port = |name, key, default| RolePort { name, key, default };
        match self {
            Component::Zookeeper => vec![],
            Component::Controller => vec![port("http", "controller.port", 9000)],
            Component::Broker => vec![port("http", "pinot.broker.client.queryPort", 8099)],
            Component::Server => vec![
                port("netty", "pinot.server.netty.port", 8098),
                port("admin", "pinot.server.adminapi.port", 8097),
            ],
            Component::Minion => vec![port("http", "pinot.minion.port", 9514)],
        }
    }

    /// Name of the port that serves the health endpoints.
    pub fn health_port(self) -> &'static str {
        match self {
            Component::Server => "admin",
            _ => "http",
        }
    }

    /// Readiness and liveness paths (Pinot's own; they need no authentication).
    pub fn health_paths(self) -> (&'static str, &'static str) {
        match self {
            Component::Server => ("/health/readiness", "/health/liveness"),
            _ => ("/health", "/health"),
        }
    }

    /// Where the role keeps data, if it has a persistent volume.
    pub fn data_dir(self) -> Option<&'static str> {
        match self {
            Component::Controller => Some("/var/pinot/controller/data"),
            Component::Server => Some("/var/pinot/server/data"),
            Component::Zookeeper => Some("/data"),
            Component::Broker | Component::Minion => None,
        }
    }

    /// Whether pods of this role always get a data PersistentVolumeClaim. Controllers
    /// (the segment store when no deep store is configured) and servers (segments)
    /// keep data across restarts; minions only keep task scratch space (a claim when
    /// the spec asks, see `desired::pool`), brokers nothing.
    pub fn has_volume(self) -> bool {
        self.data_dir().is_some()
    }

    /// Default `terminationGracePeriodSeconds` (documented on the API field). Servers
    /// drain queries for up to `pinot.server.shutdown.noQueryThresholdMs` within a 10 min
    /// cap; brokers sleep out [`Component::pre_stop_seconds`], then wait
    /// `delayShutdownTimeMs` (10 s) after leaving: both get well above that.
    pub fn default_grace_seconds(self) -> i64 {
        match self {
            Component::Server => 300,
            Component::Broker => 90,
            _ => 30,
        }
    }

    /// How long a pod keeps serving after it is deleted, before its process is told
    /// to stop (a `preStop` sleep). Only brokers need it: Kubernetes takes a deleted
    /// pod out of the Service endpoints at once, but clients keep the keep-alive
    /// connections they already have. Pinot's HTTP server (Grizzly, in 0.11 and 1.x)
    /// closes a keep-alive connection after 256 requests or 30 s idle, so within 35 s a
    /// client sending 8 or more queries a second, or an idle one, has reconnected
    /// through the Service to another broker before this one stops.
    /// A server needs none: on SIGTERM Pinot sets `shutdownInProgress`, which brokers
    /// route around, and waits for its queries to drain before it stops.
    pub fn pre_stop_seconds(self) -> Option<i64> {
        (self == Component::Broker).then_some(35)
    }

    /// Default data volume size when the spec sets none.
    pub fn default_storage(self) -> &'static str {
        match self {
            Component::Server => "100Gi",
            _ => "10Gi",
        }
    }

    /// Directory the rendered `.conf` is mounted at, and its file name.
    pub fn config_path(self) -> (String, String) {
        let role = self.as_str();
        (
            format!("/var/pinot/{role}/config"),
            format!("pinot-{role}.conf"),
        )
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_order_is_zookeeper_controller_broker_server_minion() {
        let mut all = [
            Component::Minion,
            Component::Server,
            Component::Zookeeper,
            Component::Broker,
            Component::Controller,
        ];
        all.sort();
        assert_eq!(
            all.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            ["zookeeper", "controller", "broker", "server", "minion"]
        );
    }

    #[test]
    fn only_controllers_servers_and_zookeeper_keep_data() {
        assert!(Component::Controller.has_volume());
        assert!(Component::Server.has_volume());
        assert!(!Component::Broker.has_volume());
        assert!(!Component::Minion.has_volume());
    }
}

//! Where one Pinot test cluster lives on disk and on the network.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::process::free_port;

/// Number of Pinot servers the cluster runs: two, so tables can have two replicas and
/// tenants can be split.
pub const SERVERS: usize = 2;

/// The loopback host every process binds to and registers under; Pinot instance ids are
/// `<Role>_<host>_<port>`.
pub const HOST: &str = "127.0.0.1";

const LOG4J2: &str = include_str!("../../assets/pinot/log4j2.xml");
const KAFKA_LOG4J: &str = include_str!("../../assets/pinot/kafka-log4j.properties");
const KAFKA_TOOLS_LOG4J: &str = include_str!("../../assets/pinot/kafka-tools-log4j.properties");

/// Directories and config files of one cluster, under its temporary directory. Each
/// process gets its own working directory with a `tmp/` that is its `java.io.tmpdir`:
/// Pinot puts defaults there (minion work dirs, pid files, server scratch data), and
/// several test binaries running at once must not share them.
#[derive(Debug, Clone)]
pub struct Layout {
    pub logs: PathBuf,
    pub log4j2: PathBuf,
    pub kafka_log4j: PathBuf,
    pub kafka_tools_log4j: PathBuf,
    pub zookeeper: PathBuf,
    pub controller: PathBuf,
    pub broker: PathBuf,
    pub servers: [PathBuf; SERVERS],
    pub minion: PathBuf,
    pub kafka: PathBuf,
}

impl Layout {
    pub fn create(root: &Path) -> anyhow::Result<Layout> {
        let conf = root.join("conf");
        let layout = Layout {
            logs: root.join("logs"),
            log4j2: conf.join("log4j2.xml"),
            kafka_log4j: conf.join("kafka-log4j.properties"),
            kafka_tools_log4j: conf.join("kafka-tools-log4j.properties"),
            zookeeper: root.join("zookeeper"),
            controller: root.join("controller"),
            broker: root.join("broker"),
            servers: std::array::from_fn(|i| root.join(format!("server-{i}"))),
            minion: root.join("minion"),
            kafka: root.join("kafka"),
        };
        std::fs::create_dir_all(&layout.logs)?;
        std::fs::create_dir_all(&conf)?;
        for dir in layout.process_dirs() {
            std::fs::create_dir_all(dir.join("tmp"))?;
        }
        std::fs::write(&layout.log4j2, LOG4J2)?;
        std::fs::write(&layout.kafka_log4j, KAFKA_LOG4J)?;
        std::fs::write(&layout.kafka_tools_log4j, KAFKA_TOOLS_LOG4J)?;
        Ok(layout)
    }

    fn process_dirs(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.zookeeper, &self.controller, &self.broker]
            .into_iter()
            .chain(&self.servers)
            .chain([&self.minion, &self.kafka])
    }
}

/// A server's listening ports. gRPC is on by default in Pinot 0.11 and would default to
/// 8090 for both servers; the multi-stage engine's two ports exist from 1.x.
#[derive(Debug, Clone, Copy)]
pub struct ServerPorts {
    pub netty: u16,
    pub admin: u16,
    pub grpc: u16,
    pub multi_stage_server: u16,
    pub multi_stage_runner: u16,
}

/// Every port the cluster listens on, picked once so a restarted controller comes back
/// where clients expect it.
#[derive(Debug, Clone)]
pub struct Ports {
    pub zookeeper: u16,
    pub controller: u16,
    pub broker: u16,
    /// The broker's multi-stage engine port (1.x).
    pub broker_multi_stage_runner: u16,
    pub servers: [ServerPorts; SERVERS],
    pub minion: u16,
    /// Kafka's client listener (the bootstrap address Pinot consumes from).
    pub kafka: u16,
    /// Kafka's KRaft controller listener (the Raft quorum of its one node).
    pub kafka_controller: u16,
}

impl Ports {
    pub fn pick() -> Ports {
        let mut picker = UniquePorts::default();
        Ports {
            zookeeper: picker.next(),
            controller: picker.next(),
            broker: picker.next(),
            broker_multi_stage_runner: picker.next(),
            servers: std::array::from_fn(|_| ServerPorts {
                netty: picker.next(),
                admin: picker.next(),
                grpc: picker.next(),
                multi_stage_server: picker.next(),
                multi_stage_runner: picker.next(),
            }),
            minion: picker.next(),
            kafka: picker.next(),
            kafka_controller: picker.next(),
        }
    }
}

/// `free_port` releases its port before returning, so two calls can return the same
/// one; a cluster must never be handed a duplicate.
#[derive(Default)]
struct UniquePorts(HashSet<u16>);

impl UniquePorts {
    fn next(&mut self) -> u16 {
        loop {
            let port = free_port();
            if self.0.insert(port) {
                return port;
            }
        }
    }
}

/// Pinot's instance id for a participant registered as `host:port`.
pub fn instance_id(role: &str, port: u16) -> String {
    format!("{role}_{HOST}_{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_distinct_ports() {
        let ports = Ports::pick();
        let mut all = vec![
            ports.zookeeper,
            ports.controller,
            ports.broker,
            ports.minion,
            ports.kafka,
            ports.kafka_controller,
            ports.broker_multi_stage_runner,
        ];
        for s in ports.servers {
            all.extend([
                s.netty,
                s.admin,
                s.grpc,
                s.multi_stage_server,
                s.multi_stage_runner,
            ]);
        }
        let unique: HashSet<u16> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len(), "{all:?}");
    }

    #[test]
    fn instance_ids_follow_pinot_naming() {
        assert_eq!(instance_id("Server", 8098), "Server_127.0.0.1_8098");
    }
}

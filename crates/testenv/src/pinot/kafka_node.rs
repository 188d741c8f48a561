//! A Kafka node of its own, listening on an address other than loopback: the real
//! node's bridge, which pods reach as their gateway, so Pinot pods consume from it.
//! Same jars and settings as the shared Pinot's Kafka ([`super::kafka`]).

use std::sync::Mutex;

use tempfile::TempDir;

use super::jvm::Jars;
use super::kafka;
use super::layout::{Layout, Ports};
use super::processes::Processes;
use crate::shared::lock;

/// A running Kafka node; stopped when dropped.
pub struct KafkaNode {
    bootstrap: String,
    jars: Jars,
    layout: Layout,
    processes: Mutex<Processes>,
    _dir: TempDir,
}

impl KafkaNode {
    /// Starts a node listening on `host`; returns once it serves requests.
    pub fn start(host: &str) -> anyhow::Result<KafkaNode> {
        let jars = Jars::locate()?;
        let dir = tempfile::Builder::new()
            .prefix("testenv-kafka-")
            .tempdir()?;
        let layout = Layout::create(dir.path())?;
        let ports = Ports::pick();
        let mut processes = Processes::default();
        if let Err(e) = kafka::start(&jars, &layout, &ports, host, &mut processes) {
            let tail = processes.log_tails(Some(kafka::NAME), 40);
            anyhow::bail!("starting Kafka on {host}: {e:#}\n{tail}");
        }
        Ok(KafkaNode {
            bootstrap: format!("{host}:{}", ports.kafka),
            jars,
            layout,
            processes: Mutex::new(processes),
            _dir: dir,
        })
    }

    /// `host:port` to give Pinot's stream config and producers.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `topic` (no-op if it exists).
    pub fn create_topic(&self, topic: &str, partitions: u32) -> anyhow::Result<()> {
        lock(&self.processes).ensure_running()?;
        kafka::create_topic(&self.jars, &self.layout, &self.bootstrap, topic, partitions)
    }
}

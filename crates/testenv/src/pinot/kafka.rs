//! A single Kafka broker for REALTIME tables, in ZooKeeper mode on the cluster's own
//! ZooKeeper under the chroot `/kafka`. Kafka 2.8's KRaft mode is an early-access
//! preview; ZooKeeper mode is what Pinot 0.11's Kafka 2.x plugin was tested against.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::jvm::{Jars, SMALL_HEAP, java};
use super::layout::{HOST, Layout, Ports};
use super::processes::Processes;
use crate::process::port_open;

pub const NAME: &str = "kafka";
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// What Kafka logs (through kafka-log4j.properties) once it serves requests; the port
/// opens a little before the broker has registered itself.
const STARTED: &str = "[KafkaServer id=0] started";

/// `server.properties` of a one-node broker: internal topics get one replica, and
/// consumer groups start without the 3 s rebalance delay.
pub fn server_properties(ports: &Ports, data_dir: &Path) -> String {
    format!(
        "broker.id=0\n\
         listeners=PLAINTEXT://{HOST}:{port}\n\
         advertised.listeners=PLAINTEXT://{HOST}:{port}\n\
         log.dirs={data}\n\
         zookeeper.connect={HOST}:{zk}/kafka\n\
         num.partitions=1\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n",
        port = ports.kafka,
        data = data_dir.display(),
        zk = ports.zookeeper,
    )
}

/// Writes the broker's config and starts it; returns once it serves requests.
pub fn start(
    jars: &Jars,
    layout: &Layout,
    ports: &Ports,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let config = layout.kafka.join("server.properties");
    std::fs::write(
        &config,
        server_properties(ports, &layout.kafka.join("data")),
    )?;
    let mut command = java(&jars.kafka, SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_log4j))
        .arg("kafka.Kafka")
        .arg(&config);
    processes.spawn(NAME, command, &layout.logs)?;
    wait_started(ports.kafka, processes)
}

fn wait_started(port: u16, processes: &mut Processes) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    while !(port_open(port) && processes.log(NAME).contains(STARTED)) {
        processes.ensure_running()?;
        if Instant::now() >= deadline {
            bail!("timed out after {START_TIMEOUT:?} waiting for Kafka on port {port}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

fn log4j_flag(config: &Path) -> String {
    format!("-Dlog4j.configuration=file:{}", config.display())
}

/// Creates `topic` with `partitions` partitions (no-op if it exists) with Kafka's own
/// `kafka-topics` tool, which waits for the broker's controller to accept it.
pub fn create_topic(
    jars: &Jars,
    layout: &Layout,
    bootstrap: &str,
    topic: &str,
    partitions: u32,
) -> anyhow::Result<()> {
    let mut command = topics_tool(jars, layout, bootstrap);
    command
        .args(["--create", "--if-not-exists", "--replication-factor", "1"])
        .args(["--topic", topic])
        .args(["--partitions", &partitions.to_string()]);
    let output = command.output().context("run kafka-topics")?;
    if !output.status.success() {
        bail!(
            "kafka-topics --create {topic} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn topics_tool(jars: &Jars, layout: &Layout, bootstrap: &str) -> Command {
    let mut command = java(&jars.kafka, SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_tools_log4j))
        .arg("kafka.admin.TopicCommand")
        .args(["--bootstrap-server", bootstrap]);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_uses_a_chroot_on_the_cluster_zookeeper() {
        let mut ports = Ports::pick();
        ports.zookeeper = 2181;
        ports.kafka = 9092;
        let properties = server_properties(&ports, Path::new("/d"));
        assert!(properties.contains("zookeeper.connect=127.0.0.1:2181/kafka\n"));
        assert!(properties.contains("listeners=PLAINTEXT://127.0.0.1:9092\n"));
        assert!(properties.contains("log.dirs=/d\n"));
    }
}

//! A single Kafka node for REALTIME tables, in KRaft mode: one JVM that is both broker
//! and controller (`process.roles=broker,controller`), with no ZooKeeper. Its storage is
//! formatted with `kafka.tools.StorageTool format` before the first start.
//!
//! The version is `KAFKA_VERSION` in `tools/versions.env` (2.8.2, whose kafka-clients
//! matches the 2.8.1 that Pinot 0.11's Kafka 2.x plugin consumes with). KRaft is an early
//! access feature in 2.8 (no ACLs, transactions or partition reassignment), none of which
//! the tests use: topic creation, producing and Pinot's partition-level consumers work.
//!
//! Messages are produced with Kafka's own `kafka.tools.ConsoleProducer` in a short-lived
//! JVM on the same jars, so the tests need no Kafka client library.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::jvm::{Jars, SMALL_HEAP, java};
use super::layout::{Layout, Ports};
use super::processes::Processes;

pub const NAME: &str = "kafka";
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// What `KafkaRaftServer` logs (through kafka-log4j.properties) once broker and controller
/// serve requests; the port opens a little before. 2.8 logs it bare, 3.x prefixed with
/// `[KafkaRaftServer nodeId=1]`.
const STARTED: &str = "Kafka Server started";
/// The KRaft node id, also its voter id in `controller.quorum.voters`.
const NODE_ID: u32 = 1;
/// The KRaft cluster id `StorageTool format` writes into the data directory: a base64
/// UUID. Fixed, since every test cluster formats a directory of its own.
const CLUSTER_ID: &str = "cGlub3Qtb3BlcmF0b3ItMQ";
/// Separates a message's key from its value on the console producer's input lines.
const KEY_SEPARATOR: char = '\t';

/// `server.properties` of a one-node KRaft cluster: clients on `PLAINTEXT`, the Raft
/// quorum on `CONTROLLER` (a port of its own, never advertised to clients); internal
/// topics get one replica, and consumer groups start without the 3 s rebalance delay.
///
/// The broker's session with its own controller lasts 60 s instead of 9 s: on a loaded
/// test machine the JVM can stall longer than that, the controller then fences the
/// broker, and every partition is left without a leader ("cannot become follower since
/// the new leader -1 is unavailable") until it is unfenced; producers time out meanwhile.
/// Observed with 2.8.2 after a 20 s SIGSTOP; with 60 s the same stall is harmless.
pub fn server_properties(host: &str, ports: &Ports, data_dir: &Path) -> String {
    format!(
        "process.roles=broker,controller\n\
         node.id={NODE_ID}\n\
         controller.quorum.voters={NODE_ID}@{host}:{controller}\n\
         listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}\n\
         advertised.listeners=PLAINTEXT://{host}:{port}\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         broker.session.timeout.ms=60000\n\
         log.dirs={data}\n\
         num.partitions=1\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n",
        port = ports.kafka,
        controller = ports.kafka_controller,
        data = data_dir.display(),
    )
}

/// Writes the node's config, formats its storage and starts it on `host`; returns once
/// it serves requests.
pub fn start(
    jars: &Jars,
    layout: &Layout,
    ports: &Ports,
    host: &str,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let config = layout.kafka.join("server.properties");
    std::fs::write(
        &config,
        server_properties(host, ports, &layout.kafka.join("data")),
    )?;
    format_storage(jars, layout, &config)?;
    let mut command = java(std::slice::from_ref(&jars.kafka), SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_log4j))
        .arg("kafka.Kafka")
        .arg(&config);
    processes.spawn(NAME, command, &layout.logs)?;
    wait_started(host, ports.kafka, processes)
}

/// `StorageTool format`: writes `meta.properties` (cluster and node id) into `log.dirs`,
/// without which a KRaft node refuses to start.
fn format_storage(jars: &Jars, layout: &Layout, config: &Path) -> anyhow::Result<()> {
    let mut command = java(std::slice::from_ref(&jars.kafka), SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_tools_log4j))
        .arg("kafka.tools.StorageTool")
        .args(["format", "-t", CLUSTER_ID, "-c"])
        .arg(config);
    run_tool("kafka-storage format", command)
}

fn wait_started(host: &str, port: u16, processes: &mut Processes) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let address = format!("{host}:{port}");
    let open = || std::net::TcpStream::connect(&address).is_ok();
    while !(open() && processes.log(NAME).contains(STARTED)) {
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

/// Runs a one-shot Kafka tool to completion; fails with its output unless it exits 0.
fn run_tool(what: &str, mut command: Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("run {what}"))?;
    check_output(what, &output)
}

fn check_output(what: &str, output: &std::process::Output) -> anyhow::Result<()> {
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Creates `topic` with `partitions` partitions (no-op if it exists) with Kafka's own
/// `kafka-topics` tool, which waits for the controller to accept it.
pub fn create_topic(
    jars: &Jars,
    layout: &Layout,
    bootstrap: &str,
    topic: &str,
    partitions: u32,
) -> anyhow::Result<()> {
    let mut command = java(std::slice::from_ref(&jars.kafka), SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_tools_log4j))
        .arg("kafka.admin.TopicCommand")
        .args(["--bootstrap-server", bootstrap])
        .args(["--create", "--if-not-exists", "--replication-factor", "1"])
        .args(["--topic", topic])
        .args(["--partitions", &partitions.to_string()]);
    run_tool(&format!("kafka-topics --create {topic}"), command)
}

/// The console producer's input for `rows`: one compact JSON document per line,
/// preceded by the value of `key_field` and a tab when messages are keyed. A string key
/// is sent as is, any other value as its JSON text.
pub fn producer_input(rows: &[Value], key_field: Option<&str>) -> anyhow::Result<String> {
    let mut input = String::new();
    for row in rows {
        if let Some(field) = key_field {
            let key = match row.get(field) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => bail!("row has no key field {field:?}: {row}"),
                Some(other) => other.to_string(),
            };
            if key.contains([KEY_SEPARATOR, '\n', '\r']) {
                bail!("key {key:?} holds a tab or a line break");
            }
            input.push_str(&key);
            input.push(KEY_SEPARATOR);
        }
        // Compact JSON has no raw line breaks: they are escaped inside strings.
        input.push_str(&serde_json::to_string(row)?);
        input.push('\n');
    }
    Ok(input)
}

/// Sends `rows` to `topic` as JSON messages (keyed by `key_field` if given) with
/// `kafka.tools.ConsoleProducer`, synchronously and with `acks=all`: when it returns
/// `Ok`, every message is in the topic.
pub async fn produce(
    jars: &Jars,
    layout: &Layout,
    bootstrap: &str,
    topic: &str,
    rows: &[Value],
    key_field: Option<&str>,
) -> anyhow::Result<()> {
    let input = producer_input(rows, key_field)?;
    // The producer reads stdin; a file keeps the lines away from any pipe buffering.
    let mut file = tempfile::NamedTempFile::new_in(layout.kafka.join("tmp"))?;
    file.write_all(input.as_bytes())?;
    file.flush()?;
    let mut command = java(std::slice::from_ref(&jars.kafka), SMALL_HEAP, &layout.kafka);
    command
        .arg(log4j_flag(&layout.kafka_tools_log4j))
        .arg("kafka.tools.ConsoleProducer")
        .args(["--bootstrap-server", bootstrap])
        .args(["--topic", topic])
        // Each send waits for its acknowledgement, and a failed one exits non-zero
        // (the asynchronous default only logs failures).
        .arg("--sync")
        .args(["--producer-property", "acks=all"])
        .stdin(std::fs::File::open(file.path())?);
    if key_field.is_some() {
        command
            .args(["--property", "parse.key=true"])
            .args(["--property", &format!("key.separator={KEY_SEPARATOR}")]);
    }
    let what = format!("kafka-console-producer --topic {topic}");
    let output = tokio::process::Command::from(command)
        .output()
        .await
        .with_context(|| format!("run {what}"))?;
    check_output(&what, &output)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::pinot::layout::HOST;

    fn ports() -> Ports {
        let mut ports = Ports::pick();
        ports.kafka = 9092;
        ports.kafka_controller = 9093;
        ports
    }

    #[test]
    fn one_node_is_broker_and_controller_without_zookeeper() {
        let properties = server_properties(HOST, &ports(), Path::new("/d"));
        assert!(properties.contains("process.roles=broker,controller\n"));
        assert!(properties.contains("controller.quorum.voters=1@127.0.0.1:9093\n"));
        assert!(
            properties
                .contains("listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n")
        );
        assert!(properties.contains("advertised.listeners=PLAINTEXT://127.0.0.1:9092\n"));
        assert!(properties.contains("log.dirs=/d\n"));
        assert!(properties.contains("broker.session.timeout.ms=60000\n"));
        assert!(!properties.contains("zookeeper"), "{properties}");
    }

    #[test]
    fn cluster_id_is_a_base64_uuid() {
        // 16 bytes in URL-safe base64 without padding.
        assert_eq!(CLUSTER_ID.len(), 22);
        assert!(
            CLUSTER_ID
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn producer_lines_carry_the_key_before_a_tab() {
        let rows = [json!({"id": "a", "n": 1}), json!({"id": 7, "s": "x\ty"})];
        assert_eq!(
            producer_input(&rows, Some("id")).unwrap(),
            "a\t{\"id\":\"a\",\"n\":1}\n7\t{\"id\":7,\"s\":\"x\\ty\"}\n"
        );
        assert_eq!(
            producer_input(&rows[..1], None).unwrap(),
            "{\"id\":\"a\",\"n\":1}\n"
        );
    }

    #[test]
    fn unusable_keys_are_refused() {
        assert!(producer_input(&[json!({"n": 1})], Some("id")).is_err());
        assert!(producer_input(&[json!({"id": "a\tb"})], Some("id")).is_err());
    }
}

//! Command lines for the Pinot and Kafka JVMs, from the jars `tools/fetch-pinot.sh` puts
//! in the cache.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

use super::layout::{HOST, Layout, Ports, SERVERS};
use super::runtime::Runtime;
use crate::versions::{component_dir, version};

const ADMIN_MAIN: &str = "org.apache.pinot.tools.admin.PinotAdministrator";

/// Pinot 0.11 predates Java 17's strong encapsulation: its off-heap buffers and Netty
/// reach into these JDK internals.
const ADD_OPENS: &[&str] = &[
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
];

/// The jars the JVMs run: Pinot's (fetched or supplied, see [`Runtime`]) and Kafka's.
#[derive(Debug, Clone)]
pub struct Jars {
    pub pinot: Runtime,
    pub kafka: PathBuf,
}

impl Jars {
    /// Finds both, or fails saying how to get them. Never a skip: a test that silently
    /// did not run would hide a broken environment.
    pub fn locate() -> anyhow::Result<Jars> {
        let pinot = Runtime::locate()?;
        let kafka = component_dir("kafka", "KAFKA_VERSION");
        if !kafka.join(".complete").is_file() {
            bail!(
                "{} is missing: run tools/fetch-pinot.sh (needs Maven and Java 11+) to fetch \
                 Kafka {} from Maven Central",
                kafka.display(),
                version("KAFKA_VERSION"),
            );
        }
        Ok(Jars {
            pinot,
            kafka: kafka.join("lib"),
        })
    }
}

/// Heap bounds of one JVM. The whole cluster (6 Pinot-side JVMs and Kafka) stays around
/// 2 GiB resident on a small test machine.
#[derive(Debug, Clone, Copy)]
pub struct Heap {
    pub min: &'static str,
    pub max: &'static str,
}

pub const SMALL_HEAP: Heap = Heap {
    min: "64m",
    max: "256m",
};
pub const ROLE_HEAP: Heap = Heap {
    min: "128m",
    max: "512m",
};

/// `java` with the settings every test JVM shares, running in `workdir`, with every jar
/// of `classpath_dirs`.
pub fn java(classpath_dirs: &[PathBuf], heap: Heap, workdir: &Path) -> Command {
    let mut command = Command::new("java");
    command
        .current_dir(workdir)
        .arg(format!("-Xms{}", heap.min))
        .arg(format!("-Xmx{}", heap.max))
        // The JVM sizes its thread pools from the host's cores; several clusters may share
        // a small machine.
        .arg("-XX:ActiveProcessorCount=2")
        // Fewer GC threads and less footprint than G1 for heaps this small.
        .arg("-XX:+UseSerialGC")
        // C1 only: start-up (class loading, Jersey/Helix init) dominates test time, and
        // peak throughput does not matter here.
        .arg("-XX:TieredStopAtLevel=1")
        .arg(tmpdir_flag(workdir))
        .arg("-cp")
        .arg(classpath(classpath_dirs));
    command
}

fn tmpdir_flag(workdir: &Path) -> OsString {
    let mut flag = OsString::from("-Djava.io.tmpdir=");
    flag.push(workdir.join("tmp"));
    flag
}

/// `<dir>/*:...`: the JVM expands the wildcards itself, so no argument gets huge.
fn classpath(dirs: &[PathBuf]) -> OsString {
    let mut cp = OsString::new();
    for (i, dir) in dirs.iter().enumerate() {
        if i > 0 {
            cp.push(":");
        }
        cp.push(dir);
        cp.push("/*");
    }
    cp
}

/// `PinotAdministrator <subcommand>` in `workdir`, with `jvm_flags` before the main class;
/// the caller adds the subcommand's arguments.
fn pinot_admin(
    jars: &Jars,
    layout: &Layout,
    heap: Heap,
    workdir: &Path,
    jvm_flags: &[&str],
    subcommand: &str,
) -> Command {
    let mut command = java(&jars.pinot.classpath, heap, workdir);
    let mut log4j = OsString::from("-Dlog4j2.configurationFile=");
    log4j.push(&layout.log4j2);
    command
        .args(ADD_OPENS)
        .args(jvm_flags)
        .arg(log4j)
        // Pinot 0.11 reads this after the command returns: `true` would exit the JVM as
        // soon as a Start* command has started its service.
        .arg("-Dpinot.admin.system.exit=false")
        .arg(ADMIN_MAIN)
        .arg(subcommand);
    command
}

fn zk_address(ports: &Ports) -> String {
    format!("{HOST}:{}", ports.zookeeper)
}

/// Adds `-zkAddress` and `-clusterName`, which every role but ZooKeeper takes.
fn join_cluster(command: &mut Command, ports: &Ports, cluster: &str) {
    command
        .arg("-zkAddress")
        .arg(zk_address(ports))
        .arg("-clusterName")
        .arg(cluster);
}

pub fn zookeeper(jars: &Jars, layout: &Layout, ports: &Ports) -> Command {
    // ZooKeeper 3.5 starts an AdminServer on port 8080 whenever Jetty 9 is on the
    // classpath (0.11 ships only Jetty 6, but a version bump may change that).
    let flags = ["-Dzookeeper.admin.enableServer=false"];
    let dir = &layout.zookeeper;
    let mut command = pinot_admin(jars, layout, SMALL_HEAP, dir, &flags, "StartZookeeper");
    command
        .arg("-zkPort")
        .arg(ports.zookeeper.to_string())
        .arg("-dataDir")
        .arg(layout.zookeeper.join("data"));
    command
}

pub fn controller(jars: &Jars, layout: &Layout, ports: &Ports, cluster: &str) -> Command {
    let dir = &layout.controller;
    let mut command = pinot_admin(jars, layout, ROLE_HEAP, dir, &[], "StartController");
    command
        .arg("-controllerHost")
        .arg(HOST)
        .arg("-controllerPort")
        .arg(ports.controller.to_string())
        // The local "deep store" for segments; kept across controller restarts.
        .arg("-dataDir")
        .arg(dir.join("data"));
    join_cluster(&mut command, ports, cluster);
    command
}

pub fn broker(jars: &Jars, layout: &Layout, ports: &Ports, cluster: &str) -> Command {
    let mut command = pinot_admin(jars, layout, ROLE_HEAP, &layout.broker, &[], "StartBroker");
    command
        .arg("-brokerHost")
        .arg(HOST)
        .arg("-brokerPort")
        .arg(ports.broker.to_string());
    if jars.pinot.release.has_multi_stage_engine() {
        command
            .arg("-brokerMultiStageRunnerPort")
            .arg(ports.broker_multi_stage_runner.to_string());
    }
    join_cluster(&mut command, ports, cluster);
    command
}

pub fn server(jars: &Jars, layout: &Layout, ports: &Ports, cluster: &str, index: usize) -> Command {
    assert!(index < SERVERS);
    let dir = &layout.servers[index];
    let server_ports = ports.servers[index];
    let mut command = pinot_admin(jars, layout, ROLE_HEAP, dir, &[], "StartServer");
    command
        .arg("-serverHost")
        .arg(HOST)
        .arg("-serverPort")
        .arg(server_ports.netty.to_string())
        .arg("-serverAdminPort")
        .arg(server_ports.admin.to_string())
        .arg("-serverGrpcPort")
        .arg(server_ports.grpc.to_string())
        .arg("-dataDir")
        .arg(dir.join("data"))
        .arg("-segmentDir")
        .arg(dir.join("segments"));
    if jars.pinot.release.has_multi_stage_engine() {
        command
            .arg("-serverMultiStageServerPort")
            .arg(server_ports.multi_stage_server.to_string())
            .arg("-serverMultiStageRunnerPort")
            .arg(server_ports.multi_stage_runner.to_string());
    }
    join_cluster(&mut command, ports, cluster);
    command
}

/// The minion has no data-dir flag in 0.11; it works under `java.io.tmpdir`, which
/// [`java`] points into its own directory.
pub fn minion(jars: &Jars, layout: &Layout, ports: &Ports, cluster: &str) -> Command {
    let mut command = pinot_admin(jars, layout, ROLE_HEAP, &layout.minion, &[], "StartMinion");
    command
        .arg("-minionHost")
        .arg(HOST)
        .arg("-minionPort")
        .arg(ports.minion.to_string());
    join_cluster(&mut command, ports, cluster);
    command
}

//! A real Apache Pinot cluster on loopback: ZooKeeper, a controller, a broker, two
//! servers and a minion, each its own JVM started from the jars `tools/fetch-pinot.sh`
//! puts in the cache, plus (on first use) a one-node Kafka in KRaft mode for REALTIME
//! tables, which [`Pinot::produce_json`] feeds and [`Pinot::query`] reads back through
//! the broker.
//!
//! Nothing is mocked: tests talk to Pinot's REST APIs exactly as the operator does.
//! Tests share one cluster per test binary ([`Pinot::shared`]) and isolate themselves
//! by object name (schema, table, topic). Instances register as
//! `<Role>_127.0.0.1_<port>` in the cluster [`Pinot::cluster_name`], all tagged
//! `DefaultTenant` (Pinot's tenant isolation default).
//!
//! The Pinot version is `PINOT_VERSION` in `tools/versions.env` (0.11.0: the newest
//! release whose role artefacts are all on the reachable Maven Central), or any Pinot
//! classpath named by `PINOT_OPERATOR_PINOT_LIB` and `PINOT_OPERATOR_PINOT_VERSION`
//! (see the `runtime` module). REST behaviour differs between releases; `tests/pinot.rs` pins
//! each release's behaviours the operator relies on.
//!
//! Teardown SIGKILLs every JVM at once: the data is thrown away, and a graceful stop
//! would cost a 1.5.1 server more than 28 s (it drains queries first).
//!
//! [`Pinot::start_with`] starts a further, independent cluster with [`PinotOptions`]:
//! extra `.properties` per role (controller, broker, server, minion), handed to Pinot
//! through its `config.paths` key, and basic-auth credentials testenv sends on every
//! REST call it makes itself (probes, ingestion, queries). `tests/pinot_auth.rs` uses
//! them to switch Pinot's basic authentication on.
//!
//! Everything lives in a temporary directory removed on teardown; set `TESTENV_KEEP=1`
//! to keep it (logs are under `logs/`). A failed start always keeps it.

mod jvm;
mod kafka;
mod kafka_node;
mod layout;
mod options;
mod probe;
mod processes;
mod runtime;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::process::port_open;
use crate::shared::{self, Environment, Shared, lock};
use crate::wait::on_own_runtime;
use jvm::Jars;
pub use kafka_node::KafkaNode;
use layout::{HOST, Layout, Ports, SERVERS, instance_id};
use options::ClusterConfig;
pub use options::{BasicAuth, PinotOptions, Properties, Role};
use probe::{http_ok, live_instances, missing, registered_instances, wait_until};
use processes::Processes;
pub use runtime::{LIB_VAR, Release, VERSION_VAR};

/// Generous bounds: six JVMs starting at once on a loaded 2-core machine are slow.
/// Observed on such a machine: ZooKeeper ~5 s, controller ~12 s, the rest ~35 s more.
const ZOOKEEPER_TIMEOUT: Duration = Duration::from_secs(60);
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(120);
const PARTICIPANTS_TIMEOUT: Duration = Duration::from_secs(150);
/// A controller shuts down in ~3 s; past this it is killed.
const CONTROLLER_STOP_GRACE: Duration = Duration::from_secs(15);
const LOG_TAIL_LINES: usize = 30;
const CLUSTER_NAME: &str = "PinotTestCluster";
const CONTROLLER: &str = "controller";
/// A broker query on a test table answers in milliseconds; this only bounds a hang.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running Pinot cluster; every process stops when it is dropped.
pub struct Pinot {
    jars: Jars,
    layout: Layout,
    ports: Ports,
    /// The options it was started with, as files and environment per role.
    config: ClusterConfig,
    startup: Duration,
    // Teardown order: the processes, then the directory they wrote to.
    processes: Mutex<Processes>,
    /// Whether Kafka has been started; the lock also serialises concurrent first calls.
    kafka_started: Mutex<bool>,
    dir: Mutex<Option<TempDir>>,
}

static SHARED: Shared<Pinot> = Shared::new();

impl Pinot {
    /// Starts ZooKeeper, a controller, a broker, two servers and one minion as real JVMs
    /// on free loopback ports, and waits until the controller's `/health` answers, every
    /// instance is registered and live in Helix, and the broker, servers and minion
    /// answer their health checks. Blocking; safe to call from inside a tokio runtime
    /// (the waiting runs on a thread of its own). Fails, never skips, when the jars are
    /// missing.
    pub fn start() -> anyhow::Result<Pinot> {
        Pinot::start_with(PinotOptions::default())
    }

    /// Like [`Pinot::start`], with extra properties per role and the credentials testenv
    /// uses for its own REST calls (see [`PinotOptions`]). Each call starts a cluster of
    /// its own, independent of [`Pinot::shared`].
    pub fn start_with(options: PinotOptions) -> anyhow::Result<Pinot> {
        let started = Instant::now();
        let jars = Jars::locate()?;
        let dir = tempfile::Builder::new()
            .prefix("testenv-pinot-")
            .tempdir()?;
        let layout = Layout::create(dir.path())?;
        let ports = Ports::pick();
        let config = ClusterConfig::write(options, dir.path(), &layout, &ports, CLUSTER_NAME)?;
        let mut processes = Processes::default();
        let booted = on_own_runtime(|| boot(&jars, &layout, &ports, &config, &mut processes));
        if let Err(e) = booted {
            let tails = processes.log_tails(None, LOG_TAIL_LINES);
            drop(processes);
            let kept = dir.keep();
            anyhow::bail!(
                "Pinot test cluster failed to start: {e:#}\n(files kept in {})\n{tails}",
                kept.display()
            );
        }
        Ok(Pinot {
            jars,
            layout,
            ports,
            config,
            startup: started.elapsed(),
            processes: Mutex::new(processes),
            kafka_started: Mutex::new(false),
            dir: Mutex::new(Some(dir)),
        })
    }

    /// The cluster of this test binary, started on first use. Panics with the reason and
    /// the JVMs' log tails if it cannot start; every later caller gets the same panic
    /// rather than a second slow attempt.
    pub fn shared() -> &'static Pinot {
        SHARED.get_or_start(Pinot::start)
    }

    /// `http://127.0.0.1:<port>` of the controller (REST API and `/health`).
    pub fn controller_url(&self) -> String {
        format!("http://{HOST}:{}", self.ports.controller)
    }

    /// `http://127.0.0.1:<port>` of the broker (`/query/sql`, `/health`).
    pub fn broker_url(&self) -> String {
        format!("http://{HOST}:{}", self.ports.broker)
    }

    /// The Helix cluster name (the ZooKeeper root node).
    pub fn cluster_name(&self) -> &str {
        CLUSTER_NAME
    }

    /// `127.0.0.1:<port>` of ZooKeeper.
    pub fn zookeeper_address(&self) -> String {
        format!("{HOST}:{}", self.ports.zookeeper)
    }

    /// Instance ids as Pinot lists them in `GET /instances`, e.g.
    /// `Server_127.0.0.1_<port>`: the controller, the broker, both servers, the minion.
    pub fn instance_ids(&self) -> Vec<String> {
        expected_instances(&self.ports)
    }

    /// The servers' admin API base URLs (`/health/readiness`, `/tables`).
    pub fn server_admin_urls(&self) -> Vec<String> {
        (self.ports.servers.iter())
            .map(|s| format!("http://{HOST}:{}", s.admin))
            .collect()
    }

    /// The Pinot release the cluster runs: `PINOT_VERSION` from `tools/versions.env`, or
    /// `$PINOT_OPERATOR_PINOT_VERSION` with `$PINOT_OPERATOR_PINOT_LIB` (see the
    /// `runtime` module). Tests that pin version-specific REST behaviour ask the
    /// controller's `GET /version` instead, as the operator does.
    pub fn release(&self) -> Release {
        self.jars.pinot.release
    }

    /// The release the controller reports in `GET /version`: what tests that pin
    /// version-specific REST behaviour branch on, as the operator does.
    pub async fn reported_release(&self) -> anyhow::Result<Release> {
        let url = format!("{}/version", self.controller_url());
        let answer: Value = (self.config.client(None))?
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        runtime::controller_release(&answer)
            .ok_or_else(|| anyhow::anyhow!("GET {url}: no release in {answer}"))
    }

    /// The Kafka consumer factory class for REALTIME table configs on this release
    /// (`kafka20` on 0.x, `kafka30` on 1.x).
    pub fn kafka_consumer_factory(&self) -> &'static str {
        self.release().kafka_consumer_factory()
    }

    /// How long [`Pinot::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The options the cluster was started with ([`PinotOptions::default`] for
    /// [`Pinot::start`] and [`Pinot::shared`]).
    pub fn options(&self) -> &PinotOptions {
        &self.config.options
    }

    /// The credentials testenv sends on its own REST calls, if any.
    pub fn basic_auth(&self) -> Option<&BasicAuth> {
        self.config.options.basic_auth.as_ref()
    }

    /// Stops the controller (SIGTERM, then SIGKILL after 15 s), for "Pinot unreachable"
    /// tests; returns once its port refuses connections. Other tests of the same binary
    /// see the outage too: serialise them with the ones that call this.
    pub fn stop_controller(&self) {
        lock(&self.processes).stop(CONTROLLER, CONTROLLER_STOP_GRACE);
        let deadline = Instant::now() + Duration::from_secs(10);
        while port_open(self.ports.controller) {
            assert!(
                Instant::now() < deadline,
                "the controller's port {} still accepts connections after it was stopped",
                self.ports.controller
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts the controller again on the same port, ZooKeeper and data directory, and
    /// returns once `/health` answers OK. No-op while it runs. Panics with its log tail
    /// if it does not come up.
    pub fn start_controller(&self) {
        let mut processes = lock(&self.processes);
        if processes.is_running(CONTROLLER) {
            return;
        }
        // Forget a controller that died on its own, or its exit would fail every wait.
        processes.stop(CONTROLLER, Duration::ZERO);
        let url = format!("{}/health", self.controller_url());
        let command = jvm::controller(&self.jars, &self.layout, &self.ports, CLUSTER_NAME);
        let command = self.config.command(Role::Controller, 0, command);
        // The guard itself may not cross threads; the `Processes` it guards may.
        let procs: &mut Processes = &mut processes;
        let result = on_own_runtime(|| async {
            procs.spawn(CONTROLLER, command, &self.layout.logs)?;
            let client = self.config.probe_client()?;
            wait_until("controller /health", CONTROLLER_TIMEOUT, procs, || {
                http_ok(&client, &url)
            })
            .await
        });
        if let Err(e) = result {
            let tail = processes.log_tails(Some(CONTROLLER), LOG_TAIL_LINES);
            panic!("restarting the Pinot controller failed: {e:#}\n{tail}");
        }
    }

    /// `127.0.0.1:<port>` of a one-node Kafka for REALTIME tables (KRaft mode, no
    /// ZooKeeper; `KAFKA_VERSION` from `tools/versions.env`), started on first call.
    /// Panics with its log tail if it does not start.
    pub fn kafka_bootstrap(&self) -> String {
        let mut started = lock(&self.kafka_started);
        if !*started {
            let mut processes = lock(&self.processes);
            let result = kafka::start(&self.jars, &self.layout, &self.ports, HOST, &mut processes);
            if let Err(e) = result {
                let tail = processes.log_tails(Some(kafka::NAME), LOG_TAIL_LINES);
                panic!("starting Kafka failed: {e:#}\n{tail}");
            }
            *started = true;
        }
        format!("{HOST}:{}", self.ports.kafka)
    }

    /// Creates `topic` with `partitions` partitions (starting Kafka if needed); a no-op
    /// if it exists. Panics with the tool's output on failure.
    pub fn create_kafka_topic(&self, topic: &str, partitions: u32) {
        let bootstrap = self.kafka_bootstrap();
        if let Err(e) = kafka::create_topic(&self.jars, &self.layout, &bootstrap, topic, partitions)
        {
            panic!("creating Kafka topic {topic}: {e:#}");
        }
    }

    /// Produces `rows` to `topic` (starting Kafka if needed), one compact JSON message
    /// each, in order. With `key_field`, each message is keyed by that field's value (a
    /// string as is, anything else as its JSON text), as upsert tables need: Kafka
    /// partitions by key, and Pinot's upsert requires a primary key's messages in one
    /// partition. Returns once Kafka acknowledged every message (`acks=all`). Runs
    /// Kafka's console producer in a JVM (~2 s). Panics with its output on failure.
    pub async fn produce_json(&self, topic: &str, key_field: Option<&str>, rows: &[Value]) {
        let bootstrap = self.kafka_bootstrap();
        let result =
            kafka::produce(&self.jars, &self.layout, &bootstrap, topic, rows, key_field).await;
        if let Err(e) = result {
            let mut processes = lock(&self.processes);
            // Says which JVM (Kafka or another) has exited, and with what status.
            let state = match processes.ensure_running() {
                Ok(()) => "every JVM is still running".to_owned(),
                Err(exited) => format!("{exited:#}"),
            };
            let tail = processes.log_tails(Some(kafka::NAME), LOG_TAIL_LINES);
            panic!(
                "producing {} messages to {topic}: {e:#}\n({state})\n{tail}",
                rows.len()
            );
        }
    }

    /// Runs `sql` through the broker (`POST /query/sql`) and returns Pinot's answer
    /// (`resultTable.rows`, `exceptions`, stats). Errors, rather than panics, on a
    /// failed request or when the answer lists exceptions (e.g. a table the broker has
    /// not routed yet), so callers can poll.
    pub async fn query(&self, sql: &str) -> anyhow::Result<Value> {
        let response = (self.config.client(Some(QUERY_TIMEOUT)))?
            .post(format!("{}/query/sql", self.broker_url()))
            .json(&serde_json::json!({ "sql": sql }))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            anyhow::bail!("POST /query/sql {sql:?}: {status}: {text}");
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("POST /query/sql {sql:?}: {e}: {text}"))?;
        match answer.get("exceptions").and_then(Value::as_array) {
            Some(exceptions) if !exceptions.is_empty() => {
                anyhow::bail!("query {sql:?} failed: {}", Value::from(exceptions.clone()))
            }
            _ => Ok(answer),
        }
    }

    /// The single number a `SELECT COUNT(*) ...` query answers, through [`Pinot::query`].
    pub async fn query_count(&self, sql: &str) -> anyhow::Result<u64> {
        let answer = self.query(sql).await?;
        answer
            .pointer("/resultTable/rows/0/0")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow::anyhow!("query {sql:?} answered no count: {answer}"))
    }

    /// Builds a segment of `table_with_type` from JSON rows in the controller
    /// (`POST /ingestFromFile`), so the table has real segments on real servers.
    /// Panics with Pinot's answer on failure.
    pub async fn ingest_json_rows(&self, table_with_type: &str, rows: &str) {
        let client = (self.config.client(None)).expect("build an HTTP client");
        let controller = self.controller_url();
        if let Err(e) = upload_json_rows(&client, &controller, table_with_type, rows).await {
            panic!("{e:#}");
        }
    }
}

impl Environment for Pinot {
    /// Stops everything and removes the directory (unless `TESTENV_KEEP` is set).
    fn teardown(&self) {
        lock(&self.processes).kill_all();
        shared::remove_dir(&self.dir);
    }
}

impl Drop for Pinot {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn expected_instances(ports: &Ports) -> Vec<String> {
    let mut ids = vec![
        instance_id("Controller", ports.controller),
        instance_id("Broker", ports.broker),
    ];
    ids.extend(ports.servers.iter().map(|s| instance_id("Server", s.netty)));
    ids.push(instance_id("Minion", ports.minion));
    ids
}

/// Starts ZooKeeper, then the controller (which creates the Helix cluster), then the
/// other roles in parallel, and waits until the cluster is usable.
async fn boot(
    jars: &Jars,
    layout: &Layout,
    ports: &Ports,
    config: &ClusterConfig,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let client = config.probe_client()?;
    let logs = &layout.logs;
    processes.spawn("zookeeper", jvm::zookeeper(jars, layout, ports), logs)?;
    wait_until(
        "ZooKeeper to listen",
        ZOOKEEPER_TIMEOUT,
        processes,
        || async { Ok(port_open(ports.zookeeper)) },
    )
    .await?;

    let controller = format!("http://{HOST}:{}", ports.controller);
    let command = jvm::controller(jars, layout, ports, CLUSTER_NAME);
    processes.spawn(
        CONTROLLER,
        config.command(Role::Controller, 0, command),
        logs,
    )?;
    let health = format!("{controller}/health");
    wait_until("controller /health", CONTROLLER_TIMEOUT, processes, || {
        http_ok(&client, &health)
    })
    .await?;

    spawn_participants(jars, layout, ports, config, processes)?;
    wait_until(
        "every instance to register and be live",
        PARTICIPANTS_TIMEOUT,
        processes,
        || participants_ready(&client, &controller, ports),
    )
    .await
}

fn spawn_participants(
    jars: &Jars,
    layout: &Layout,
    ports: &Ports,
    config: &ClusterConfig,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let logs = &layout.logs;
    let command = jvm::broker(jars, layout, ports, CLUSTER_NAME);
    processes.spawn("broker", config.command(Role::Broker, 0, command), logs)?;
    for index in 0..SERVERS {
        let command = jvm::server(jars, layout, ports, CLUSTER_NAME, index);
        let command = config.command(Role::Server, index, command);
        processes.spawn(&format!("server-{index}"), command, logs)?;
    }
    let command = jvm::minion(jars, layout, ports, CLUSTER_NAME);
    processes.spawn("minion", config.command(Role::Minion, 0, command), logs)
}

/// Registered (`/instances`), live in Helix, and answering health checks: the broker's
/// and minion's `/health`, the servers' `/health/readiness` on their admin port.
async fn participants_ready(
    client: &reqwest::Client,
    controller: &str,
    ports: &Ports,
) -> anyhow::Result<bool> {
    let expected = expected_instances(ports);
    let registered = registered_instances(client, controller).await?;
    let live = live_instances(client, controller, CLUSTER_NAME).await?;
    let not_registered = missing(&expected, &registered);
    let not_live = missing(&expected, &live);
    if !not_registered.is_empty() || !not_live.is_empty() {
        anyhow::bail!("not registered: {not_registered:?}; not live: {not_live:?}");
    }
    let mut health = vec![
        format!("http://{HOST}:{}/health", ports.broker),
        format!("http://{HOST}:{}/health", ports.minion),
    ];
    health.extend(
        (ports.servers.iter()).map(|s| format!("http://{HOST}:{}/health/readiness", s.admin)),
    );
    for url in &health {
        if !http_ok(client, url).await? {
            anyhow::bail!("{url} is not OK yet");
        }
    }
    Ok(true)
}

/// Has the Pinot controller at `controller` build a segment of `table_with_type` from
/// `rows` (JSON, one object per line) and push it (`POST /ingestFromFile`), the way a
/// user loads a little data without a batch job. `client` carries any credentials.
pub async fn upload_json_rows(
    client: &reqwest::Client,
    controller: &str,
    table_with_type: &str,
    rows: &str,
) -> anyhow::Result<()> {
    let boundary = "testenv-ingest-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.json\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{rows}\r\n--{boundary}--\r\n"
    );
    let response = client
        .post(format!("{controller}/ingestFromFile"))
        .query(&[
            ("tableNameWithType", table_with_type),
            ("batchConfigMapStr", r#"{"inputFormat":"json"}"#),
        ])
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("POST {controller}/ingestFromFile: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("ingestFromFile into {table_with_type}: {status}: {text}");
    }
    Ok(())
}

//! A real Apache Pinot cluster on loopback: ZooKeeper, a controller, a broker, two
//! servers and a minion, each its own JVM started from the jars `tools/fetch-pinot.sh`
//! puts in the cache, plus (on first use) a Kafka broker for REALTIME tables.
//!
//! Nothing is mocked: tests talk to Pinot's REST APIs exactly as the operator does.
//! Tests share one cluster per test binary ([`Pinot::shared`]) and isolate themselves
//! by object name (schema, table, topic). Instances register as
//! `<Role>_127.0.0.1_<port>` in the cluster [`Pinot::cluster_name`], all tagged
//! `DefaultTenant` (Pinot's tenant isolation default).
//!
//! The Pinot version is `PINOT_VERSION` in `tools/versions.env` (0.11.0: the newest
//! release whose role artefacts are all on the reachable Maven Central). Its REST API
//! differs from current Pinot in places; see `tests/pinot.rs`, which pins the
//! behaviours the operator relies on.
//!
//! Everything lives in a temporary directory removed on teardown; set `TESTENV_KEEP=1`
//! to keep it (logs are under `logs/`). A failed start always keeps it.

mod jvm;
mod kafka;
mod layout;
mod probe;
mod processes;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::port_open;
use crate::wait::on_own_runtime;
use jvm::Jars;
use layout::{HOST, Layout, Ports, SERVERS, instance_id};
use probe::{http_ok, live_instances, missing, registered_instances, wait_until};
use processes::Processes;

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

/// A running Pinot cluster; every process stops when it is dropped.
pub struct Pinot {
    jars: Jars,
    layout: Layout,
    ports: Ports,
    startup: Duration,
    // Teardown order: the processes, then the directory they wrote to.
    processes: Mutex<Processes>,
    /// Whether Kafka has been started; the lock also serialises concurrent first calls.
    kafka_started: Mutex<bool>,
    dir: Mutex<Option<TempDir>>,
}

static SHARED: OnceLock<Result<Pinot, String>> = OnceLock::new();

impl Pinot {
    /// Starts ZooKeeper, a controller, a broker, two servers and one minion as real JVMs
    /// on free loopback ports, and waits until the controller's `/health` answers, every
    /// instance is registered and live in Helix, and the broker, servers and minion
    /// answer their health checks. Blocking; safe to call from inside a tokio runtime
    /// (the waiting runs on a thread of its own). Fails, never skips, when the jars are
    /// missing.
    pub fn start() -> anyhow::Result<Pinot> {
        let started = Instant::now();
        let jars = Jars::locate()?;
        let dir = tempfile::Builder::new()
            .prefix("testenv-pinot-")
            .tempdir()?;
        let layout = Layout::create(dir.path())?;
        let ports = Ports::pick();
        let mut processes = Processes::default();
        if let Err(e) = on_own_runtime(|| boot(&jars, &layout, &ports, &mut processes)) {
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
        let result = SHARED.get_or_init(|| {
            let result = Pinot::start().map_err(|e| format!("{e:#}"));
            if result.is_ok() {
                // Statics are never dropped; without this every test run would leave its
                // directory (ZooKeeper data, segments, logs) behind.
                // SAFETY: registers a plain `extern "C"` function that never unwinds.
                unsafe { libc::atexit(teardown_shared) };
            }
            result
        });
        match result {
            Ok(pinot) => pinot,
            Err(e) => panic!("{e}"),
        }
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

    /// How long [`Pinot::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
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
        // The guard itself may not cross threads; the `Processes` it guards may.
        let procs: &mut Processes = &mut processes;
        let result = on_own_runtime(|| async {
            procs.spawn(CONTROLLER, command, &self.layout.logs)?;
            let client = probe::client()?;
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

    /// `127.0.0.1:<port>` of a Kafka 2.8 broker for REALTIME tables, started on first
    /// call (on the cluster's ZooKeeper, chroot `/kafka`). Panics with its log tail if it
    /// does not start.
    pub fn kafka_bootstrap(&self) -> String {
        let mut started = lock(&self.kafka_started);
        if !*started {
            let mut processes = lock(&self.processes);
            if let Err(e) = kafka::start(&self.jars, &self.layout, &self.ports, &mut processes) {
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

    /// Builds a segment of `table_with_type` from JSON rows in the controller
    /// (`POST /ingestFromFile`), so the table has real segments on real servers.
    /// Panics with Pinot's answer on failure.
    pub async fn ingest_json_rows(&self, table_with_type: &str, rows: &str) {
        let boundary = "testenv-ingest-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.json\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{rows}\r\n--{boundary}--\r\n"
        );
        let response = reqwest::Client::new()
            .post(format!("{}/ingestFromFile", self.controller_url()))
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
            .expect("POST /ingestFromFile");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "ingestFromFile: {status}: {text}");
    }

    /// Stops everything and removes the directory (unless `TESTENV_KEEP` is set).
    /// Idempotent, and never panics: it also runs from `atexit`.
    fn teardown(&self) {
        lock(&self.processes).kill_all();
        let dir = lock(&self.dir).take();
        if std::env::var_os("TESTENV_KEEP").is_some() {
            let _ = dir.map(TempDir::keep);
        }
        // Otherwise `dir` is dropped here, which deletes it.
    }
}

impl Drop for Pinot {
    fn drop(&mut self) {
        self.teardown();
    }
}

extern "C" fn teardown_shared() {
    if let Some(Ok(pinot)) = SHARED.get() {
        // Unwinding out of an `extern "C"` function aborts; teardown does not panic,
        // but a poisoned lock or a panicking drop must not turn exit into an abort.
        let _ = std::panic::catch_unwind(|| pinot.teardown());
    }
}

/// A lock that survives a panic in another holder: teardown must always proceed.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let client = probe::client()?;
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
    processes.spawn(
        CONTROLLER,
        jvm::controller(jars, layout, ports, CLUSTER_NAME),
        logs,
    )?;
    let health = format!("{controller}/health");
    wait_until("controller /health", CONTROLLER_TIMEOUT, processes, || {
        http_ok(&client, &health)
    })
    .await?;

    spawn_participants(jars, layout, ports, processes)?;
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
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let logs = &layout.logs;
    processes.spawn(
        "broker",
        jvm::broker(jars, layout, ports, CLUSTER_NAME),
        logs,
    )?;
    for index in 0..SERVERS {
        let command = jvm::server(jars, layout, ports, CLUSTER_NAME, index);
        processes.spawn(&format!("server-{index}"), command, logs)?;
    }
    processes.spawn(
        "minion",
        jvm::minion(jars, layout, ports, CLUSTER_NAME),
        logs,
    )
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

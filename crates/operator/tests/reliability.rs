//! Reliability: the operator binary (`pinot-operator run`, its own process) SIGKILLed
//! at random moments of a rollout and of a bulk content sync, the Pinot controller
//! stopped mid-sync, and kube-apiserver restarted under a running operator.
//!
//! Kill moments come from a seeded xorshift; the seed is printed and
//! `RELIABILITY_SEED=<n>` replays a run. Every test prints one `reliability:` line
//! with its figures (runs, faults injected, failures).
//!
//! The apiserver restart disturbs every test of this binary and the Pinot outage
//! every test that uses Pinot, so those two take write locks the others read-lock.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use api::PinotCluster;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use pinot_client::{ClientConfig, PinotClient, TableType};
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use tokio::sync::RwLock;

/// Write-locked by the apiserver restart: nothing else may talk to Kubernetes then.
static APISERVER_UP: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));
/// Write-locked by the Pinot outage.
static PINOT_UP: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

const OLD_IMAGE: &str = "apachepinot/pinot:1.5.1";
const NEW_IMAGE: &str = "apachepinot/pinot:1.5.2";
/// SIGKILLs per scenario (rollout, content sync): 20 in all.
const KILLS: usize = 10;
/// The content reconciler's retry after a failed sync (`WAIT_RETRY` in
/// `crates/operator/src/content/reconciler.rs`).
const WAIT_RETRY: Duration = Duration::from_secs(10);

/// Objects of the bulk sync: `PINOT_OPERATOR_LONG_TESTS=1` runs the full 60 pairs.
fn bulk_pairs() -> usize {
    if long_tests() { 60 } else { 24 }
}

fn long_tests() -> bool {
    std::env::var("PINOT_OPERATOR_LONG_TESTS").is_ok_and(|v| v == "1" || v == "true")
}

/// xorshift64*: reproducible kill moments without a dependency.
struct Rng(u64);

impl Rng {
    fn seeded(what: &str) -> Rng {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
            | 1;
        eprintln!("{what}: RELIABILITY_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from))
    }
}

/// A `pinot-operator run` process for one namespace, with leader election on and a
/// fixed identity (a restarted replica resumes its own Lease at once, as a
/// StatefulSet pod would). Every run appends to the same log. Killed on drop.
struct Operator {
    child: Child,
    ns: String,
    log: PathBuf,
    port: u16,
    resync: u64,
    starts: usize,
}

impl Operator {
    fn start(ns: &str, log_dir: &Path, resync: u64) -> Operator {
        let log = log_dir.join("operator.log");
        let (child, port) = spawn(ns, &log, resync);
        Operator {
            child,
            ns: ns.to_owned(),
            log,
            port,
            resync,
            starts: 1,
        }
    }

    /// SIGKILL (no cleanup at all), reaped.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        let (child, port) = spawn(&self.ns, &self.log, self.resync);
        self.child = child;
        self.port = port;
        self.starts += 1;
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn metrics(&self) -> Option<String> {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        reqwest::get(url).await.ok()?.text().await.ok()
    }
}

fn spawn(ns: &str, log: &Path, resync: u64) -> (Child, u16) {
    let port = testenv::process::free_port();
    let out = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pinot-operator"));
    command
        .args(["run", "--namespace", ns, "--lease-namespace", ns])
        .args(["--identity", "reliability-operator"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--resync-seconds", &resync.to_string()])
        .args(["--log-level", "info", "--log-format", "text"])
        .env("KUBECONFIG", Kubernetes::shared().kubeconfig_path())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe. Dies with the spawning (test) thread, so an
    // aborted test run leaves no operator behind; `Drop` handles the normal case.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    (child, port)
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sum of the samples of metric `name` (e.g. `pinot_operator_pinot_api_calls_total`).
fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The namespace's clusters, StatefulSets and pods, for a timeout's message.
fn cluster_objects(ns: &str) -> String {
    Kubernetes::shared().kubectl_output(&[
        "get",
        "pinotclusters,statefulsets,pods,persistentvolumeclaims",
        "-o",
        "wide",
        "-n",
        ns,
    ])
}

async fn namespace(prefix: &str) -> (Client, String) {
    let k8s = Kubernetes::shared();
    let client = k8s.client().await;
    common::install_crds(&client).await;
    let ns = k8s.create_namespace(prefix).await;
    (client, ns)
}

// ---------------------------------------------------------------------------------
// Deployed clusters on KWOK
// ---------------------------------------------------------------------------------

/// `tests/cluster.rs`'s small heterogeneous cluster: ZooKeeper ×1, controller ×1,
/// broker ×1, servers hot ×2 (nvme) and cold ×2 (hdd), minion ×1.
fn small(image: &str) -> Value {
    json!({
        "image": image,
        "zookeeper": {"managed": {"replicas": 1, "storage": "1Gi"}},
        "kubernetes": {"nodeSelector": {"type": "kwok"}},
        // On KWOK no Pinot runs: go on without Pinot's checks.
        "rollout": {"pinotChecks": "SkipWhenUnreachable"},
        "controller": {"pools": [{"name": "main", "replicas": 1}],
                       "kubernetes": {"storage": {"size": "1Gi"}}},
        "broker": {"pools": [{"name": "default", "replicas": 1, "tenant": "DefaultTenant"}]},
        "server": {"pools": [
            {"name": "hot", "replicas": 2, "tenant": "DefaultTenant", "tier": "hot",
             "kubernetes": {"nodeSelector": {"pinot.operator.dev/disk": "nvme"},
                            "storage": {"size": "2Gi", "storageClassName": "nvme"}}},
            {"name": "cold", "replicas": 2, "tenant": "DefaultTenant", "tier": "cold",
             "kubernetes": {"nodeSelector": {"pinot.operator.dev/disk": "hdd"},
                            "storage": {"size": "5Gi", "storageClassName": "hdd"}}}]},
        "minion": {"pools": [{"name": "default", "replicas": 1}]}
    })
}

async fn apply_cluster(client: &Client, ns: &str, name: &str, spec: Value) {
    let obj = json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
                     "metadata": {"name": name}, "spec": spec});
    common::apply(client, ns, obj).await;
}

fn image(pod: &Pod) -> String {
    pod.spec.as_ref().unwrap().containers[0]
        .image
        .clone()
        .unwrap_or_default()
}

/// The status describes the current generation, the rollout is complete and every
/// pool is updated and ready.
async fn settled(client: &Client, ns: &str, name: &str) -> Option<PinotCluster> {
    let api: Api<PinotCluster> = Api::namespaced(client.clone(), ns);
    let cluster = api.get(name).await.ok()?;
    let status = cluster.status.as_ref()?;
    let progressing = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Progressing")?;
    let pools_done = !status.pools.is_empty()
        && status
            .pools
            .iter()
            .all(|p| p.ready_replicas == p.replicas && p.updated_replicas == p.replicas);
    (status.observed_generation == cluster.metadata.generation
        && progressing.reason == "RolloutComplete"
        && pools_done)
        .then_some(cluster)
}

/// One pod object (one uid) as the watch saw it.
#[derive(Debug, Clone)]
struct PodLife {
    uid: String,
    image: String,
    /// Deleted gracefully (deletionGracePeriodSeconds > 0): by the operator's rollout.
    /// KWOK only ever finishes deletions (grace 0), and its occasional late duplicate
    /// of such a delete hits a recreated pod with grace 0 as well.
    graceful_delete: bool,
}

/// Annotation the test writes on a pod as a marker in the pod watch (see
/// [`PodTracker::caught_up`]).
const BARRIER: &str = "reliability.test/barrier";

/// Watches the pods of a namespace and remembers every uid each pod name had.
struct PodTracker {
    lives: Arc<Mutex<BTreeMap<String, Vec<PodLife>>>>,
    /// Every value of the [`BARRIER`] annotation the watch delivered.
    barriers: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PodTracker {
    async fn start(client: &Client, ns: &str) -> PodTracker {
        let lives: Arc<Mutex<BTreeMap<String, Vec<PodLife>>>> = Arc::default();
        let barriers: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let record = lives.clone();
        let marks = barriers.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut events = watcher(api, watcher::Config::default()).boxed();
            while let Some(event) = events.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
                    Ok(watcher::Event::Delete(p)) => p,
                    Ok(watcher::Event::InitDone) => {
                        if let Some(tx) = ready.take() {
                            let _ = tx.send(());
                        }
                        continue;
                    }
                    _ => continue,
                };
                let graceful = pod.metadata.deletion_timestamp.is_some()
                    && pod.metadata.deletion_grace_period_seconds.unwrap_or(0) > 0;
                if let Some(mark) = pod.annotations().get(BARRIER) {
                    marks.lock().unwrap().insert(mark.clone());
                }
                let uid = pod.uid().unwrap_or_default();
                let mut lives = record.lock().unwrap();
                let lives = lives.entry(pod.name_any()).or_default();
                match lives.iter_mut().find(|l| l.uid == uid) {
                    Some(life) => life.graceful_delete |= graceful,
                    None => lives.push(PodLife {
                        uid,
                        image: image(&pod),
                        graceful_delete: graceful,
                    }),
                }
            }
        });
        ready_rx.await.unwrap();
        PodTracker {
            lives,
            barriers,
            task,
        }
    }

    /// Writes `mark` as the [`BARRIER`] annotation of pod `pod` and waits until the
    /// watch delivers it: a watch delivers changes in order, so every pod change made
    /// before the mark has been recorded then.
    async fn caught_up(&self, pods: &Api<Pod>, pod: &str, mark: &str) {
        annotate(pods, pod, mark).await;
        let what = format!("the pod watch to deliver barrier {mark}");
        let interval = Duration::from_millis(100);
        testenv::wait::eventually(&what, common::POLL_TIMEOUT, interval, || async {
            self.barriers.lock().unwrap().contains(mark)
        })
        .await;
    }

    fn finish(self) -> BTreeMap<String, Vec<PodLife>> {
        self.task.abort();
        self.lives.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn operator_sigkilled_during_a_rollout_converges_and_restarts_each_pod_once() {
    let _api = APISERVER_UP.read().await;
    let started = Instant::now();
    let (client, ns) = namespace("rel-rollout").await;
    let dir = tempfile::tempdir().unwrap();
    let mut operator = Operator::start(&ns, dir.path(), 30);
    apply_cluster(&client, &ns, "sales", small(&image_of(0))).await;
    let diag = || cluster_objects(&ns);
    common::poll("the cluster deployed", diag, || {
        settled(&client, &ns, "sales")
    })
    .await;

    let tracker = PodTracker::start(&client, &ns).await;
    let mut rng = Rng::seeded("rollout kills");
    // Kill only while a rollout is in flight; when one completes before all kills
    // have landed, the next image starts another (1.5.2, 1.5.3, ...).
    let mut rollouts = 1;
    apply_cluster(&client, &ns, "sales", small(&image_of(rollouts))).await;
    let kills_started = Instant::now();
    let mut kills = 0;
    while kills < KILLS {
        tokio::time::sleep(rng.millis(200, 2000)).await;
        if rolled_to(&client, &ns, &image_of(rollouts)).await.is_some() {
            rollouts += 1;
            apply_cluster(&client, &ns, "sales", small(&image_of(rollouts))).await;
            continue;
        }
        operator.kill();
        kills += 1;
        tokio::time::sleep(rng.millis(0, 800)).await;
        operator.restart();
    }
    let kill_window = kills_started.elapsed();
    let target = image_of(rollouts);
    let cluster = common::poll(
        "the rollout to complete after the kills",
        || format!("{}\n--- operator log ---\n{}", diag(), operator.log_tail()),
        || rolled_to(&client, &ns, &target),
    )
    .await;
    assert!(operator.still_running(), "{}", operator.log_tail());
    // Before judging "each pod restarted once": a whole reconcile of the settled
    // cluster (one that would restart a pod needlessly, were it going to), and the pod
    // watch caught up with everything done until then, instead of a fixed 2 s. The
    // annotations go on ZooKeeper's pod, which no rollout restarts; each one makes the
    // operator reconcile now rather than at its 30 s resync.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let zookeeper = "sales-zookeeper-0";
    let cluster_reconciles = || async {
        let text = operator.metrics().await.unwrap_or_default();
        metric_sum(
            &text,
            r#"pinot_operator_reconciles_total{controller="pinotcluster"}"#,
        )
    };
    let nudges = std::cell::Cell::new(0);
    common::a_whole_reconcile("the settled cluster", || async {
        nudges.set(nudges.get() + 1);
        annotate(&pods, zookeeper, &format!("nudge-{}", nudges.get())).await;
        cluster_reconciles().await
    })
    .await;
    tracker.caught_up(&pods, zookeeper, "judge").await;
    let lives = tracker.finish();

    let now = pods.list(&ListParams::default()).await.unwrap().items;
    let mut failures = Vec::new();
    let mut max_uids = 0;
    let mut restarted = 0;
    for pod in &now {
        let name = pod.name_any();
        let zookeeper = name.contains("zookeeper");
        if !zookeeper && image(pod) != target {
            failures.push(format!("{name} runs {}, want {target}", image(pod)));
        }
        let mine = lives.get(&name).cloned().unwrap_or_default();
        max_uids = max_uids.max(mine.len());
        // Each rollout restarts the pod once, replacing one image by the next: the
        // restarted pods carry distinct images, none of them the final one.
        let restarts: Vec<&PodLife> = mine.iter().filter(|l| l.graceful_delete).collect();
        restarted += restarts.len();
        let want = if zookeeper { 0 } else { rollouts };
        let images: BTreeSet<&str> = restarts.iter().map(|l| l.image.as_str()).collect();
        if restarts.len() != want || images.len() != want || images.contains(target.as_str()) {
            failures.push(format!(
                "{name} restarted {} times over {rollouts} rollouts, want {want}: {mine:#?}",
                restarts.len()
            ));
        }
        if mine.len() > want + 1 {
            // KWOK finishes a delete by name without a uid precondition; a late
            // duplicate can remove the pod the StatefulSet just recreated (grace 0).
            eprintln!(
                "{name} had {} uids (environment, not the operator): {mine:?}",
                mine.len()
            );
        }
    }
    let version = cluster.status.as_ref().unwrap().version.clone().unwrap();
    if version.target.as_deref() != Some(target.as_str()) {
        failures.push(format!("status.version {version:?}"));
    }
    eprintln!(
        "reliability: rollout runs=1 rollouts={rollouts} operator_starts={} sigkills_mid_rollout={kills} \
         kill_window={kill_window:.1?} pods={} operator_pod_restarts={restarted} \
         max_uids_per_pod={max_uids} failures={} total={:.1?}",
        operator.starts,
        now.len(),
        failures.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{failures:#?}\n--- operator log ---\n{}",
        operator.log_tail()
    );
}

/// Sets the [`BARRIER`] annotation of pod `pod` to `mark`. The operator watches its
/// pods, so this also makes it reconcile the pod's cluster at once.
async fn annotate(pods: &Api<Pod>, pod: &str, mark: &str) {
    let patch = json!({"metadata": {"annotations": {BARRIER: mark}}});
    pods.patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("annotate {pod}: {e}"));
}

/// Image of rollout `n` (0 is the deployed one).
fn image_of(n: usize) -> String {
    format!("apachepinot/pinot:1.5.{}", n + 1)
}

/// The cluster settled with every pool on `image`.
async fn rolled_to(client: &Client, ns: &str, image: &str) -> Option<PinotCluster> {
    let cluster = settled(client, ns, "sales").await?;
    let version = cluster.status.as_ref()?.version.clone()?;
    (version.current.as_deref() == Some(image)).then_some(cluster)
}

#[tokio::test]
async fn operator_survives_an_apiserver_restart_mid_reconcile() {
    let _api = APISERVER_UP.write().await;
    let started = Instant::now();
    let (client, ns) = namespace("rel-apiserver").await;
    let dir = tempfile::tempdir().unwrap();
    let mut operator = Operator::start(&ns, dir.path(), 30);
    let pid = operator.child.id();
    apply_cluster(&client, &ns, "restart", small(OLD_IMAGE)).await;
    // Mid-reconcile: the first pools exist, the rest are still to be created.
    let sets: Api<k8s_openapi::api::apps::v1::StatefulSet> = Api::namespaced(client.clone(), &ns);
    common::poll("the first StatefulSet", String::new, || async {
        (!sets
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .is_empty())
        .then_some(())
    })
    .await;
    let down = Duration::from_secs(3);
    let unavailable =
        tokio::task::spawn_blocking(move || Kubernetes::shared().restart_apiserver(down))
            .await
            .unwrap()
            .expect("restart kube-apiserver");
    let client = Kubernetes::shared().client().await;
    let diag = || cluster_objects(&ns);
    common::poll("the cluster deployed after the restart", diag, || {
        settled(&client, &ns, "restart")
    })
    .await;
    // And it keeps reconciling new work: a rollout after the restart completes too.
    apply_cluster(&client, &ns, "restart", small(NEW_IMAGE)).await;
    common::poll("a rollout after the restart", diag, || async {
        let cluster = settled(&client, &ns, "restart").await?;
        (cluster.status?.version?.current.as_deref() == Some(NEW_IMAGE)).then_some(())
    })
    .await;
    let running = operator.still_running();
    let same = operator.child.id() == pid && operator.starts == 1;
    eprintln!(
        "reliability: apiserver runs=1 restarts=1 api_unavailable={unavailable:.1?} \
         operator_exited={} failures={} total={:.1?}",
        !running,
        usize::from(!(running && same)),
        started.elapsed()
    );
    assert!(
        running && same,
        "the operator exited: {}",
        operator.log_tail()
    );
    assert!(
        operator.metrics().await.is_some(),
        "the operator no longer serves /metrics"
    );
}

// ---------------------------------------------------------------------------------
// Content in the real Pinot
// ---------------------------------------------------------------------------------

fn schema(name: &str) -> Value {
    json!({"schemaName": name,
        "dimensionFieldSpecs": [{"name": "user_id", "dataType": "STRING"}, {"name": "country", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]})
}

fn table(name: &str, retention: &str) -> Value {
    json!({"tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts", "retentionTimeUnit": "DAYS", "retentionTimeValue": retention},
        "tenants": {"server": "DefaultTenant", "broker": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP", "invertedIndexColumns": ["country"]},
        "metadata": {}})
}

/// A namespace with an external `PinotCluster` `pinot` and `n` schema+table pairs
/// named `<prefix>_<ns>_<i>` in Pinot.
struct Content {
    client: Client,
    ns: String,
    pinot: PinotClient,
    names: Vec<String>,
}

impl Content {
    async fn new(prefix: &str, n: usize) -> Content {
        let (client, ns) = namespace(prefix).await;
        let url = Pinot::shared().controller_url();
        common::apply(&client, &ns, common::external_cluster("pinot", &url)).await;
        let pinot = PinotClient::new(ClientConfig::new(url.parse().unwrap())).unwrap();
        let names = (0..n)
            .map(|i| format!("{}_{i}", ns.replace('-', "_")))
            .collect();
        Content {
            client,
            ns,
            pinot,
            names,
        }
    }

    async fn apply_all(&self, retention: &str) {
        for (i, name) in self.names.iter().enumerate() {
            let spec = json!({"clusterRef": {"name": "pinot"}, "schema": schema(name)});
            common::apply(
                &self.client,
                &self.ns,
                common::resource("PinotSchema", &format!("s{i}"), spec),
            )
            .await;
            let spec = json!({"clusterRef": {"name": "pinot"}, "schemaRef": {"name": format!("s{i}")},
                              "table": table(name, retention)});
            common::apply(
                &self.client,
                &self.ns,
                common::resource("PinotTable", &format!("t{i}"), spec),
            )
            .await;
        }
    }

    /// Every one of the `2n` objects is Synced=True for its current generation.
    async fn all_synced(&self, n: usize) -> bool {
        let synced = self.synced().await;
        synced.len() == 2 * n && synced.values().all(|(s, _)| s == "True")
    }

    /// `Synced` condition (status, reason) of every schema and table, by kind/name.
    async fn synced(&self) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        for plural in ["pinotschemas", "pinottables"] {
            let gvk = kube::core::GroupVersionKind::gvk("pinot.operator.dev", "v1alpha1", plural);
            let resource = kube::core::ApiResource::from_gvk_with_plural(&gvk, plural);
            let api: Api<kube::api::DynamicObject> =
                Api::namespaced_with(self.client.clone(), &self.ns, &resource);
            let Ok(list) = api.list(&ListParams::default()).await else {
                continue;
            };
            for obj in list.items {
                let value = serde_json::to_value(&obj).unwrap();
                let generation = value.pointer("/metadata/generation").cloned();
                let condition = value
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .and_then(|c| c.iter().find(|c| c["type"] == "Synced").cloned())
                    .filter(|c| c.get("observedGeneration") == generation.as_ref());
                let state = condition.map_or(("None".into(), "None".into()), |c| {
                    (
                        c["status"].as_str().unwrap_or_default().to_owned(),
                        c["reason"].as_str().unwrap_or_default().to_owned(),
                    )
                });
                out.insert(format!("{plural}/{}", obj.name_any()), state);
            }
        }
        out
    }

    /// Waits until every one of the `2n` objects has `Synced` = `status` (and, if
    /// given, `reason`) for its current generation.
    async fn wait_all(&self, status: &str, reason: Option<&str>, diag: impl Fn() -> String) {
        let want = 2 * self.names.len();
        let what = format!("all {want} objects Synced={status}/{reason:?}");
        common::poll(&what, diag, || async {
            let last = self.synced().await;
            let matching = last
                .values()
                .filter(|(s, r)| s == status && reason.is_none_or(|want| r == want))
                .count();
            if last.len() == want && matching == want {
                return Ok(());
            }
            let others: Vec<_> = last.iter().filter(|(_, (s, _))| s != status).collect();
            Err(format!(
                "{} objects, {matching} matching: {others:#?}",
                last.len()
            ))
        })
        .await
    }

    /// Our schemas and tables in Pinot (by name).
    async fn in_pinot(&self) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
        let prefix = format!("{}_", self.ns.replace('-', "_"));
        let ours = |names: Vec<String>| -> BTreeSet<String> {
            names
                .into_iter()
                .filter(|n| n.starts_with(&prefix))
                .collect()
        };
        let schemas = ours(self.pinot.list_schemas().await.ok()?);
        let tables = ours(self.pinot.list_tables().await.ok()?);
        Some((schemas, tables))
    }

    /// Pinot has exactly our schemas and tables, each once, with the spec's config.
    async fn assert_pinot_matches(&self, retention: &str) -> Vec<String> {
        let want: BTreeSet<String> = self.names.iter().cloned().collect();
        let (schemas, tables) = self.in_pinot().await.expect("Pinot answers");
        let mut failures = Vec::new();
        if schemas != want {
            failures.push(format!(
                "schemas differ: {:?}",
                schemas.symmetric_difference(&want).collect::<Vec<_>>()
            ));
        }
        if tables != want {
            failures.push(format!(
                "tables differ: {:?}",
                tables.symmetric_difference(&want).collect::<Vec<_>>()
            ));
        }
        for name in &self.names {
            match self
                .pinot
                .get_table(name, TableType::Offline)
                .await
                .unwrap()
            {
                Some(config) => {
                    let got = &config["segmentsConfig"]["retentionTimeValue"];
                    if got != retention {
                        failures.push(format!("{name}: retention {got}, want {retention}"));
                    }
                    if config["tableIndexConfig"]["invertedIndexColumns"] != json!(["country"]) {
                        failures.push(format!(
                            "{name}: index config {}",
                            config["tableIndexConfig"]
                        ));
                    }
                }
                None => failures.push(format!("table {name} missing")),
            }
            if self
                .pinot
                .get_table(name, TableType::Realtime)
                .await
                .unwrap()
                .is_some()
            {
                failures.push(format!("{name}: a REALTIME table appeared"));
            }
            match self.pinot.get_schema(name).await.unwrap() {
                Some(s) if s["dimensionFieldSpecs"].as_array().map(Vec::len) == Some(2) => {}
                other => failures.push(format!("schema {name}: {other:?}")),
            }
        }
        failures
    }
}

/// Lists Pinot in the background: a schema or table seen once must never vanish.
struct Vanishing {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<(Vec<String>, usize)>,
}

impl Vanishing {
    fn start(content: &Content) -> Vanishing {
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let pinot = content.pinot.clone();
        let prefix = format!("{}_", content.ns.replace('-', "_"));
        let task = tokio::spawn(async move {
            let mut seen: BTreeSet<String> = BTreeSet::new();
            let mut vanished = Vec::new();
            let mut samples = 0;
            while !token.is_cancelled() {
                if let (Ok(schemas), Ok(tables)) =
                    (pinot.list_schemas().await, pinot.list_tables().await)
                {
                    let now: BTreeSet<String> = schemas
                        .into_iter()
                        .map(|s| format!("schema {s}"))
                        .chain(tables.into_iter().map(|t| format!("table {t}")))
                        .filter(|n| n.split(' ').nth(1).is_some_and(|n| n.starts_with(&prefix)))
                        .collect();
                    vanished.extend(seen.difference(&now).cloned());
                    seen.extend(now);
                    samples += 1;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            (vanished, samples)
        });
        Vanishing { stop, task }
    }

    async fn finish(self) -> (Vec<String>, usize) {
        self.stop.cancel();
        self.task.await.unwrap()
    }
}

#[tokio::test]
async fn operator_sigkilled_during_bulk_content_sync_loses_and_duplicates_nothing() {
    let _api = APISERVER_UP.read().await;
    let _pinot = PINOT_UP.read().await;
    let started = Instant::now();
    let n = bulk_pairs();
    let content = Content::new("rel-bulk", n).await;
    let dir = tempfile::tempdir().unwrap();
    let mut operator = Operator::start(&content.ns, dir.path(), 30);
    let vanishing = Vanishing::start(&content);
    let mut rng = Rng::seeded("bulk sync kills");
    // Each wave changes every object (create, then retention 31, 32, ...); kills land
    // at random moments after the wave was applied, most while it still syncs. A wave
    // starts whenever the previous one is fully synced.
    let mut waves = 1;
    let retention = |wave: usize| (29 + wave).to_string();
    content.apply_all(&retention(waves)).await;
    let kills_started = Instant::now();
    let mut mid_sync = 0;
    for _ in 0..KILLS {
        if content.all_synced(n).await {
            waves += 1;
            content.apply_all(&retention(waves)).await;
        }
        tokio::time::sleep(rng.millis(100, 1500)).await;
        mid_sync += usize::from(!content.all_synced(n).await);
        operator.kill();
        tokio::time::sleep(rng.millis(0, 800)).await;
        operator.restart();
    }
    let kill_window = kills_started.elapsed();
    content.wait_all("True", None, || operator.log_tail()).await;
    let synced_after = kills_started.elapsed();
    let mut failures = content.assert_pinot_matches(&retention(waves)).await;
    let (vanished, samples) = vanishing.finish().await;
    if !vanished.is_empty() {
        failures.push(format!("deleted from Pinot while syncing: {vanished:?}"));
    }
    eprintln!(
        "reliability: bulk-sync runs=1 pairs={n} waves={waves} operator_starts={} \
         kill_window={kill_window:.1?} all_synced_after={synced_after:.1?} \
         sigkills={KILLS} kills_while_unsynced={mid_sync} pinot_samples={samples} failures={} total={:.1?}",
        operator.starts,
        failures.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{failures:#?}\n{}",
        operator.log_tail()
    );
}

#[tokio::test]
async fn pinot_controller_outage_is_reported_backs_off_and_recovers_everything() {
    let _api = APISERVER_UP.read().await;
    let _pinot = PINOT_UP.write().await;
    let started = Instant::now();
    let n = 8;
    let content = Content::new("rel-outage", n).await;
    let dir = tempfile::tempdir().unwrap();
    // Resync faster than WAIT_RETRY: an object that saw the outage must still wait
    // WAIT_RETRY, not the resync period, between attempts.
    let resync = 3;
    let operator = Operator::start(&content.ns, dir.path(), resync);
    content.apply_all("30").await;
    content.wait_all("True", None, || operator.log_tail()).await;

    let pinot = Pinot::shared();
    pinot.stop_controller();
    let outage_started = Instant::now();
    // A spec change during the outage, applied once Pinot is back.
    content.apply_all("45").await;
    content
        .wait_all("False", Some("PinotUnreachable"), || operator.log_tail())
        .await;
    let reported_after = outage_started.elapsed();

    // Count over a fixed window while every object keeps failing.
    let window = Duration::from_secs(30);
    let calls = |m: &str| metric_sum(m, "pinot_operator_pinot_api_calls_total");
    let reconciles = |m: &str| metric_sum(m, "pinot_operator_reconciles_total");
    let before = operator.metrics().await.expect("metrics");
    tokio::time::sleep(window).await;
    let after = operator.metrics().await.expect("metrics");
    let window_calls = calls(&after) - calls(&before);
    let window_reconciles = reconciles(&after) - reconciles(&before);
    // Each object retries once per WAIT_RETRY, and one attempt stops at its first
    // failing Pinot call (the client's own retries count as one call); +1 per object
    // for an attempt straddling each end of the window, and the same again for the
    // external cluster's status checks.
    let objects = 2 * n as u64 + 1;
    let per_object = window.as_secs() / WAIT_RETRY.as_secs() + 2;
    let bound = 2 * objects * per_object;
    let reconcile_bound = objects * per_object;
    pinot.start_controller();
    let outage = outage_started.elapsed();

    content.wait_all("True", None, || operator.log_tail()).await;
    let recovered_after = outage_started.elapsed() - outage;
    let failures = content.assert_pinot_matches("45").await;
    eprintln!(
        "reliability: pinot-outage runs=1 objects={} outage={outage:.1?} reported_after={reported_after:.1?} \
         window={window:?} pinot_calls={window_calls} (bound {bound}) reconciles={window_reconciles} \
         (bound {reconcile_bound}) recovered_after={recovered_after:.1?} failures={} total={:.1?}",
        2 * n,
        failures.len()
            + usize::from(window_calls > bound)
            + usize::from(window_reconciles > reconcile_bound),
        started.elapsed()
    );
    assert!(
        window_calls <= bound,
        "{window_calls} Pinot calls in {window:?} for {objects} objects (bound {bound}): a hot loop\n{after}"
    );
    assert!(
        window_reconciles <= reconcile_bound,
        "{window_reconciles} reconciles in {window:?} (bound {reconcile_bound})\n{after}"
    );
    assert!(
        window_calls > 0,
        "no retries at all during the outage\n{after}"
    );
    assert!(
        failures.is_empty(),
        "{failures:#?}\n{}",
        operator.log_tail()
    );
}

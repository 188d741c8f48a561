//! The stages of the real-pod test, each asserting what a user would check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use api::{PinotSchema, PinotTable};
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams};
use pinot_client::TableType;
use serde_json::{Value, json};
use testenv::kubernetes::{pinot_image, pinot_next_image, zookeeper_image};
use testenv::pinot::{Release, upload_json_rows};

use crate::control_plane;
use crate::install;
use crate::realtime;
use crate::restarts::{Restarts, Started, all_before, pool_order, restarted_twice, waves};
use crate::rig::{ADMIN_PASSWORD, READER_PASSWORD, Rig, basic, pod_name, ready};
use testenv::load::{Load, Query, Tally};

const DEPLOY_LIMIT: Duration = Duration::from_secs(900);
pub const ROLLOUT_LIMIT: Duration = Duration::from_secs(900);
const TABLE: &str = "events";
/// A table whose two replicas both live in server pool `a`: a `PoolByPool` rollout
/// must restart that pool one pod at a time.
const SOLO: &str = "solo";
/// Rows per uploaded segment, and segments uploaded.
const ROWS_PER_SEGMENT: u64 = 100;
const SEGMENTS: u64 = 3;
const SERVER_POOLS: [&str; 2] = ["a", "b"];

/// The figures the test prints and writes to `<target>/real-pods-report.md`, and the
/// rollouts that missed zero.
#[derive(Default)]
pub struct Report {
    text: String,
    missed_zero: Vec<String>,
}

impl Report {
    pub fn line(&mut self, line: String) {
        eprintln!("real-pods: {line}");
        let _ = writeln!(self.text, "- {line}");
    }

    /// Records `tally` of rollout `stage`, which must have no failed or partial query,
    /// and no answer with a wrong row count (the OFFLINE count never drops).
    pub fn expect_zero(&mut self, stage: &str, load: &str, tally: &Tally) {
        if tally.failed + tally.partial + tally.wrong_count > 0 {
            let problem = format!("{stage}: {load} {}", tally.summary());
            self.missed_zero.push(problem);
        }
    }

    /// Writes the report, then fails the test if a rollout missed zero (after
    /// writing, so the figures of every stage are kept either way).
    pub fn write(&mut self) {
        let verdict = match self.missed_zero.is_empty() {
            true => "every rollout: no failed query, no partial answer, no wrong count".to_owned(),
            false => format!("MISSED ZERO: {}", self.missed_zero.join("; ")),
        };
        self.line(verdict);
        let test_binary = std::env::current_exe().unwrap();
        if let Some(target) = test_binary.ancestors().nth(3) {
            let _ = std::fs::write(target.join("real-pods-report.md"), &self.text);
        }
        assert!(
            self.missed_zero.is_empty(),
            "rollouts with failed queries, partial answers or wrong counts: {:?}",
            self.missed_zero
        );
    }
}

/// What the data stages left: the query a client runs and its answer.
pub struct Data {
    pub query: Query,
}

/// Pool `b` runs a sidecar (through `podOverrides`) sharing a volume with Pinot, and
/// from the canary rollout on its own image.
fn server_pools(b_replicas: u32, b_image: Option<String>) -> Value {
    let mut b = json!({"name": "b", "replicas": b_replicas, "tenant": "DefaultTenant",
                       "kubernetes": {"podOverrides": sidecar()}});
    if let Some(image) = b_image {
        b["image"] = json!(image);
    }
    json!([{"name": "a", "replicas": 2, "tenant": "DefaultTenant"}, b])
}

const SIDECAR: &str = "sidecar";
const LB_ANNOTATION: &str = "lb.example/scheme";

/// A sidecar that stops on SIGTERM (one that ignored it would hold every restart of
/// its server for the whole grace period), and a volume it shares with Pinot.
fn sidecar() -> Value {
    json!({"spec": {
        "containers": [
            {"name": "pinot", "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]},
            {"name": SIDECAR, "image": pinot_image(),
             "command": ["bash", "-c", "trap 'exit 0' TERM; while sleep 1; do :; done"],
             "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]}],
        "volumes": [{"name": "shared", "emptyDir": {}}]}})
}

/// 1 controller, 2 brokers, servers `a` and `b` of 2 each (Pinot pools 0 and 1), 1
/// minion, managed ZooKeeper, basic auth (admin and a read-only reader), all on the real
/// node with small heaps. Production sizes are in docs/operations.md.
fn cluster_spec() -> Value {
    json!({
        "image": pinot_image(),
        "zookeeper": {"managed": {"replicas": 3, "storage": "1Gi", "image": zookeeper_image(),
            "kubernetes": {"nodeSelector": {"type": "real"},
                           "resources": {"limits": {"memory": "512Mi"}}}}},
        "kubernetes": {"nodeSelector": {"type": "real"},
                       "resources": {"requests": {"cpu": "50m", "memory": "256Mi"},
                                     "limits": {"memory": "1Gi"}}},
        // C1 only: JVM start-up dominates a rollout on 2 cores; peak speed does not matter.
        "pinot": {"jvmOptions": "-Xms64m -Xmx384m -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1"},
        "auth": {"adminUser": "admin", "users": [
            {"name": "admin", "passwordSecretRef": {"name": "pinot-users", "key": "admin"}},
            {"name": "reader", "passwordSecretRef": {"name": "pinot-users", "key": "reader"},
             "permissions": ["Read"]}]},
        "controller": {"pools": [{"name": "main", "replicas": 1}],
                       "kubernetes": {"storage": {"size": "1Gi"}}},
        // A LoadBalancer nothing provisions here: its type and annotations are applied,
        // and clients keep using its cluster IP.
        "broker": {"service": {"type": "LoadBalancer", "annotations": {LB_ANNOTATION: "internal"}},
                   "pools": [{"name": "default", "replicas": 2, "tenant": "DefaultTenant"}]},
        "server": {"kubernetes": {"storage": {"size": "1Gi"}}, "pools": server_pools(2, None)},
        "minion": {"pools": [{"name": "default", "replicas": 1}]},
        "rollout": {"serverStrategy": "PoolByPool"}
    })
}

/// Pinot's instance id of a pod of `role` (`Server`, ...) listening on `port`.
fn instance(rig: &Rig, role: &str, pool: &str, ordinal: u32, port: u16) -> String {
    let pod = pod_name(&rig.cluster, &role.to_lowercase(), pool, ordinal);
    let service = format!("{}-{}-{pool}", rig.cluster, role.to_lowercase());
    format!("{role}_{pod}.{service}.{}.svc.cluster.local_{port}", rig.ns)
}

fn expected_instances(rig: &Rig, b_replicas: u32) -> BTreeSet<String> {
    let mut ids = BTreeSet::from([
        instance(rig, "Controller", "main", 0, 9000),
        instance(rig, "Broker", "default", 0, 8099),
        instance(rig, "Broker", "default", 1, 8099),
        instance(rig, "Minion", "default", 0, 9514),
    ]);
    for (pool, replicas) in [("a", 2), ("b", b_replicas)] {
        ids.extend((0..replicas).map(|o| instance(rig, "Server", pool, o, 8098)));
    }
    ids
}

pub async fn deploy(rig: &Rig, report: &mut Report) {
    rig.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pinot-users"},
        "stringData": {"admin": ADMIN_PASSWORD, "reader": READER_PASSWORD}}),
    )
    .await;
    let started = Instant::now();
    rig.apply(
        json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": rig.cluster}, "spec": cluster_spec()}),
    )
    .await;
    rig.wait_settled(DEPLOY_LIMIT).await;
    report.line(format!(
        "deploy: Available after {:.0?} (3 ZooKeeper members, 1 controller, 2 brokers, 2x2 servers (pool b with a sidecar), 1 minion)",
        started.elapsed()
    ));
    let pinot = rig.pinot().await;
    let expected = expected_instances(rig, 2);
    let registered: BTreeSet<String> = pinot.list_instances().await.unwrap().into_iter().collect();
    assert_eq!(registered, expected, "every instance is registered");
    let live = live_instances(rig).await;
    assert!(
        expected.is_subset(&live),
        "every instance is alive: {live:?}"
    );
    rig.wait_for(
        "tags and Pinot pools on every instance",
        DEPLOY_LIMIT,
        || async { instances_carry_their_pools(rig, &pinot).await.then_some(()) },
    )
    .await;
    let broker = rig
        .api::<Service>()
        .get(&format!("{}-broker", rig.cluster))
        .await
        .unwrap();
    let spec = broker.spec.unwrap_or_default();
    assert_eq!(
        spec.type_.as_deref(),
        Some("LoadBalancer"),
        "broker Service type"
    );
    assert_eq!(
        broker
            .metadata
            .annotations
            .unwrap_or_default()
            .get(LB_ANNOTATION)
            .map(String::as_str),
        Some("internal"),
        "broker Service annotation"
    );
    // Available means every pod Ready, and a server pod is Ready only through the
    // gate the operator sets once the brokers route to it.
    let servers: Vec<Pod> = (rig.pods().await.into_iter())
        .filter(|p| p.name_any().contains("-server-"))
        .collect();
    assert_eq!(servers.len(), 4);
    for pod in &servers {
        let in_b = pod.name_any().contains("-server-b-");
        assert_eq!(
            sidecar_ready(pod),
            in_b,
            "{}: the sidecar runs next to Pinot in pool b only",
            pod.name_any()
        );
        let conditions = (pod.status.as_ref()).and_then(|s| s.conditions.clone());
        let gate = (conditions.unwrap_or_default().into_iter())
            .find(|c| c.type_ == "pinot.operator.dev/routable");
        assert_eq!(
            gate.map(|c| c.status),
            Some("True".to_owned()),
            "{}: the readiness gate is set",
            pod.name_any()
        );
    }
}

/// Whether the pod's sidecar container is running and ready.
fn sidecar_ready(pod: &Pod) -> bool {
    let statuses = (pod.status.as_ref()).and_then(|s| s.container_statuses.clone());
    (statuses.unwrap_or_default().iter()).any(|c| {
        c.name == SIDECAR && c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some())
    })
}

/// `LIVEINSTANCES` of the Helix cluster, through the controller's ZooKeeper browser.
async fn live_instances(rig: &Rig) -> BTreeSet<String> {
    let controller = rig
        .service_url(&format!("{}-controller", rig.cluster), 9000)
        .await;
    let url = format!("{controller}/zk/ls?path=/{}/LIVEINSTANCES", rig.cluster);
    let answer: Value = reqwest::Client::new()
        .get(&url)
        .header("Authorization", basic("admin", ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(answer).unwrap_or_default()
}

/// Servers carry their tenant's tags and their pool's number (a: 0, b: 1); brokers
/// their tenant's broker tag.
async fn instances_carry_their_pools(rig: &Rig, pinot: &pinot_client::PinotClient) -> bool {
    let tenant_tags = ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"];
    for (number, pool) in SERVER_POOLS.iter().enumerate() {
        for ordinal in 0..2 {
            let id = instance(rig, "Server", pool, ordinal, 8098);
            let Some(instance) = pinot.get_instance(&id).await.unwrap() else {
                return false;
            };
            let pools: BTreeMap<String, i32> = tenant_tags
                .iter()
                .map(|t| ((*t).to_owned(), number as i32))
                .collect();
            if instance.pools != pools
                || !tenant_tags
                    .iter()
                    .all(|t| instance.tags.contains(&(*t).to_owned()))
            {
                return false;
            }
        }
    }
    let broker = pinot
        .get_instance(&instance(rig, "Broker", "default", 0, 8099))
        .await
        .unwrap();
    broker.is_some_and(|b| b.tags.contains(&"DefaultTenant_BROKER".to_owned()))
}

fn schema(name: &str) -> Value {
    json!({"clusterRef": {"name": "rt"}, "schema": {"schemaName": name,
        "dimensionFieldSpecs": [{"name": "user_id", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
                                "granularity": "1:MILLISECONDS"}]}})
}

/// Replication 2, placed by `assignment` (an `instanceAssignmentConfigMap` entry).
fn table(name: &str, assignment: Value) -> Value {
    json!({"clusterRef": {"name": "rt"}, "schemaRef": {"name": name}, "table": {
        "tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "2", "timeColumnName": "ts"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP"},
        "routing": {"instanceSelectorType": "replicaGroup"},
        "instanceAssignmentConfigMap": {"OFFLINE": assignment},
        "metadata": {}}})
}

/// One replica group per Pinot pool: each server pool holds a whole replica of every
/// segment, so a `PoolByPool` rollout restarts whole pools.
fn across_pools() -> Value {
    json!({"tagPoolConfig": {"tag": "DefaultTenant_OFFLINE", "poolBased": true, "numPools": 2},
           "replicaGroupPartitionConfig": {"replicaGroupBased": true, "numReplicaGroups": 2}})
}

/// Both replica groups in Pinot pool 0 (server pool `a`), one instance each.
fn inside_pool_a() -> Value {
    json!({"tagPoolConfig": {"tag": "DefaultTenant_OFFLINE", "poolBased": true, "pools": [0]},
           "replicaGroupPartitionConfig": {"replicaGroupBased": true, "numReplicaGroups": 2,
                                           "numInstancesPerReplicaGroup": 1}})
}

fn resource(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind,
           "metadata": {"name": name}, "spec": spec})
}

/// Whether the content object's status says `Synced=True`.
pub fn synced(status: Option<&api::ContentStatus>) -> bool {
    status.is_some_and(|s| (s.conditions.iter()).any(|c| c.type_ == "Synced" && c.status == "True"))
}

pub async fn content_and_data(rig: &Rig) -> Data {
    sync_table(rig, TABLE, across_pools()).await;
    let controller = rig
        .service_url(&format!("{}-controller", rig.cluster), 9000)
        .await;
    for segment in 0..SEGMENTS {
        upload_rows(&controller, TABLE, segment).await;
    }
    for replicas in placement(rig, TABLE, SEGMENTS).await.values() {
        let pools: BTreeSet<&str> = replicas.keys().map(|id| server_pool(id)).collect();
        assert_eq!(
            pools.len(),
            2,
            "{TABLE}: one replica per server pool: {replicas:?}"
        );
    }
    let data = Data {
        query: count_query(rig, TABLE, SEGMENTS).await,
    };
    wait_counted(rig, &data.query).await;
    anonymous_is_refused(rig, &data.query).await;
    data
}

/// Applies schema and table `name` (placed by `assignment`) and waits until both sync.
async fn sync_table(rig: &Rig, name: &str, assignment: Value) {
    rig.apply(resource("PinotSchema", name, schema(name))).await;
    rig.apply(resource("PinotTable", name, table(name, assignment)))
        .await;
    rig.wait_for(
        "the schema and table to sync",
        Duration::from_secs(120),
        || async {
            let schema = rig.api::<PinotSchema>().get(name).await.unwrap();
            let table = rig.api::<PinotTable>().get(name).await.unwrap();
            (synced(schema.status.as_ref()) && synced(table.status.as_ref())).then_some(())
        },
    )
    .await;
}

/// `SELECT COUNT(*)` of `table` as the reader, expecting `segments` full segments.
async fn count_query(rig: &Rig, table: &str, segments: u64) -> Query {
    Query {
        broker: rig.broker_url().await,
        sql: format!("SELECT COUNT(*) FROM {table}"),
        expected_count: Some(ROWS_PER_SEGMENT * segments),
        authorization: Some(basic("reader", READER_PASSWORD)),
    }
}

async fn wait_counted(rig: &Rig, query: &Query) {
    rig.wait_for(
        "every row to be counted",
        Duration::from_secs(60),
        || async { (count(query).await == query.expected_count).then_some(()) },
    )
    .await;
}

/// The server pool (`a`, `b`) of a server instance id.
fn server_pool(id: &str) -> &'static str {
    if id.contains("-server-a-") { "a" } else { "b" }
}

/// Where `table`'s `segments` segments are, once every one is ONLINE on two servers.
async fn placement(
    rig: &Rig,
    table: &str,
    segments: u64,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let pinot = rig.pinot().await;
    rig.wait_for(
        "every segment ONLINE on two servers",
        Duration::from_secs(180),
        || async {
            let view = pinot
                .external_view(table, TableType::Offline)
                .await
                .unwrap();
            let online =
                |r: &BTreeMap<String, String>| r.len() == 2 && r.values().all(|s| s == "ONLINE");
            (view.len() as u64 == segments && view.values().all(online)).then_some(view)
        },
    )
    .await
}

/// Builds a segment of `ROWS_PER_SEGMENT` rows in the controller (`POST /ingestFromFile`
/// through its Service, as admin); the controller uploads it to its deep store and the
/// servers of the table's replica groups download it.
async fn upload_rows(controller: &str, table: &str, segment: u64) {
    let rows: String = (0..ROWS_PER_SEGMENT)
        .map(|i| {
            let ts = 1_700_000_000_000 + segment * 86_400_000 + i;
            format!("{{\"user_id\":\"u{segment}-{i}\",\"amount\":{i},\"ts\":{ts}}}\n")
        })
        .collect();
    let admin = reqwest::Client::builder()
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::AUTHORIZATION,
            basic("admin", ADMIN_PASSWORD).parse().unwrap(),
        )]))
        .build()
        .unwrap();
    let table = format!("{table}_OFFLINE");
    if let Err(e) = upload_json_rows(&admin, controller, &table, &rows).await {
        panic!("{e:#}");
    }
}

/// The row count a query answers, `None` on any failure.
async fn count(query: &Query) -> Option<u64> {
    testenv::load::count(&reqwest::Client::new(), query).await
}

/// An anonymous query is refused: 0.11's broker answers 200 with error 180 and no
/// result, 1.5.1's 401.
async fn anonymous_is_refused(rig: &Rig, query: &Query) {
    let release = rig
        .pinot()
        .await
        .version()
        .await
        .unwrap()
        .and_then(|v| Release::parse(&v));
    let response = reqwest::Client::new()
        .post(format!("{}/query/sql", query.broker))
        .json(&json!({"sql": query.sql}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if release.is_some_and(|r| r >= Release(1, 0, 0)) {
        assert_eq!(status.as_u16(), 401, "{answer}");
    } else {
        assert_eq!(status.as_u16(), 200, "{answer}");
        assert_eq!(answer["exceptions"][0]["errorCode"], 180, "{answer}");
        assert!(answer.get("resultTable").is_none(), "{answer}");
    }
}

/// One rollout under load and what it must show.
struct Rollout {
    name: &'static str,
    patch: Value,
    /// Pools restarted, in order; each restarts all its pods exactly once.
    pools: &'static [&'static str],
    /// Pools whose pods must restart one at a time (a wave each).
    one_at_a_time: &'static [&'static str],
    kill_leader: bool,
    /// The ZooKeeper member leading before the rollout must be the last one restarted.
    zookeeper_leader_last: bool,
    /// The rollout must show the operator force-committing the REALTIME table's
    /// consuming segments before restarting servers (`rollout.forceCommit`, on by
    /// default: checked once, on the first server rollout).
    force_commits: bool,
}

/// Watches the cluster's pods (every one known before it returns).
pub async fn watch_restarts(rig: &Rig) -> Restarts {
    let restarts = Restarts::watch(rig.client.clone(), &rig.ns, &rig.cluster);
    rig.wait_for(
        "the pod watch to start",
        Duration::from_secs(30),
        || async { (restarts.known().await >= 9).then_some(()) },
    )
    .await;
    restarts
}

pub async fn rollouts_under_load(
    rig: &Rig,
    data: &Data,
    stream: &Query,
    restarts: &Restarts,
    report: &mut Report,
) {
    let every_role = &[
        "controller/main",
        "broker/default",
        "server/a",
        "server/b",
        "minion/default",
    ];
    let cases = [
        Rollout {
            name: "server config change, PoolByPool, consuming segments force-committed (the default)",
            patch: json!({
                "server": {"pinot": {"properties": {"pinot.server.query.executor.timeout": "20000"}}}}),
            pools: &["server/a", "server/b"],
            one_at_a_time: &[],
            kill_leader: false,
            zookeeper_leader_last: false,
            force_commits: true,
        },
        Rollout {
            name: "broker config change",
            patch: json!({
                "broker": {"pinot": {"properties": {"pinot.broker.timeoutMs": "20000"}}}}),
            pools: &["broker/default"],
            one_at_a_time: &["broker/default"],
            kill_leader: false,
            zookeeper_leader_last: false,
            force_commits: false,
        },
        Rollout {
            name: "image change, PoolByPool, leading operator pod deleted midway",
            patch: json!({"image": pinot_next_image()}),
            pools: every_role,
            one_at_a_time: &["broker/default"],
            kill_leader: true,
            zookeeper_leader_last: false,
            force_commits: false,
        },
        Rollout {
            name: "image change, OneByOne",
            patch: json!({"image": pinot_image(), "rollout": {"serverStrategy": "OneByOne"}}),
            pools: every_role,
            one_at_a_time: &["broker/default", "server/a", "server/b"],
            kill_leader: false,
            zookeeper_leader_last: false,
            force_commits: false,
        },
        Rollout {
            name: "controller restart",
            patch: json!({"controller": {"kubernetes": {"podAnnotations": {"restart": "1"}}}}),
            pools: &["controller/main"],
            one_at_a_time: &["controller/main"],
            kill_leader: false,
            zookeeper_leader_last: false,
            force_commits: false,
        },
        Rollout {
            name: "ZooKeeper rollout, 3 members",
            patch: json!({"zookeeper": {"managed": {"kubernetes": {"podAnnotations": {"restart": "1"}}}}}),
            pools: &["zookeeper/managed"],
            one_at_a_time: &["zookeeper/managed"],
            kill_leader: false,
            zookeeper_leader_last: true,
            force_commits: false,
        },
        Rollout {
            name: "canary: server pool b on its own image",
            patch: json!({"server": {"pools": server_pools(2, Some(pinot_next_image()))}}),
            pools: &["server/b"],
            one_at_a_time: &["server/b"],
            kill_leader: false,
            zookeeper_leader_last: false,
            force_commits: false,
        },
    ];
    for case in cases {
        roll(rig, [&data.query, stream], restarts, &case, report).await;
    }
    canary_runs_alone(rig).await;
}

/// After the canary rollout, pool `b` runs the canary image, every other Pinot pod
/// the cluster's, and the status counts the cluster as on its target.
async fn canary_runs_alone(rig: &Rig) {
    for pod in rig.pods().await {
        let name = pod.name_any();
        let Some(role) = ["-controller-", "-broker-", "-server-", "-minion-"]
            .into_iter()
            .find(|r| name.contains(r))
        else {
            continue;
        };
        let image = pod
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
        let want = match name.contains("-server-b-") {
            true => pinot_next_image(),
            false => pinot_image(),
        };
        assert_eq!(image, Some(want), "{name} ({role}) runs its pool's image");
    }
    let cluster = rig.cluster().await;
    let version = cluster.status.and_then(|s| s.version).unwrap_or_default();
    assert_eq!(
        version.current,
        Some(pinot_image()),
        "status.version.current"
    );
}

/// A table whose replicas all live in server pool `a`: a `PoolByPool` rollout must fall
/// back to one pod at a time there (Pinot's external view says so), and pool `b`, which
/// holds none of it, still restarts whole.
pub async fn sole_replicas(rig: &Rig, stream: &Query, restarts: &Restarts, report: &mut Report) {
    sync_table(rig, SOLO, inside_pool_a()).await;
    let controller = rig
        .service_url(&format!("{}-controller", rig.cluster), 9000)
        .await;
    upload_rows(&controller, SOLO, 0).await;
    for replicas in placement(rig, SOLO, 1).await.values() {
        let pools: BTreeSet<&str> = replicas.keys().map(|id| server_pool(id)).collect();
        assert_eq!(
            pools,
            BTreeSet::from(["a"]),
            "{SOLO}: both replicas in pool a: {replicas:?}"
        );
    }
    let solo = count_query(rig, SOLO, 1).await;
    wait_counted(rig, &solo).await;
    let case = Rollout {
        name: "server config change, PoolByPool, pool a holding a table's only replicas",
        patch: json!({"rollout": {"serverStrategy": "PoolByPool"},
            "server": {"pinot": {"properties": {"pinot.server.query.executor.timeout": "25000"}}}}),
        pools: &["server/a", "server/b"],
        one_at_a_time: &["server/a"],
        kill_leader: false,
        zookeeper_leader_last: false,
        force_commits: false,
    };
    roll(rig, [&solo, stream], restarts, &case, report).await;
}

/// One rollout under two loads: the OFFLINE `query` (a fixed count) and the REALTIME
/// `stream` one (a growing count), with the stream's ingestion lag sampled.
async fn roll(
    rig: &Rig,
    [query, stream]: [&Query; 2],
    restarts: &Restarts,
    case: &Rollout,
    report: &mut Report,
) {
    let calls = install::PinotCalls::start(rig.k8s);
    let load = Load::start(query.clone());
    let stream_load = Load::start(stream.clone());
    let lag = testenv::lag::LagSampler::start(stream, realtime::TABLE);
    let leader = match case.zookeeper_leader_last {
        true => Some(control_plane::zookeeper_leader(rig).await),
        false => None,
    };
    let started = Instant::now();
    rig.patch_cluster(case.patch.clone()).await;
    if case.kill_leader {
        rig.wait_for("the first server pod to restart", ROLLOUT_LIMIT, || async {
            let seen = restarts.since(started).await;
            seen.iter().any(|r| r.component == "server").then_some(())
        })
        .await;
        let leader = install::delete_leader(rig.k8s).await;
        report.line(format!(
            "{}: deleted the leading operator pod {leader}",
            case.name
        ));
    }
    rig.wait_settled(ROLLOUT_LIMIT).await;
    let took = started.elapsed();
    let tally = load.stop().await;
    let stream_tally = stream_load.stop().await;
    let worst_lag = lag.stop().await;
    let consulted = calls.stop().await;
    let seen = restarts.since(started).await;
    let timeline: Vec<String> = (seen.iter())
        .map(|r| format!("{} +{:.0}s", r.name, (r.at - started).as_secs_f64()))
        .collect();
    report.line(format!(
        "{}: {:.0?}, {} pods restarted in {} waves, pool order {:?}; OFFLINE {}{}; \
         REALTIME {}{}, ingestion lag at most {:.1?}; pods started: {}",
        case.name,
        took,
        seen.len(),
        waves(&seen),
        pool_order(&seen),
        tally.summary(),
        examples(&tally),
        stream_tally.summary(),
        examples(&stream_tally),
        worst_lag,
        timeline.join(", "),
    ));
    report.expect_zero(case.name, "OFFLINE", &tally);
    report.expect_zero(case.name, "REALTIME", &stream_tally);
    if tally.failed + tally.partial + stream_tally.failed + stream_tally.partial > 0 {
        report.line(format!(
            "{}: what the brokers logged about it: {}",
            case.name,
            broker_complaints(rig, took)
        ));
    }
    let held: Vec<String> = (cluster_events(rig).await.into_iter())
        .filter(|m| m.contains("is served only by"))
        .collect();
    if !held.is_empty() {
        report.line(format!(
            "{}: restarts held so as not to strand a segment (this test so far): {}",
            case.name,
            held.join(" | ")
        ));
    }
    let reset: Vec<String> = (cluster_events(rig).await.into_iter())
        .filter(|m| m.contains("reset segments in ERROR"))
        .collect();
    if !reset.is_empty() {
        report.line(format!(
            "{}: segments in ERROR the operator reset (this test so far): {}",
            case.name,
            reset.join(" | ")
        ));
    }
    check_rollout(rig, case, &seen, consulted).await;
    if case.force_commits {
        let said = format!(
            "force-committing the consuming segments of {}",
            realtime::TABLE
        );
        let events = cluster_events(rig).await;
        assert!(
            events.iter().any(|e| e.contains(&said)),
            "{}: the operator force-committed before restarting servers: {events:?}",
            case.name
        );
    }
    if let Some(leader) = leader {
        let last = seen
            .iter()
            .max_by_key(|r| r.deleted_at)
            .map(|r| r.name.clone());
        report.line(format!(
            "{}: {leader} led before the rollout; restarted last: {last:?}; leading after: {}",
            case.name,
            control_plane::zookeeper_leader(rig).await
        ));
        assert_eq!(
            last.as_ref(),
            Some(&leader),
            "{}: the leader restarts last",
            case.name
        );
        let mismatches = control_plane::zookeeper_digest_mismatches(rig).await;
        report.line(format!(
            "{}: digest mismatches per member after the rollout: {mismatches:?}",
            case.name
        ));
        assert_eq!(mismatches.len(), 3, "every member answers: {mismatches:?}");
        assert!(
            mismatches.iter().all(|(_, n)| *n == 0),
            "{}: a member's data diverged from the leader's: {mismatches:?}",
            case.name
        );
    }
    wait_counted(rig, query).await;
}

/// The brokers' log lines of the last `window` that mention unavailable segments or
/// exceptions (at most a few), to say where failed or partial queries came from.
fn broker_complaints(rig: &Rig, window: Duration) -> String {
    let since = format!("--since={}s", window.as_secs() + 5);
    let selector = format!(
        "pinot.operator.dev/cluster={},pinot.operator.dev/component=broker",
        rig.cluster
    );
    let logs = rig.k8s.kubectl_output(&[
        "logs",
        "-n",
        &rig.ns,
        "-l",
        &selector,
        &since,
        "--prefix",
        "--tail=2000",
    ]);
    // Most telling first: which segment had no server (and which it had), then the
    // queries that went wrong, then any other error (a closed channel at each restart).
    let kinds: [fn(&str) -> bool; 3] = [
        |l| l.contains("failed to find servers hosting segment"),
        |l| {
            let trouble =
                !l.contains("exceptions=0,") || l.contains("/0/0/0/1") || l.contains("timeout");
            l.contains("requestid=") && trouble
        },
        |l| l.contains("exception:") || l.contains("error"),
    ];
    let lines: Vec<&str> = (kinds.iter())
        .flat_map(|kind| {
            (logs.lines())
                .filter(|l| kind(&l.to_lowercase()))
                .take(4)
                .collect::<Vec<_>>()
        })
        .map(|l| &l[..l.len().min(600)])
        .collect();
    lines.join(" | ")
}

pub fn examples(tally: &Tally) -> String {
    match tally.examples.is_empty() {
        true => String::new(),
        false => format!(" (e.g. {})", tally.examples.join(" | ")),
    }
}

async fn check_rollout(rig: &Rig, case: &Rollout, seen: &[Started], consulted: install::Consulted) {
    let name = case.name;
    assert!(
        restarted_twice(seen).is_empty(),
        "{name}: restarted twice: {:?}",
        restarted_twice(seen)
    );
    assert_eq!(
        pool_order(seen),
        case.pools,
        "{name}: pools in deployment order"
    );
    for pair in case.pools.windows(2) {
        assert!(
            all_before(seen, pair[0], pair[1]),
            "{name}: {} finished before {}",
            pair[0],
            pair[1]
        );
    }
    let pods = rig.pods().await;
    for pool in case.pools {
        let want = pods.iter().filter(|p| in_pool(p, pool)).count();
        let got = seen.iter().filter(|r| r.pool == *pool).count();
        assert_eq!(got, want, "{name}: every pod of {pool} restarted once");
    }
    for pool in case.one_at_a_time {
        let pods: Vec<Started> = seen.iter().filter(|r| r.pool == *pool).cloned().collect();
        assert_eq!(
            waves(&pods),
            pods.len(),
            "{name}: {pool} restarted one pod at a time"
        );
    }
    // A pool restarts whole unless the operator said why not: with a REALTIME table
    // being fed, a consuming segment can have no serving replica outside the pool for
    // a moment (its other replica not consuming yet), and then one pod at a time is
    // the safe choice.
    let events = cluster_events(rig).await;
    for pool in case.pools.iter().filter(|p| p.starts_with("server/")) {
        if !case.one_at_a_time.contains(pool) {
            let pods: Vec<Started> = seen.iter().filter(|r| r.pool == *pool).cloned().collect();
            let said = format!("{pool} restarts one pod at a time");
            assert!(
                waves(&pods) == 1 || events.iter().any(|e| e.contains(&said)),
                "{name}: {pool} restarted whole, or the operator said why not: {events:?}"
            );
        }
    }
    assert!(
        consulted.views > 0,
        "{name}: the operator asked Pinot for external views during the rollout"
    );
    let restarts_servers = case.pools.iter().any(|p| p.starts_with("server/"));
    assert!(
        consulted.routes > 0 || !restarts_servers,
        "{name}: the operator asked the brokers for their routing before restarting servers"
    );
    let skipped = cluster_events(rig).await;
    let skipped: Vec<&String> = skipped.iter().filter(|m| m.contains("skipped")).collect();
    assert!(
        skipped.is_empty(),
        "{name}: Pinot's checks were skipped: {skipped:?}"
    );
}

fn in_pool(pod: &Pod, pool: &str) -> bool {
    let label = |key: &str| pod.labels().get(key).cloned().unwrap_or_default();
    format!(
        "{}/{}",
        label("pinot.operator.dev/component"),
        label("pinot.operator.dev/pool")
    ) == pool
}

/// Messages of the PinotCluster's Events (the operator's word on each step).
async fn cluster_events(rig: &Rig) -> Vec<String> {
    let selector = format!(
        "involvedObject.name={},involvedObject.kind=PinotCluster",
        rig.cluster
    );
    let events = rig
        .api::<Event>()
        .list(&ListParams::default().fields(&selector))
        .await
        .unwrap();
    events.items.into_iter().filter_map(|e| e.message).collect()
}

pub async fn scale_in(rig: &Rig, data: &Data, report: &mut Report) {
    let pinot = rig.pinot().await;
    let leaving = instance(rig, "Server", "b", 1, 8098);
    let load = Load::start(data.query.clone());
    let started = Instant::now();
    let pools = server_pools(1, Some(pinot_next_image()));
    rig.patch_cluster(json!({"server": {"pools": pools}})).await;
    rig.wait_settled(ROLLOUT_LIMIT).await;
    rig.wait_for(
        "the leaving instance to leave Pinot",
        Duration::from_secs(180),
        || async {
            let ids = pinot.list_instances().await.unwrap();
            (!ids.contains(&leaving)).then_some(())
        },
    )
    .await;
    let tally = load.stop().await;
    report.line(format!(
        "scale-in of server/b from 2 to 1: {:.0?}; {}{}",
        started.elapsed(),
        tally.summary(),
        examples(&tally)
    ));
    let registered: BTreeSet<String> = pinot.list_instances().await.unwrap().into_iter().collect();
    assert_eq!(registered, expected_instances(rig, 1));
    let view = pinot
        .external_view(TABLE, TableType::Offline)
        .await
        .unwrap();
    for (segment, replicas) in &view {
        assert!(
            !replicas.contains_key(&leaving),
            "segment {segment} still on {leaving}"
        );
        assert_eq!(
            replicas.values().filter(|s| *s == "ONLINE").count(),
            2,
            "{segment}: {replicas:?}"
        );
    }
    assert_eq!(
        count(&data.query).await,
        data.query.expected_count,
        "no row lost"
    );
}

/// The pod of a server instance id (`Server_<pod>.<service>..._8098`).
fn pod_of(instance: &str) -> String {
    let host = instance.trim_start_matches("Server_");
    host.split('.').next().unwrap_or_default().to_owned()
}

pub async fn crash(rig: &Rig, data: &Data, report: &mut Report) {
    let pinot = rig.pinot().await;
    // A server that hosts segments: the one whose loss queries could feel.
    let view = pinot
        .external_view(TABLE, TableType::Offline)
        .await
        .unwrap();
    let id = (view.values().flat_map(|r| r.keys()))
        .find(|i| i.contains("-server-a-"))
        .expect("pool a hosts a replica")
        .clone();
    let victim = pod_of(&id);
    let old = rig.api::<Pod>().get(&victim).await.unwrap().uid();
    let load = Load::start(data.query.clone());
    let started = Instant::now();
    let force = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    rig.api::<Pod>().delete(&victim, &force).await.unwrap();
    rig.wait_for(
        "the crashed server back with its segments ONLINE",
        ROLLOUT_LIMIT,
        || async {
            let pod = rig.api::<Pod>().get_opt(&victim).await.unwrap()?;
            let back = pod.uid() != old && ready(std::slice::from_ref(&pod)).len() == 1;
            let view = pinot.external_view(TABLE, TableType::Offline).await.ok()?;
            let hosted: Vec<_> = view.values().filter_map(|r| r.get(&id)).collect();
            (back && !hosted.is_empty() && hosted.iter().all(|s| *s == "ONLINE")).then_some(())
        },
    )
    .await;
    let tally = load.stop().await;
    report.line(format!(
        "crash of {victim} (force-deleted): back with its segments ONLINE after {:.0?}; {}{}",
        started.elapsed(),
        tally.summary(),
        examples(&tally)
    ));
    assert_eq!(
        count(&data.query).await,
        data.query.expected_count,
        "no row lost"
    );
}

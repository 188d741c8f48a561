//! Real-pod rollout: the operator deploys a cluster on the real node (managed ZooKeeper,
//! 1 controller, 2 brokers, servers in two pools of 2 with one replica group per pool, 1
//! minion) running real Pinot from the images built here, with a table of 3 segments.
//! Then the image changes, once per `serverStrategy`, while a client queries the broker
//! Service every 100 ms: wall time, restart waves (from the operator's `pod_restarts`),
//! and failed and partial queries.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use testenv::kubernetes::{pinot_image, pinot_next_image, zookeeper_image};
use testenv::load::{Load, Query};
use testenv::pinot::upload_json_rows;

use crate::env::Env;
use crate::report::{Table, seconds};
use crate::rollout::{Waves, clusters, deploy, roll};

const NAMESPACE: &str = "real-rollout";
const CLUSTER: &str = "bench";
const TABLE: &str = "events";
const SEGMENTS: u64 = 3;
const ROWS_PER_SEGMENT: u64 = 100;

fn spec() -> Value {
    let pool = |name: &str| json!({"name": name, "replicas": 2, "tenant": "DefaultTenant"});
    json!({
        "image": pinot_image(),
        "zookeeper": {"managed": {"replicas": 1, "storage": "1Gi", "image": zookeeper_image(),
            "kubernetes": {"nodeSelector": {"type": "real"}, "resources": {"limits": {"memory": "512Mi"}}}}},
        "kubernetes": {"nodeSelector": {"type": "real"},
                       "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
        "pinot": {"jvmOptions": "-Xms64m -Xmx384m -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1"},
        "controller": {"pools": [{"name": "main", "replicas": 1}], "kubernetes": {"storage": {"size": "1Gi"}}},
        "broker": {"pools": [{"name": "default", "replicas": 2, "tenant": "DefaultTenant"}]},
        "server": {"kubernetes": {"storage": {"size": "1Gi"}}, "pools": [pool("a"), pool("b")]},
        "minion": {"pools": [{"name": "default", "replicas": 1}]}
    })
}

/// Schema and table (one replica group per server pool), as content objects.
fn content() -> String {
    let resource = |kind: &str, spec: Value| {
        json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind,
               "metadata": {"name": TABLE}, "spec": spec})
    };
    let schema = json!({"clusterRef": {"name": CLUSTER}, "schema": {"schemaName": TABLE,
        "dimensionFieldSpecs": [{"name": "user_id", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
                                "granularity": "1:MILLISECONDS"}]}});
    let table = json!({"clusterRef": {"name": CLUSTER}, "schemaRef": {"name": TABLE}, "table": {
        "tableName": TABLE, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "2", "timeColumnName": "ts"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {},
        "routing": {"instanceSelectorType": "replicaGroup"},
        "instanceAssignmentConfigMap": {"OFFLINE": {
            "tagPoolConfig": {"tag": "DefaultTenant_OFFLINE", "poolBased": true, "numPools": 2},
            "replicaGroupPartitionConfig": {"replicaGroupBased": true, "numReplicaGroups": 2}}}}});
    let items = [
        resource("PinotSchema", schema),
        resource("PinotTable", table),
    ];
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// `http://<ClusterIP>:<port>` of a Service of the benchmark's namespace.
fn service_url(env: &Env, service: &str, port: u16) -> anyhow::Result<String> {
    let out = env
        .kube
        .kubectl()
        .args(["get", "service", service, "-n", NAMESPACE])
        .arg("-o=jsonpath={.spec.clusterIP}")
        .output()?;
    let ip = String::from_utf8(out.stdout)?;
    anyhow::ensure!(!ip.trim().is_empty(), "Service {service} has no ClusterIP");
    Ok(format!("http://{}:{port}", ip.trim()))
}

/// Uploads the table's segments through the controller Service and waits until the
/// broker counts every row; returns the query the load client runs.
fn load_data(env: &Env) -> anyhow::Result<Query> {
    let controller = service_url(env, &format!("{CLUSTER}-controller"), 9000)?;
    let query = Query {
        broker: service_url(env, &format!("{CLUSTER}-broker"), 8099)?,
        sql: format!("SELECT COUNT(*) FROM {TABLE}"),
        expected_count: Some(SEGMENTS * ROWS_PER_SEGMENT),
        authorization: None,
    };
    env.runtime.block_on(async {
        for segment in 0..SEGMENTS {
            let rows: String = (0..ROWS_PER_SEGMENT)
                .map(|i| {
                    let ts = 1_700_000_000_000 + segment * 86_400_000 + i;
                    format!("{{\"user_id\":\"u{i}\",\"amount\":{i},\"ts\":{ts}}}\n")
                })
                .collect();
            let table = format!("{TABLE}_OFFLINE");
            upload_json_rows(&env.http, &controller, &table, &rows).await?;
        }
        for _ in 0..180 {
            if testenv::load::count(&env.http, &query).await == query.expected_count {
                return Ok(query);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        anyhow::bail!("the broker never counted {:?} rows", query.expected_count)
    })
}

struct Outcome {
    strategy: &'static str,
    took: Duration,
    waves: Waves,
    tally: testenv::load::Tally,
}

pub fn run(env: &Env) -> anyhow::Result<()> {
    env.create_namespace(NAMESPACE)?;
    let clusters = clusters(env, NAMESPACE)?;
    let deployed = deploy(env, &clusters, NAMESPACE, CLUSTER, spec())?;
    env.apply(NAMESPACE, &content())?;
    let client = env.client()?;
    env.wait_synced(&client, NAMESPACE, &["pinotschemas", "pinottables"])?;
    let query = load_data(env).context("load the benchmark table")?;
    let mut outcomes = vec![];
    for (strategy, image) in [
        ("PoolByPool", pinot_next_image()),
        ("OneByOne", pinot_image()),
    ] {
        let load = env.runtime.block_on(async { Load::start(query.clone()) });
        let change = json!({"image": image, "rollout": {"serverStrategy": strategy}});
        let (took, waves) = roll(env, &clusters, CLUSTER, change)?;
        let tally = env.runtime.block_on(load.stop());
        outcomes.push(Outcome {
            strategy,
            took,
            waves,
            tally,
        });
    }
    print(&outcomes, deployed);
    Ok(())
}

fn print(outcomes: &[Outcome], deployed: Duration) {
    let rows = outcomes
        .iter()
        .map(|o| {
            let restarted: f64 = (o.waves.iter())
                .flat_map(|(_, g)| g.iter().map(|(_, n)| n))
                .sum();
            vec![
                o.strategy.to_owned(),
                seconds(o.took),
                o.waves.len().to_string(),
                format!("{restarted:.0}"),
                o.tally.sent.to_string(),
                o.tally.failed.to_string(),
                o.tally.partial.to_string(),
                o.tally.wrong_count.to_string(),
            ]
        })
        .collect();
    let notes = outcomes
        .iter()
        .filter(|o| !o.tally.examples.is_empty())
        .map(|o| format!("{}: {}", o.strategy, o.tally.examples.join(" | ")))
        .collect();
    Table {
        title: &format!(
            "5. Rollout on real pods: image change under a query every 100 ms (1 controller, \
             2 brokers, 2 server pools × 2, 1 minion; deployed in {})",
            seconds(deployed)
        ),
        headers: &[
            "serverStrategy",
            "image change -> settled",
            "waves",
            "pods restarted",
            "queries",
            "failed",
            "partial",
            "wrong count",
        ],
        rows,
        notes,
    }
    .print();
}

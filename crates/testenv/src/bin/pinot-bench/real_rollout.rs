//! Real-pod rollout: the operator deploys a cluster on the real node (managed ZooKeeper,
//! 1 controller, 2 brokers, servers in two pools of 2 with one replica group per pool, 1
//! minion) running real Pinot from the images built here, with a table of 3 segments.
//! A REALTIME table (replication 2, a replica group per server pool) consumes from a
//! Kafka node on the real node's bridge, fed a message every 50 ms. Then the image
//! changes, once per `serverStrategy`, while a client queries each table through the
//! broker Service every 100 ms: wall time, restart waves (from the operator's
//! `pod_restarts`), failed and partial queries, and the largest ingestion lag.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use testenv::kubernetes::network::BRIDGE_IP;
use testenv::kubernetes::{pinot_image, pinot_next_image, zookeeper_image};
use testenv::lag::LagSampler;
use testenv::load::{Load, Query, Tally};
use testenv::pinot::{KafkaNode, Release, upload_json_rows};
use testenv::produce::{self, Producer};

use crate::env::Env;
use crate::report::{Table, seconds};
use crate::rollout::{Waves, clusters, deploy, roll};

const NAMESPACE: &str = "real-rollout";
const CLUSTER: &str = "bench";
const TABLE: &str = "events";
const SEGMENTS: u64 = 3;
const ROWS_PER_SEGMENT: u64 = 100;
const STREAM: &str = "clicks";
/// At 20 messages a second a consuming segment commits every 100 s, during rollouts.
const FLUSH_ROWS: u32 = 2000;

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

fn resource(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind,
           "metadata": {"name": name}, "spec": spec})
}

fn list(items: &[Value]) -> String {
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

/// Schema and table (one replica group per server pool), as content objects.
fn content() -> String {
    let resource = |kind: &str, spec: Value| resource(kind, TABLE, spec);
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
    list(&[
        resource("PinotSchema", schema),
        resource("PinotTable", table),
    ])
}

/// The REALTIME schema and table consuming `STREAM` from `bootstrap`.
fn stream_content(bootstrap: &str) -> anyhow::Result<String> {
    let version = testenv::versions::version("PINOT_VERSION");
    let release = Release::parse(version).context("PINOT_VERSION")?;
    let schema = json!({"clusterRef": {"name": CLUSTER}, "schema": produce::schema(STREAM)});
    let table = produce::realtime_table(STREAM, bootstrap, release, FLUSH_ROWS);
    let table =
        json!({"clusterRef": {"name": CLUSTER}, "schemaRef": {"name": STREAM}, "table": table});
    Ok(list(&[
        resource("PinotSchema", STREAM, schema),
        resource("PinotTable", STREAM, table),
    ]))
}

/// Kafka, the REALTIME table and a producer; returns them and the `COUNT(*)` query
/// of the table once it counts consumed rows.
fn start_stream(env: &Env, offline: &Query) -> anyhow::Result<(KafkaNode, Producer, Query)> {
    let kafka = KafkaNode::start(&BRIDGE_IP.to_string())?;
    kafka.create_topic(STREAM, 1)?;
    env.apply(NAMESPACE, &stream_content(kafka.bootstrap())?)?;
    let client = env.client()?;
    env.wait_synced(&client, NAMESPACE, &["pinotschemas", "pinottables"])?;
    let query = Query {
        sql: format!("SELECT COUNT(*) FROM {STREAM}"),
        expected_count: None,
        ..offline.clone()
    };
    let producer = env.runtime.block_on(async {
        let producer = Producer::start(kafka.bootstrap(), STREAM).await?;
        for _ in 0..180 {
            if testenv::load::count(&env.http, &query)
                .await
                .is_some_and(|n| n > 0)
            {
                return Ok(producer);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        anyhow::bail!("the broker never counted a consumed row of {STREAM}")
    })?;
    Ok((kafka, producer, query))
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
    tally: Tally,
    stream: Tally,
    lag: Duration,
}

pub fn run(env: &Env) -> anyhow::Result<()> {
    env.create_namespace(NAMESPACE)?;
    let clusters = clusters(env, NAMESPACE)?;
    let deployed = deploy(env, &clusters, NAMESPACE, CLUSTER, spec())?;
    env.apply(NAMESPACE, &content())?;
    let client = env.client()?;
    env.wait_synced(&client, NAMESPACE, &["pinotschemas", "pinottables"])?;
    let query = load_data(env).context("load the benchmark table")?;
    let (_kafka, producer, stream) = start_stream(env, &query).context("start the stream")?;
    let mut outcomes = vec![];
    for (strategy, image) in [
        ("PoolByPool", pinot_next_image()),
        ("OneByOne", pinot_image()),
    ] {
        let (load, stream_load, lag) = env.runtime.block_on(async {
            let lag = LagSampler::start(&stream, STREAM);
            (Load::start(query.clone()), Load::start(stream.clone()), lag)
        });
        let change = json!({"image": image, "rollout": {"serverStrategy": strategy}});
        let (took, waves) = roll(env, &clusters, CLUSTER, change)?;
        let (tally, stream, lag) = env.runtime.block_on(async {
            (
                load.stop().await,
                stream_load.stop().await,
                lag.stop().await,
            )
        });
        outcomes.push(Outcome {
            strategy,
            took,
            waves,
            tally,
            stream,
            lag,
        });
    }
    let (produced, in_kafka) = env.runtime.block_on(producer.stop());
    print(&outcomes, deployed);
    println!(
        "{STREAM}: {} messages produced ({} sends failed), {in_kafka} in Kafka",
        produced.acknowledged, produced.failed
    );
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
                o.stream.sent.to_string(),
                o.stream.failed.to_string(),
                o.stream.partial.to_string(),
                seconds(o.lag),
            ]
        })
        .collect();
    let notes = outcomes
        .iter()
        .filter(|o| !o.tally.examples.is_empty() || !o.stream.examples.is_empty())
        .map(|o| {
            let examples = [&o.tally.examples[..], &o.stream.examples[..]].concat();
            format!("{}: {}", o.strategy, examples.join(" | "))
        })
        .collect();
    Table {
        title: &format!(
            "5. Rollout on real pods: image change under a query of each table every 100 ms \
             and a Kafka message every 50 ms (1 controller, 2 brokers, 2 server pools × 2, \
             1 minion; deployed in {})",
            seconds(deployed)
        ),
        headers: &[
            "serverStrategy",
            "image change -> settled",
            "waves",
            "pods restarted",
            "OFFLINE queries",
            "failed",
            "partial",
            "wrong count",
            "REALTIME queries",
            "failed",
            "partial",
            "max ingestion lag",
        ],
        rows,
        notes,
    }
    .print();
}

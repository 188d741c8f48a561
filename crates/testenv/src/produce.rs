//! A producer for rollout tests and benchmarks: one JSON message to partition 0 of a
//! topic every [`INTERVAL`], each with a unique id (`m<n>`), as an application
//! feeding a REALTIME table would. A send Kafka did not acknowledge is counted as
//! failed and its id is not used again, so every message in the topic is unique; the
//! test then checks that Pinot holds each of them exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rskafka::client::ClientBuilder;
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::record::Record;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// How often a message is sent.
pub const INTERVAL: Duration = Duration::from_millis(50);

/// What the producer did over its run.
#[derive(Debug, Clone, Default)]
pub struct Produced {
    pub acknowledged: u64,
    pub failed: u64,
    /// The first few failures, to print.
    pub examples: Vec<String>,
}

/// A running producer; [`Producer::stop`] returns what it did.
pub struct Producer {
    partition: Arc<PartitionClient>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<Produced>,
}

impl Producer {
    /// Connects to `bootstrap` and starts sending to `topic` (which must exist).
    pub async fn start(bootstrap: &str, topic: &str) -> anyhow::Result<Producer> {
        let client = ClientBuilder::new(vec![bootstrap.to_owned()])
            .build()
            .await?;
        let partition = client
            .partition_client(topic, 0, UnknownTopicHandling::Retry)
            .await?;
        let partition = Arc::new(partition);
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(partition.clone(), stop.clone()));
        Ok(Producer {
            partition,
            stop,
            task,
        })
    }

    /// Stops sending; returns what was sent and how many messages the topic holds.
    pub async fn stop(self) -> (Produced, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let produced = self.task.await.expect("the producer does not panic");
        let end = self.partition.get_offset(OffsetAt::Latest).await;
        let end = end.expect("Kafka answers the topic's end offset");
        (produced, u64::try_from(end).unwrap_or(0))
    }
}

async fn run(partition: Arc<PartitionClient>, stop: Arc<AtomicBool>) -> Produced {
    let mut produced = Produced::default();
    let mut ticks = tokio::time::interval(INTERVAL);
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let now = chrono::Utc::now();
        let value = json!({"id": format!("m{n}"), "n": n, "ts": now.timestamp_millis()});
        let record = Record {
            key: None,
            value: Some(value.to_string().into_bytes()),
            headers: Default::default(),
            timestamp: now,
        };
        match partition
            .produce(vec![record], Compression::NoCompression)
            .await
        {
            Ok(_) => produced.acknowledged += 1,
            Err(e) => {
                produced.failed += 1;
                if produced.examples.len() < 5 {
                    produced.examples.push(e.to_string());
                }
            }
        }
        n += 1;
    }
    produced
}

/// The Pinot schema of what the producer writes (`id`, `n`, `ts`), named `table`.
pub fn schema(table: &str) -> Value {
    json!({"schemaName": table,
        "dimensionFieldSpecs": [{"name": "id", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "n", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
                                "granularity": "1:MILLISECONDS"}]})
}

/// A REALTIME table consuming topic `table` from `bootstrap` with the consumer of
/// `release`, committing every `flush_rows` rows. Replication 2 (`replicasPerPartition`)
/// with one replica group per Pinot pool of `DefaultTenant`, so each of two server
/// pools consumes a whole replica of the partition.
pub fn realtime_table(
    table: &str,
    bootstrap: &str,
    release: crate::pinot::Release,
    flush_rows: u32,
) -> Value {
    json!({
        "tableName": table, "tableType": "REALTIME",
        "segmentsConfig": {"replicasPerPartition": "2", "replication": "2", "timeColumnName": "ts"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "routing": {"instanceSelectorType": "replicaGroup"},
        "instanceAssignmentConfigMap": {"CONSUMING": {
            "tagPoolConfig": {"tag": "DefaultTenant_REALTIME", "poolBased": true, "numPools": 2},
            "replicaGroupPartitionConfig": {"replicaGroupBased": true, "numReplicaGroups": 2}}},
        "tableIndexConfig": {"loadMode": "MMAP", "streamConfigs": {
            "streamType": "kafka",
            "stream.kafka.consumer.type": "lowlevel",
            "stream.kafka.topic.name": table,
            "stream.kafka.broker.list": bootstrap,
            "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
            "stream.kafka.consumer.factory.class.name": release.kafka_consumer_factory(),
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
            "realtime.segment.flush.threshold.rows": flush_rows.to_string()
        }},
        "metadata": {}})
}

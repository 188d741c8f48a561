//! The REALTIME side of the rollouts: a Kafka node on the real node's bridge (pods
//! reach it as their gateway), a table consuming from it with one replica per server
//! pool, a producer writing a uniquely numbered message every 50 ms throughout, and at
//! the end the proof that every message Kafka holds is in Pinot exactly once.

use std::time::Duration;

use api::{PinotSchema, PinotTable};
use serde_json::{Value, json};
use testenv::kubernetes::network::BRIDGE_IP;
use testenv::load::{Query, first_row};
use testenv::pinot::{KafkaNode, Release};
use testenv::produce::{Produced, Producer};

use crate::rig::{READER_PASSWORD, Rig, basic};
use crate::stages::synced;

pub const TABLE: &str = "clicks";
/// Rows per consuming segment: at 20 messages a second a segment commits every
/// 100 s, so commits happen while pods restart.
const FLUSH_ROWS: u32 = 2000;

/// The stream and what reads it.
pub struct Stream {
    _kafka: KafkaNode,
    producer: Producer,
    /// `SELECT COUNT(*)` of the table: any count is right, failures and partial
    /// answers are not.
    pub query: Query,
}

pub async fn start(rig: &Rig) -> Stream {
    let version = rig.pinot().await.version().await.unwrap();
    let release = version
        .and_then(|v| Release::parse(&v))
        .expect("Pinot's version");
    let kafka = KafkaNode::start(&BRIDGE_IP.to_string()).unwrap_or_else(|e| panic!("{e:#}"));
    kafka
        .create_topic(TABLE, 1)
        .unwrap_or_else(|e| panic!("{e:#}"));
    rig.apply(resource("PinotSchema", schema())).await;
    rig.apply(resource("PinotTable", table(kafka.bootstrap(), release)))
        .await;
    rig.wait_for(
        "the REALTIME table to sync",
        Duration::from_secs(120),
        || async {
            let schema = rig.api::<PinotSchema>().get(TABLE).await.unwrap();
            let table = rig.api::<PinotTable>().get(TABLE).await.unwrap();
            (synced(schema.status.as_ref()) && synced(table.status.as_ref())).then_some(())
        },
    )
    .await;
    let producer = Producer::start(kafka.bootstrap(), TABLE)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let query = Query {
        broker: rig.broker_url().await,
        sql: format!("SELECT COUNT(*) FROM {TABLE}"),
        expected_count: None,
        authorization: Some(basic("reader", READER_PASSWORD)),
    };
    rig.wait_for(
        "consumed rows to be counted",
        Duration::from_secs(120),
        || async {
            let count = testenv::load::count(&reqwest::Client::new(), &query).await;
            count.filter(|n| *n > 0)
        },
    )
    .await;
    Stream {
        _kafka: kafka,
        producer,
        query,
    }
}

fn resource(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind,
           "metadata": {"name": TABLE}, "spec": spec})
}

fn schema() -> Value {
    json!({"clusterRef": {"name": "rt"}, "schema": testenv::produce::schema(TABLE)})
}

fn table(bootstrap: &str, release: Release) -> Value {
    let table = testenv::produce::realtime_table(TABLE, bootstrap, release, FLUSH_ROWS);
    json!({"clusterRef": {"name": "rt"}, "schemaRef": {"name": TABLE}, "table": table})
}

/// Stops the producer, waits until Pinot holds as many rows as Kafka holds messages,
/// and checks that each arrived once (as many distinct ids as rows). Returns the
/// report line.
pub async fn check_exactly_once(rig: &Rig, stream: Stream) -> String {
    let (produced, in_kafka): (Produced, u64) = stream.producer.stop().await;
    let query = stream.query;
    let sql = format!("SELECT COUNT(*), DISTINCTCOUNT(id) FROM {TABLE}");
    let (rows, distinct) = rig
        .wait_for(
            "every produced message to be counted",
            Duration::from_secs(300),
            || async {
                let answer = counts(&query, &sql).await?;
                (answer.0 >= in_kafka).then_some(answer)
            },
        )
        .await;
    assert_eq!(
        (rows, distinct),
        (in_kafka, in_kafka),
        "each of the {in_kafka} messages in Kafka is in Pinot exactly once"
    );
    assert!(
        produced.acknowledged <= in_kafka,
        "{produced:?}: every acknowledged message is in Kafka ({in_kafka})"
    );
    format!(
        "REALTIME {TABLE}: {} messages produced ({} sends failed{}), {in_kafka} in Kafka, \
         {rows} rows and {distinct} distinct ids in Pinot",
        produced.acknowledged,
        produced.failed,
        match produced.examples.first() {
            Some(e) => format!(", e.g. {e}"),
            None => String::new(),
        }
    )
}

async fn counts(query: &Query, sql: &str) -> Option<(u64, u64)> {
    let row = first_row(&reqwest::Client::new(), query, sql).await?;
    Some((row.first()?.as_f64()? as u64, row.get(1)?.as_f64()? as u64))
}

//! The client against a real Pinot cluster (ZooKeeper, controller, broker, servers,
//! minion, and Kafka for REALTIME tables) started by `testenv`. Fails, never skips, when Pinot cannot be started.
//!
//! All tests share one cluster. Most only touch objects named after themselves; the
//! ones that change cluster-wide state (broker tags, stopping the controller) take the
//! write side of [`EXCLUSIVE`] so nothing else runs meanwhile.

use std::future::Future;
use std::time::{Duration, Instant};

use pinot_client::{
    ClientConfig, InstanceKind, PinotClient, PinotVersion, RebalanceOptions, RebalanceStatus,
    SchemaUpdate, TableType, Tenant, TenantRole,
};
use serde_json::{Value, json};
use testenv::pinot::Pinot;
use tokio::sync::RwLock;

/// Read lock: ordinary tests. Write lock: tests that disturb the whole cluster.
static EXCLUSIVE: RwLock<()> = RwLock::const_new(());

const SETTLE: Duration = Duration::from_secs(90);

fn client() -> PinotClient {
    let url = Pinot::shared().controller_url();
    let mut config = ClientConfig::new(url.parse().expect("controller URL"));
    config.timeout = Duration::from_secs(30);
    config.retry_backoff = Duration::from_millis(100);
    PinotClient::new(config).expect("client")
}

/// A name no other test (or earlier run against a kept cluster) uses.
fn unique(tag: &str) -> String {
    format!("pc_{tag}_{}", std::process::id())
}

fn schema(name: &str, extra_dimensions: &[(&str, &str)]) -> Value {
    let mut dimensions = vec![json!({"name": "id", "dataType": "STRING"})];
    dimensions.extend(
        extra_dimensions
            .iter()
            .map(|(n, t)| json!({"name": n, "dataType": t})),
    );
    json!({
        "schemaName": name,
        "dimensionFieldSpecs": dimensions,
        "metricFieldSpecs": [{"name": "n", "dataType": "LONG"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
                                "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]
    })
}

fn offline_table(name: &str, replication: u32) -> Value {
    json!({
        "tableName": name,
        "tableType": "OFFLINE",
        "segmentsConfig": {"schemaName": name, "replication": replication.to_string(), "timeColumnName": "ts"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP"},
        "metadata": {"customConfigs": {"owner": "pinot-client-tests"}}
    })
}

fn realtime_table(name: &str, topic: &str, bootstrap: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": {"schemaName": name, "replication": "1", "replicasPerPartition": "1",
                           "timeColumnName": "ts"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP", "streamConfigs": {
            "streamType": "kafka",
            "stream.kafka.consumer.type": "lowlevel",
            "stream.kafka.topic.name": topic,
            "stream.kafka.broker.list": bootstrap,
            "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
            "stream.kafka.consumer.factory.class.name": Pinot::shared().kafka_consumer_factory(),
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest"
        }},
        "metadata": {}
    })
}

async fn version(client: &PinotClient) -> PinotVersion {
    let text = client
        .version()
        .await
        .unwrap()
        .expect("controller reports a version");
    PinotVersion::parse(&text).unwrap_or_else(|| panic!("unparsable version {text:?}"))
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with `what`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn health_and_version() {
    let _shared = EXCLUSIVE.read().await;
    let client = client();
    client.health().await.unwrap();
    let version = version(&client).await;
    assert!(version >= PinotVersion::new(0, 11, 0), "{version}");
}

#[tokio::test]
async fn schema_lifecycle() {
    let _shared = EXCLUSIVE.read().await;
    let client = client();
    let name = unique("schema");
    let original = schema(&name, &[]);

    assert_eq!(client.get_schema(&name).await.unwrap(), None);
    client.create_schema(&original).await.unwrap();
    let err = client.create_schema(&original).await.unwrap_err();
    assert!(err.is_conflict(), "second create: {err}");
    assert!(err.to_string().contains("already exists"), "{err}");

    let stored = client
        .get_schema(&name)
        .await
        .unwrap()
        .expect("created schema");
    assert_eq!(stored["schemaName"], json!(name));
    // 1.x adds `fieldType` to every column it returns (0.11 returns them as written).
    let mut columns = original["dimensionFieldSpecs"].clone();
    if version(&client).await >= PinotVersion::new(1, 0, 0) {
        for column in columns.as_array_mut().unwrap() {
            column["fieldType"] = json!("DIMENSION");
        }
    }
    assert_eq!(stored["dimensionFieldSpecs"], columns);
    assert!(client.list_schemas().await.unwrap().contains(&name));

    // Adding a column is backward compatible.
    let wider = schema(&name, &[("city", "STRING")]);
    client
        .update_schema(&name, &wider, SchemaUpdate::default())
        .await
        .unwrap();
    let stored = client.get_schema(&name).await.unwrap().unwrap();
    assert_eq!(stored["dimensionFieldSpecs"][1]["name"], "city");

    // Changing a column's type is not.
    let retyped = schema(&name, &[("city", "INT")]);
    let err = client
        .update_schema(&name, &retyped, SchemaUpdate::default())
        .await
        .unwrap_err();
    assert!(err.is_bad_request(), "incompatible update: {err}");
    assert!(err.to_string().contains("Backward incompatible"), "{err}");

    // `force` only exists from Pinot 1.x; 0.11 refuses the change all the same.
    let forced = client
        .update_schema(
            &name,
            &retyped,
            SchemaUpdate {
                reload: false,
                force: true,
            },
        )
        .await;
    if version(&client).await < PinotVersion::new(1, 0, 0) {
        let err = forced.unwrap_err();
        assert!(err.is_bad_request(), "forced update on 0.11: {err}");
    } else {
        forced.unwrap();
    }

    // A name mismatch between path and body is a 400 too.
    let err = client
        .update_schema(&unique("other"), &wider, SchemaUpdate::default())
        .await
        .unwrap_err();
    assert!(err.is_bad_request(), "{err}");

    client.delete_schema(&name).await.unwrap();
    assert_eq!(client.get_schema(&name).await.unwrap(), None);
    let err = client.delete_schema(&name).await.unwrap_err();
    assert!(err.is_not_found(), "second delete: {err}");
    let err = client
        .update_schema(&name, &wider, SchemaUpdate::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "update of a missing schema: {err}");
}

#[tokio::test]
async fn table_lifecycle_views_and_rebalance() {
    let _shared = EXCLUSIVE.read().await;
    let client = client();
    let name = unique("table");
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = offline_table(&name, 1);

    assert_eq!(
        client.get_table(&name, TableType::Offline).await.unwrap(),
        None
    );
    let validated = client.validate_table(&config).await.unwrap();
    assert_eq!(
        validated["OFFLINE"]["tableName"],
        json!(format!("{name}_OFFLINE"))
    );
    let mut invalid = config.clone();
    invalid["segmentsConfig"]["schemaName"] = json!(unique("no_such_schema"));
    invalid["tableName"] = json!(unique("no_such_schema"));
    let err = client.validate_table(&invalid).await.unwrap_err();
    assert!(err.is_bad_request(), "validate without schema: {err}");

    client.create_table(&config).await.unwrap();
    let err = client.create_table(&config).await.unwrap_err();
    assert!(err.is_conflict(), "second create: {err}");
    let stored = client
        .get_table(&name, TableType::Offline)
        .await
        .unwrap()
        .expect("created table");
    assert_eq!(stored["tableName"], json!(format!("{name}_OFFLINE")));
    assert_eq!(stored["segmentsConfig"]["replication"], "1");
    assert_eq!(
        client.get_table(&name, TableType::Realtime).await.unwrap(),
        None
    );
    assert!(client.list_tables().await.unwrap().contains(&name));

    let mut changed = config.clone();
    changed["metadata"]["customConfigs"]["owner"] = json!("someone-else");
    client.update_table(&name, &changed).await.unwrap();
    let stored = client
        .get_table(&name, TableType::Offline)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored["metadata"]["customConfigs"]["owner"], "someone-else");

    // A table exists in the ideal state (empty) as soon as it is created.
    assert!(
        client
            .ideal_state(&name, TableType::Offline)
            .await
            .unwrap()
            .is_empty()
    );

    Pinot::shared().ingest_json_rows(
        &format!("{name}_OFFLINE"),
        "{\"id\":\"a\",\"n\":1,\"ts\":1700000000000}\n{\"id\":\"b\",\"n\":2,\"ts\":1700000001000}\n",
    )
    .await;
    let ideal = client.ideal_state(&name, TableType::Offline).await.unwrap();
    assert_eq!(ideal.len(), 1, "one segment: {ideal:?}");
    let (segment, replicas) = ideal.iter().next().unwrap();
    assert_eq!(replicas.len(), 1);
    assert!(
        replicas.keys().all(|i| i.starts_with("Server_")),
        "{replicas:?}"
    );
    let external = eventually(
        "the segment to be ONLINE in the external view",
        SETTLE,
        || async {
            let view = client
                .external_view(&name, TableType::Offline)
                .await
                .unwrap();
            (view == ideal).then_some(view)
        },
    )
    .await;
    assert!(external[segment].values().all(|state| state == "ONLINE"));

    client
        .reload_table(&name, TableType::Offline)
        .await
        .unwrap();
    let err = client
        .reload_table(&unique("missing"), TableType::Offline)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "reload of a missing table: {err}");

    let dry_run = RebalanceOptions {
        dry_run: true,
        reassign_instances: true,
        ..RebalanceOptions::default()
    };
    let result = client
        .rebalance(&name, TableType::Offline, &dry_run)
        .await
        .unwrap();
    assert!(
        matches!(result.status, RebalanceStatus::Done | RebalanceStatus::NoOp),
        "{result:?}"
    );
    assert!(
        result.raw["segmentAssignment"][segment].is_object(),
        "{result:?}"
    );
    if version(&client).await < PinotVersion::new(1, 0, 0) {
        assert_eq!(result.job_id, None);
        assert_eq!(client.rebalance_status("no-such-job").await.unwrap(), None);
    }
    let err = client
        .rebalance(&unique("missing"), TableType::Offline, &dry_run)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "rebalance of a missing table: {err}");

    // 0.11 only protects schemas of REALTIME tables: deleting the schema of an OFFLINE
    // table succeeds, so the operator guards it itself. 1.5.1 refuses (409) while the
    // table exists; the schema goes after the table then.
    let deleted = client.delete_schema(&name).await;
    let protects_offline = version(&client).await >= PinotVersion::new(1, 5, 0);
    match protects_offline {
        false => deleted.unwrap(),
        true => {
            let err = deleted.unwrap_err();
            assert!(
                err.is_conflict(),
                "deleting an OFFLINE table's schema: {err}"
            );
            assert!(err.to_string().contains("Cannot delete schema"), "{err}");
        }
    }

    client
        .delete_table(&name, TableType::Offline, Some("0d"))
        .await
        .unwrap();
    assert_eq!(
        client.get_table(&name, TableType::Offline).await.unwrap(),
        None
    );
    let err = client
        .delete_table(&name, TableType::Offline, None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "second delete: {err}");
    let err = client
        .ideal_state(&name, TableType::Offline)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "ideal state of a deleted table: {err}");
    // The external view outlives the table until the servers have dropped its segments.
    eventually(
        "the external view of the deleted table to go",
        SETTLE,
        || async {
            client
                .external_view(&name, TableType::Offline)
                .await
                .unwrap()
                .is_empty()
                .then_some(())
        },
    )
    .await;
    let err = client.update_table(&name, &config).await.unwrap_err();
    assert!(err.is_not_found(), "update of a missing table: {err}");
    if protects_offline {
        client.delete_schema(&name).await.unwrap();
    }
}

#[tokio::test]
async fn schema_of_a_realtime_table_cannot_be_deleted() {
    let _shared = EXCLUSIVE.read().await;
    let pinot = Pinot::shared();
    let client = client();
    let name = unique("realtime");
    pinot.create_kafka_topic(&name, 1);
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = realtime_table(&name, &name, &pinot.kafka_bootstrap());
    client.create_table(&config).await.unwrap();
    let stored = client
        .get_table(&name, TableType::Realtime)
        .await
        .unwrap()
        .expect("created");
    assert_eq!(stored["tableName"], json!(format!("{name}_REALTIME")));
    assert_eq!(
        client.get_table(&name, TableType::Offline).await.unwrap(),
        None
    );

    // One partition: one CONSUMING segment.
    let ideal = client
        .ideal_state(&name, TableType::Realtime)
        .await
        .unwrap();
    assert_eq!(ideal.len(), 1, "{ideal:?}");
    assert!(
        ideal
            .values()
            .flat_map(|r| r.values())
            .all(|s| s == "CONSUMING"),
        "{ideal:?}"
    );

    let err = client.delete_schema(&name).await.unwrap_err();
    assert!(
        err.is_conflict(),
        "deleting the schema of a REALTIME table: {err}"
    );
    assert!(client.get_schema(&name).await.unwrap().is_some());

    client
        .delete_table(&name, TableType::Realtime, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&name).await.unwrap();
}

/// Rows for a realtime table of [`schema`]: ids `first..first+count`.
fn rows(first: usize, count: usize) -> Vec<Value> {
    (first..first + count)
        .map(|i| json!({"id": format!("r{i}"), "n": i, "ts": 1_700_000_000_000u64 + i as u64}))
        .collect()
}

/// Polls the broker until `SELECT COUNT(*)` of `table` is `expected`; panics after
/// [`SETTLE`] with the last answer.
async fn wait_count(pinot: &Pinot, table: &str, expected: u64) {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let deadline = Instant::now() + SETTLE;
    loop {
        let count = pinot.query_count(&sql).await;
        if matches!(count, Ok(n) if n == expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} never answered {expected}; last: {count:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Pinot 0.11's pause/resume: a pause commits what was consumed (still queryable) and
/// stops consuming; a resume continues from where the committed segment ended, so
/// nothing produced meanwhile is lost. Both are no-ops when repeated.
#[tokio::test]
async fn realtime_consumption_pauses_and_resumes() {
    let _shared = EXCLUSIVE.read().await;
    let pinot = Pinot::shared();
    let client = client();
    let name = unique("pause");
    pinot.create_kafka_topic(&name, 1);
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = realtime_table(&name, &name, &pinot.kafka_bootstrap());
    client.create_table(&config).await.unwrap();

    let running = client.pause_status(&name).await.unwrap();
    assert!(!running.pause_flag, "{running:?}");
    assert_eq!(running.consuming_segments.len(), 1, "{running:?}");
    pinot.produce_json(&name, None, &rows(0, 5)).await;
    wait_count(pinot, &name, 5).await;

    let paused = client.pause_consumption(&name).await.unwrap();
    assert!(paused.pause_flag, "{paused:?}");
    // 0.11 answers while the servers still commit: "Consuming segments are being committed".
    assert!(
        paused
            .description
            .as_deref()
            .unwrap_or_default()
            .contains("committed"),
        "{paused:?}"
    );
    // Taking the raw name or the name with type, and harmless when repeated.
    let again = client
        .pause_consumption(&format!("{name}_REALTIME"))
        .await
        .unwrap();
    assert!(again.pause_flag, "{again:?}");
    eventually("the consuming segment committed", SETTLE, || async {
        let status = client.pause_status(&name).await.unwrap();
        assert!(status.pause_flag, "{status:?}");
        status.consuming_segments.is_empty().then_some(())
    })
    .await;
    let ideal = client
        .ideal_state(&name, TableType::Realtime)
        .await
        .unwrap();
    assert!(
        ideal
            .values()
            .flat_map(|r| r.values())
            .all(|s| s == "ONLINE"),
        "{ideal:?}"
    );
    // What was consumed before the pause stays queryable.
    wait_count(pinot, &name, 5).await;

    // Produced while paused: not consumed (a bounded look, not a proof).
    pinot.produce_json(&name, None, &rows(5, 3)).await;
    let sql = format!("SELECT COUNT(*) FROM {name}");
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            pinot.query_count(&sql).await.unwrap(),
            5,
            "consumed while paused"
        );
    }

    let resumed = client.resume_consumption(&name).await.unwrap();
    assert!(!resumed.pause_flag, "{resumed:?}");
    assert!(!client.resume_consumption(&name).await.unwrap().pause_flag);
    // A new consuming segment continues at the committed offset: nothing is skipped.
    wait_count(pinot, &name, 8).await;
    let status = client.pause_status(&name).await.unwrap();
    assert!(!status.pause_flag, "{status:?}");
    assert_eq!(status.consuming_segments.len(), 1, "{status:?}");

    // Only REALTIME tables have a pause state: anything else is "Table x_REALTIME not found".
    let err = client.pause_status(&unique("nope")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let offline = unique("pause_off");
    client.create_schema(&schema(&offline, &[])).await.unwrap();
    client
        .create_table(&offline_table(&offline, 1))
        .await
        .unwrap();
    let err = client.pause_consumption(&offline).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    client
        .delete_table(&name, TableType::Realtime, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&name).await.unwrap();
    client
        .delete_table(&offline, TableType::Offline, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&offline).await.unwrap();
}

/// A force-commit seals the CONSUMING segment (ONLINE in the external view, every row
/// still counted) and consumption goes on in a new segment from where it ended.
#[tokio::test]
async fn force_commit_seals_the_consuming_segment_and_consumption_goes_on() {
    let _shared = EXCLUSIVE.read().await;
    let pinot = Pinot::shared();
    let client = client();
    let name = unique("commit");
    pinot.create_kafka_topic(&name, 1);
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = realtime_table(&name, &name, &pinot.kafka_bootstrap());
    client.create_table(&config).await.unwrap();
    pinot.produce_json(&name, None, &rows(0, 5)).await;
    wait_count(pinot, &name, 5).await;
    let consuming = |view: &pinot_client::SegmentStates| -> Vec<String> {
        (view.iter())
            .filter(|(_, r)| r.values().any(|s| s == "CONSUMING"))
            .map(|(segment, _)| segment.clone())
            .collect()
    };
    let view = client
        .external_view(&name, TableType::Realtime)
        .await
        .unwrap();
    let before = consuming(&view);
    assert_eq!(before.len(), 1, "{view:?}");

    client.force_commit(&name).await.unwrap();
    let after = eventually("the consuming segment committed", SETTLE, || async {
        let view = (client.external_view(&name, TableType::Realtime).await).unwrap();
        let sealed = (view.get(&before[0])).is_some_and(|r| r.values().all(|s| s == "ONLINE"));
        let now = consuming(&view);
        (sealed && now.len() == 1 && now != before).then_some(now)
    })
    .await;
    assert_ne!(after, before);
    wait_count(pinot, &name, 5).await;
    pinot.produce_json(&name, None, &rows(5, 3)).await;
    wait_count(pinot, &name, 8).await;

    client
        .delete_table(&name, TableType::Realtime, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&name).await.unwrap();
}

/// A reset takes a segment on one server through OFFLINE and back: what the operator
/// asks for a segment in ERROR. (A healthy CONSUMING segment is reset here: Pinot
/// cannot be made to fail a load on demand.)
#[tokio::test]
async fn a_reset_segment_comes_back_to_what_the_ideal_state_wants() {
    let _shared = EXCLUSIVE.read().await;
    let pinot = Pinot::shared();
    let client = client();
    let name = unique("reset");
    pinot.create_kafka_topic(&name, 1);
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = realtime_table(&name, &name, &pinot.kafka_bootstrap());
    client.create_table(&config).await.unwrap();
    pinot.produce_json(&name, None, &rows(0, 4)).await;
    wait_count(pinot, &name, 4).await;
    let view = (client.external_view(&name, TableType::Realtime).await).unwrap();
    let (segment, replicas) = view.iter().next().expect("a consuming segment");
    let instance = replicas.keys().next().unwrap().clone();
    let table = format!("{name}_REALTIME");

    client
        .reset_segment(&table, segment, &instance)
        .await
        .unwrap();
    eventually("the reset segment CONSUMING again", SETTLE, || async {
        let view = (client.external_view(&name, TableType::Realtime).await).unwrap();
        let state = view.get(segment).and_then(|r| r.get(&instance)).cloned();
        (state.as_deref() == Some("CONSUMING")).then_some(())
    })
    .await;
    wait_count(pinot, &name, 4).await;
    let missing = client
        .reset_segment(&table, "no_such_segment", &instance)
        .await;
    assert!(
        missing.is_err(),
        "a reset of a missing segment: {missing:?}"
    );

    client
        .delete_table(&name, TableType::Realtime, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&name).await.unwrap();
}

#[tokio::test]
async fn instances() {
    let _shared = EXCLUSIVE.read().await;
    let client = client();
    let ids = client.list_instances().await.unwrap();
    for kind in [
        InstanceKind::Controller,
        InstanceKind::Broker,
        InstanceKind::Server,
    ] {
        assert!(
            ids.iter().any(|id| InstanceKind::of_id(id) == Some(kind)),
            "{kind:?} in {ids:?}"
        );
    }

    let server_id = ids.iter().find(|id| id.starts_with("Server_")).unwrap();
    let server = client
        .get_instance(server_id)
        .await
        .unwrap()
        .expect("listed server");
    assert_eq!(&server.id, server_id);
    assert!(server.enabled);
    assert!(server.port.is_some(), "{server:?}");
    assert!(server.admin_port.is_some(), "{server:?}");
    assert!(
        server.tags.contains(&"DefaultTenant_OFFLINE".to_string()),
        "{server:?}"
    );

    assert_eq!(client.get_instance("Server_nowhere_1").await.unwrap(), None);
    let err = client.drop_instance("Server_nowhere_1").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client.drop_instance(server_id).await.unwrap_err();
    assert!(err.is_conflict(), "dropping a live server: {err}");
    let err = client
        .update_instance_tags("Server_nowhere_1", &[])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn instance_tags_and_state() {
    let _exclusive = EXCLUSIVE.write().await;
    let client = client();
    let ids = client.list_instances().await.unwrap();
    let server_id = ids.iter().find(|id| id.starts_with("Server_")).unwrap();
    let original = client.get_instance(server_id).await.unwrap().unwrap().tags;

    let mut tagged = original.clone();
    tagged.push(unique("extra"));
    client
        .update_instance_tags(server_id, &tagged)
        .await
        .unwrap();
    assert_eq!(
        client.get_instance(server_id).await.unwrap().unwrap().tags,
        tagged
    );
    client
        .update_instance_tags(server_id, &original)
        .await
        .unwrap();
    assert_eq!(
        client.get_instance(server_id).await.unwrap().unwrap().tags,
        original
    );

    let before = client.get_instance(server_id).await.unwrap().unwrap();
    let pools = std::collections::BTreeMap::from([("DefaultTenant_OFFLINE".to_string(), 1)]);
    client
        .update_instance_pools(server_id, &pools)
        .await
        .unwrap();
    let pooled = client.get_instance(server_id).await.unwrap().unwrap();
    assert_eq!(pooled.pools, pools);
    assert_eq!(
        (
            &pooled.host,
            pooled.port,
            pooled.admin_port,
            pooled.grpc_port,
            &pooled.tags
        ),
        (
            &before.host,
            before.port,
            before.admin_port,
            before.grpc_port,
            &before.tags
        )
    );
    client
        .update_instance_pools(server_id, &Default::default())
        .await
        .unwrap();
    assert!(
        client
            .get_instance(server_id)
            .await
            .unwrap()
            .unwrap()
            .pools
            .is_empty()
    );
    let err = client
        .update_instance_pools("Server_nowhere_1", &pools)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // A minion hosts no segments, so disabling it disturbs nothing.
    let minion_id = ids
        .iter()
        .find(|id| id.starts_with("Minion_"))
        .expect("a minion");
    client.set_instance_enabled(minion_id, false).await.unwrap();
    assert!(
        !client
            .get_instance(minion_id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    client.set_instance_enabled(minion_id, true).await.unwrap();
    assert!(
        client
            .get_instance(minion_id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let err = client
        .set_instance_enabled("Server_nowhere_1", true)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// A broker stops routing to a server whose queries are disabled, while the server
/// keeps its segments ONLINE, and routes to it again once they are enabled: the
/// drain the operator does before restarting a server.
#[tokio::test]
async fn a_server_with_queries_disabled_leaves_the_brokers_routing() {
    let _exclusive = EXCLUSIVE.write().await;
    let pinot = Pinot::shared();
    let client = client();
    let mut broker_config = ClientConfig::new(pinot.broker_url().parse().expect("broker URL"));
    broker_config.timeout = Duration::from_secs(30);
    let broker = PinotClient::new(broker_config).expect("client");
    let name = unique("routing");
    pinot.create_kafka_topic(&name, 1);
    client.create_schema(&schema(&name, &[])).await.unwrap();
    let config = realtime_table(&name, &name, &pinot.kafka_bootstrap());
    client.create_table(&config).await.unwrap();
    let table = format!("{name}_REALTIME");

    let routed = |expect_some: bool| {
        let (broker, table) = (&broker, &table);
        move || async move {
            let routes = broker.routing_table(table).await.unwrap();
            let servers: Vec<String> = routes.into_keys().collect();
            (servers.is_empty() != expect_some).then_some(servers)
        }
    };
    let servers = eventually("the consuming segment routed", SETTLE, routed(true)).await;
    let server = &servers[0];
    client.set_queries_disabled(server, true).await.unwrap();
    let disabled = client.get_instance(server).await.unwrap().unwrap();
    assert!(disabled.queries_disabled, "{disabled:?}");
    eventually("the broker to stop routing", SETTLE, routed(false)).await;
    let external = client
        .external_view(&name, TableType::Realtime)
        .await
        .unwrap();
    assert!(
        external
            .values()
            .all(|s| s.get(server.as_str()) == Some(&"CONSUMING".to_string())),
        "segments stay where they are: {external:?}"
    );

    client.set_queries_disabled(server, false).await.unwrap();
    assert!(
        !client
            .get_instance(server)
            .await
            .unwrap()
            .unwrap()
            .queries_disabled
    );
    let back = eventually("the broker to route again", SETTLE, routed(true)).await;
    assert_eq!(&back, &servers);
    assert!(
        broker
            .routing_table("nothing_OFFLINE")
            .await
            .unwrap()
            .is_empty()
    );

    client
        .delete_table(&name, TableType::Realtime, Some("0d"))
        .await
        .unwrap();
    client.delete_schema(&name).await.unwrap();
}

#[tokio::test]
async fn tenants() {
    // Tenants take *untagged* instances; the test borrows the broker for that, which
    // stops it serving DefaultTenant tables until its tags are restored.
    let _exclusive = EXCLUSIVE.write().await;
    let client = client();
    let before = client.list_tenants().await.unwrap();
    assert!(
        before.server_tenants.contains(&"DefaultTenant".to_string()),
        "{before:?}"
    );
    assert!(
        before.broker_tenants.contains(&"DefaultTenant".to_string()),
        "{before:?}"
    );
    let servers = client
        .tenant_instances("DefaultTenant", TenantRole::Server)
        .await
        .unwrap();
    assert!(
        servers.iter().all(|s| s.starts_with("Server_")) && !servers.is_empty(),
        "{servers:?}"
    );

    let ids = client.list_instances().await.unwrap();
    let broker_id = ids
        .iter()
        .find(|id| id.starts_with("Broker_"))
        .unwrap()
        .clone();
    let broker_tags = client.get_instance(&broker_id).await.unwrap().unwrap().tags;
    let name = unique("tenant");
    let tenant = Tenant {
        role: TenantRole::Broker,
        name: name.clone(),
        number_of_instances: 1,
        offline_instances: 0,
        realtime_instances: 0,
    };

    // No untagged broker yet: Pinot refuses with a bare 500.
    let err = client.create_tenant(&tenant).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");

    client
        .update_instance_tags(&broker_id, &["broker_untagged".to_string()])
        .await
        .unwrap();
    let borrowed = (client.clone(), broker_id.clone());
    let outcome = async move {
        let (client, broker_id) = borrowed;
        client.create_tenant(&tenant).await.unwrap();
        let listed = client.list_tenants().await.unwrap();
        assert!(listed.broker_tenants.contains(&name), "{listed:?}");
        assert_eq!(
            client
                .tenant_instances(&name, TenantRole::Broker)
                .await
                .unwrap(),
            std::slice::from_ref(&broker_id)
        );
        assert_eq!(
            client.get_instance(&broker_id).await.unwrap().unwrap().tags,
            [format!("{name}_BROKER")]
        );

        // Growing needs another untagged broker, which there is not.
        let bigger = Tenant {
            number_of_instances: 2,
            ..tenant.clone()
        };
        let err = client.update_tenant(&bigger).await.unwrap_err();
        assert_eq!(err.status(), Some(500), "{err}");
        client.update_tenant(&tenant).await.unwrap();

        client
            .delete_tenant(&name, TenantRole::Broker)
            .await
            .unwrap();
        assert!(
            !client
                .list_tenants()
                .await
                .unwrap()
                .broker_tenants
                .contains(&name)
        );
        assert!(
            client
                .tenant_instances(&name, TenantRole::Broker)
                .await
                .unwrap()
                .is_empty()
        );
    };
    // Restore the broker's tags whatever happened above.
    let result = tokio::spawn(outcome).await;
    client
        .update_instance_tags(&broker_id, &broker_tags)
        .await
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

#[tokio::test]
async fn stopped_controller_is_unreachable() {
    let _exclusive = EXCLUSIVE.write().await;
    let pinot = Pinot::shared();
    let client = client();
    client.health().await.unwrap();

    pinot.stop_controller();
    let err = client.health().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    let err = client.list_schemas().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert_eq!(err.status(), None);

    pinot.start_controller();
    eventually("the controller to be healthy again", SETTLE, || async {
        client.health().await.ok()
    })
    .await;
}

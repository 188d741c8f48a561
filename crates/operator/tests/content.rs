//! Schemas, tables and tenants reconciled into a real Pinot by the real controllers,
//! through a real kube-apiserver.

mod common;

use std::cell::Cell;
use std::sync::LazyLock;
use std::time::Duration;

use api::{PinotSchema, PinotTable, PinotTenant};
use common::{Harness, events_schema, eventually, resource};
use pinot_client::{TableType, TenantRole};
use serde_json::{Value, json};
use testenv::pinot::Pinot;
use testenv::wait;
use tokio::sync::RwLock;

/// Tests share one Pinot; the outage test stops its controller, so it runs alone.
static PINOT_UP: LazyLock<RwLock<()>> = LazyLock::new(|| RwLock::new(()));

fn events_table(name: &str) -> Value {
    json!({"tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts", "retentionTimeUnit": "DAYS", "retentionTimeValue": "30"},
        "tenants": {"server": "DefaultTenant", "broker": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP", "invertedIndexColumns": ["country"]},
        "metadata": {}})
}

fn schema_spec(schema: Value) -> Value {
    json!({"clusterRef": {"name": "pinot"}, "schema": schema})
}

fn table_spec(schema_ref: &str, table: Value) -> Value {
    json!({"clusterRef": {"name": "pinot"}, "schemaRef": {"name": schema_ref}, "table": table})
}

/// The OFFLINE table `name` as Pinot has it, if it has it.
async fn offline_table(h: &Harness, name: &str) -> Option<Value> {
    h.pinot.get_table(name, TableType::Offline).await.unwrap()
}

#[tokio::test]
async fn schema_is_created_updated_drift_reverted_and_retained() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("schema").await;
    let name = h.pinot_name("events");
    h.apply(resource(
        "PinotSchema",
        "events",
        schema_spec(events_schema(&name)),
    ))
    .await;
    h.wait_synced::<PinotSchema>("events", "True", "Created")
        .await;
    let in_pinot = h
        .pinot
        .get_schema(&name)
        .await
        .unwrap()
        .expect("schema in Pinot");
    assert_eq!(in_pinot["metricFieldSpecs"][0]["name"], "amount");
    assert!(
        h.event_reasons("events")
            .await
            .contains(&"Created".to_owned())
    );
    // Retain has nothing to do in Pinot on deletion, so nothing holds the object.
    let object = h.api::<PinotSchema>().get("events").await.unwrap();
    assert_eq!(
        object.metadata.finalizers, None,
        "Retain needs no finalizer"
    );

    // Update: a new column reaches Pinot.
    let mut schema = events_schema(&name);
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "device", "dataType": "STRING"}));
    h.apply(resource("PinotSchema", "events", schema_spec(schema)))
        .await;
    h.wait_synced::<PinotSchema>("events", "True", "Updated")
        .await;
    let in_pinot = h.pinot.get_schema(&name).await.unwrap().unwrap();
    assert_eq!(in_pinot["dimensionFieldSpecs"].as_array().unwrap().len(), 3);

    // Drift: someone deletes the schema in Pinot; the next resync puts it back.
    h.pinot.delete_schema(&name).await.unwrap();
    eventually("schema recreated in Pinot", || async {
        h.pinot.get_schema(&name).await.unwrap().is_some()
    })
    .await;

    // Delete with the default Retain: the Kubernetes object goes, the schema stays.
    h.delete::<PinotSchema>("events").await;
    h.wait_gone::<PinotSchema>("events").await;
    assert!(
        h.pinot.get_schema(&name).await.unwrap().is_some(),
        "Retain must keep the schema"
    );
}

/// New objects are created without a read first; one Pinot already has must be
/// compared and adopted instead (Pinot answers the create with 409).
#[tokio::test]
async fn objects_already_in_pinot_are_adopted_not_duplicated() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("adopt-content").await;
    let name = h.pinot_name("events");
    h.pinot.create_schema(&events_schema(&name)).await.unwrap();
    let mut older = events_table(&name);
    older["segmentsConfig"]["retentionTimeValue"] = json!("10");
    h.pinot.create_table(&older).await.unwrap();

    h.apply(resource(
        "PinotSchema",
        "events",
        schema_spec(events_schema(&name)),
    ))
    .await;
    h.apply(resource(
        "PinotTable",
        "events",
        table_spec("events", events_table(&name)),
    ))
    .await;
    h.wait_synced::<PinotSchema>("events", "True", "InSync")
        .await;
    h.wait_synced::<PinotTable>("events", "True", "Updated")
        .await;
    let config = offline_table(&h, &name).await.expect("table in Pinot");
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "30");
    let tables = h.pinot.list_tables().await.unwrap();
    assert_eq!(
        tables.iter().filter(|t| **t == name).count(),
        1,
        "{tables:?}"
    );
}

#[tokio::test]
async fn schema_with_delete_policy_is_removed_from_pinot() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("schema-del").await;
    let name = h.pinot_name("gone");
    let mut spec = schema_spec(events_schema(&name));
    spec["deletionPolicy"] = json!("Delete");
    h.apply(resource("PinotSchema", "gone", spec)).await;
    h.wait_synced::<PinotSchema>("gone", "True", "Created")
        .await;
    let object = h.api::<PinotSchema>().get("gone").await.unwrap();
    assert_eq!(
        object.metadata.finalizers,
        Some(vec!["pinot.operator.dev/cleanup".to_owned()]),
        "Delete holds the object until Pinot confirms"
    );
    h.delete::<PinotSchema>("gone").await;
    h.wait_gone::<PinotSchema>("gone").await;
    assert!(h.pinot.get_schema(&name).await.unwrap().is_none());
}

/// `pinot.operator.dev/ignore: "true"` makes the operator leave the object's Pinot
/// side alone, even through a spec change and a deletion with `deletionPolicy:
/// Delete`; removing it resumes syncing.
#[tokio::test]
async fn an_ignored_schema_is_left_alone_until_the_annotation_goes() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("ignore").await;
    let name = h.pinot_name("kept");
    let object = |ignore: bool, columns: usize| {
        let mut schema = events_schema(&name);
        let dimensions = schema["dimensionFieldSpecs"].as_array_mut().unwrap();
        for i in 2..columns {
            dimensions.push(json!({"name": format!("extra{i}"), "dataType": "STRING"}));
        }
        let mut spec = schema_spec(schema);
        spec["deletionPolicy"] = json!("Delete");
        let mut object = resource("PinotSchema", "kept", spec);
        if ignore {
            object["metadata"]["annotations"] = json!({"pinot.operator.dev/ignore": "true"});
        }
        object
    };
    h.apply(object(false, 2)).await;
    h.wait_synced::<PinotSchema>("kept", "True", "Created")
        .await;

    h.apply(object(true, 2)).await;
    h.wait_synced::<PinotSchema>("kept", "Unknown", "Ignored")
        .await;
    h.wait_event("kept", "Ignored").await;
    // Drift and a spec change while ignored: the reconcile of the new generation
    // (observedGeneration, checked by wait_synced) makes no Pinot call.
    h.pinot.delete_schema(&name).await.unwrap();
    h.apply(object(true, 3)).await;
    h.wait_synced::<PinotSchema>("kept", "Unknown", "Ignored")
        .await;
    assert!(
        h.pinot.get_schema(&name).await.unwrap().is_none(),
        "ignored: not re-created"
    );

    h.apply(object(false, 3)).await;
    h.wait_synced::<PinotSchema>("kept", "True", "Created")
        .await;
    let in_pinot = h
        .pinot
        .get_schema(&name)
        .await
        .unwrap()
        .expect("re-created");
    assert_eq!(in_pinot["dimensionFieldSpecs"].as_array().unwrap().len(), 3);

    h.apply(object(true, 3)).await;
    h.wait_synced::<PinotSchema>("kept", "Unknown", "Ignored")
        .await;
    h.delete::<PinotSchema>("kept").await;
    h.wait_gone::<PinotSchema>("kept").await;
    assert!(
        h.pinot.get_schema(&name).await.unwrap().is_some(),
        "an ignored object's deletion leaves Pinot alone, whatever its deletionPolicy"
    );
    h.pinot.delete_schema(&name).await.unwrap();
}

/// An operator started with a label selector manages only the objects it matches
/// (its cluster, unlabelled, is still found).
#[tokio::test]
async fn a_selector_limits_what_the_operator_manages() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start_selecting("selector", Pinot::shared(), "shard=a").await;
    let (mine, other) = (h.pinot_name("mine"), h.pinot_name("other"));
    let labelled = |name: &str, pinot_name: &str, shard: &str| {
        let mut object = resource("PinotSchema", name, schema_spec(events_schema(pinot_name)));
        object["metadata"]["labels"] = json!({"shard": shard});
        object
    };
    h.apply(labelled("other", &other, "b")).await;
    h.apply(labelled("mine", &mine, "a")).await;
    h.wait_synced::<PinotSchema>("mine", "True", "Created")
        .await;
    // A drift revert on `mine` shows resyncs ran after `other` was created.
    h.pinot.delete_schema(&mine).await.unwrap();
    eventually("mine re-created", || async {
        h.pinot.get_schema(&mine).await.unwrap().is_some()
    })
    .await;
    let untouched = h.api::<PinotSchema>().get("other").await.unwrap();
    assert_eq!(untouched.status, None, "not this operator's object");
    assert!(h.pinot.get_schema(&other).await.unwrap().is_none());

    h.apply(labelled("other", &other, "a")).await;
    h.wait_synced::<PinotSchema>("other", "True", "Created")
        .await;
    for name in [&mine, &other] {
        h.pinot.delete_schema(name).await.unwrap();
    }
}

#[tokio::test]
async fn table_waits_for_its_schema_then_syncs_and_reverts_drift() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("table").await;
    let name = h.pinot_name("events");
    // The table comes first: it waits, it does not fail.
    h.apply(resource(
        "PinotTable",
        "events",
        table_spec("events", events_table(&name)),
    ))
    .await;
    let message = h
        .wait_synced::<PinotTable>("events", "False", "SchemaNotFound")
        .await;
    assert!(message.contains(&name), "{message}");
    h.apply(resource(
        "PinotSchema",
        "events",
        schema_spec(events_schema(&name)),
    ))
    .await;
    h.wait_synced::<PinotTable>("events", "True", "Created")
        .await;
    let config = offline_table(&h, &name).await.expect("table in Pinot");
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "30");

    // Update: retention 30 -> 90 days.
    let mut table = events_table(&name);
    table["segmentsConfig"]["retentionTimeValue"] = json!("90");
    h.apply(resource(
        "PinotTable",
        "events",
        table_spec("events", table.clone()),
    ))
    .await;
    h.wait_synced::<PinotTable>("events", "True", "Updated")
        .await;
    let config = offline_table(&h, &name).await.unwrap();
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "90");

    // Drift: retention changed behind the operator's back is reverted.
    let mut drifted = config.clone();
    drifted["segmentsConfig"]["retentionTimeValue"] = json!("1");
    h.pinot.update_table(&name, &drifted).await.unwrap();
    eventually("retention drift reverted", || async {
        let c = offline_table(&h, &name).await.unwrap();
        c["segmentsConfig"]["retentionTimeValue"] == "90"
    })
    .await;
    // Steady state: the next resyncs find Pinot matching and change nothing, in Pinot
    // or in Kubernetes (no status write, so the object's resourceVersion stays).
    h.wait_synced::<PinotTable>("events", "True", "InSync")
        .await;
    let before = h.api::<PinotTable>().get("events").await.unwrap();
    let reads = calls(&h, "GET /tables/{name}");
    // The window is two resyncs reading the table (the only one here), however long
    // they take, rather than a fixed 10 s.
    eventually("two resyncs of the table", || async {
        calls(&h, "GET /tables/{name}") >= reads + 2
    })
    .await;
    assert!(
        calls(&h, "GET /tables/{name}") >= reads + 2,
        "resyncs ran in the window"
    );
    let after = h.api::<PinotTable>().get("events").await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "a resync that finds Pinot in order writes no status"
    );

    // Retain (default): the table stays in Pinot.
    h.delete::<PinotTable>("events").await;
    h.wait_gone::<PinotTable>("events").await;
    assert!(offline_table(&h, &name).await.is_some());
}

/// A pair applied together costs Pinot one create each, plus one tenant list for the
/// cluster, and no reads; the table does not report waiting for a schema applied with
/// it. A change is one PUT. A change of a table deleted behind the operator's back
/// re-creates it. (No resync in the test's window: every call counted is the create's
/// or the change's.)
#[tokio::test]
async fn a_pair_is_created_without_reads_and_a_change_is_one_put() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start_resyncing_every("calls", Duration::from_secs(3600)).await;
    let name = h.pinot_name("calls");
    let schema = resource("PinotSchema", "calls", schema_spec(events_schema(&name)));
    let mut table = events_table(&name);
    h.apply(schema).await;
    h.apply(resource(
        "PinotTable",
        "calls",
        table_spec("calls", table.clone()),
    ))
    .await;
    h.wait_synced::<PinotSchema>("calls", "True", "Created")
        .await;
    h.wait_synced::<PinotTable>("calls", "True", "Created")
        .await;
    let count = |endpoint| calls(&h, endpoint);
    assert_eq!(
        [
            count("POST /schemas"),
            count("POST /tables"),
            count("GET /tenants")
        ],
        [1, 1, 1],
        "creates, and one tenant list"
    );
    let reads = ["GET /schemas/{name}", "GET /tables/{name}"];
    assert_eq!(reads.map(count), [0, 0], "no reads before the creates");
    let reasons = h.event_reasons("calls").await;
    assert!(
        !reasons.iter().any(|r| r == "SchemaNotFound"),
        "{reasons:?}"
    );

    table["segmentsConfig"]["retentionTimeValue"] = json!("90");
    h.apply(resource(
        "PinotTable",
        "calls",
        table_spec("calls", table.clone()),
    ))
    .await;
    h.wait_synced::<PinotTable>("calls", "True", "Updated")
        .await;
    assert_eq!(count("PUT /tables/{name}"), 1);
    assert_eq!(reads.map(count), [0, 0], "no read before the change");
    assert_eq!(count("GET /tenants"), 1, "the tenant list is remembered");
    let config = offline_table(&h, &name).await.expect("table in Pinot");
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "90");

    h.pinot
        .delete_table(&name, TableType::Offline, None)
        .await
        .unwrap();
    table["segmentsConfig"]["retentionTimeValue"] = json!("60");
    h.apply(resource("PinotTable", "calls", table_spec("calls", table)))
        .await;
    h.wait_synced::<PinotTable>("calls", "True", "Created")
        .await;
    let config = offline_table(&h, &name).await.expect("table re-created");
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "60");
}

/// Calls to `writes` stay as they are over a window in which at least two resyncs
/// read the object (`reads` counts them): the steady state makes no writes.
async fn no_writes_over_resyncs(h: &Harness, reads: &str, writes: &str, what: &str) {
    let (read_before, written) = (calls(h, reads), attempts(h, writes));
    eventually(&format!("two resyncs of {what}"), || async {
        calls(h, reads) >= read_before + 2
    })
    .await;
    assert_eq!(
        attempts(h, writes),
        written,
        "{what}: a resync wrote to Pinot"
    );
}

/// Regression (Pinot 1.x): `segmentsConfig.schemaName` is never sent, so what Pinot
/// returns (1.x drops the field) matches the spec and resyncs write nothing. An index
/// change with `onChange.reload` on a table without segments (1.x: reload answers 404)
/// is applied once and settles.
#[tokio::test]
async fn a_table_naming_its_schema_settles_and_an_index_change_reloads_once() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("schema-name").await;
    let name = h.pinot_name("named");
    h.apply(resource(
        "PinotSchema",
        "named",
        schema_spec(events_schema(&name)),
    ))
    .await;
    let mut table = events_table(&name);
    table["segmentsConfig"]["schemaName"] = json!(name);
    let mut spec = table_spec("named", table.clone());
    spec["onChange"] = json!({"reload": true});
    h.apply(resource("PinotTable", "named", spec.clone())).await;
    h.wait_synced::<PinotTable>("named", "True", "Created")
        .await;
    let stored = offline_table(&h, &name).await.expect("table in Pinot");
    assert_eq!(
        stored.pointer("/segmentsConfig/schemaName"),
        None,
        "schemaName is not sent: {stored}"
    );
    const PUT_TABLE: &str = "PUT /tables/{name}";
    no_writes_over_resyncs(
        &h,
        "GET /tables/{name}",
        PUT_TABLE,
        "a table naming its schema",
    )
    .await;

    spec["table"]["tableIndexConfig"]["invertedIndexColumns"] = json!(["country", "user_id"]);
    h.apply(resource("PinotTable", "named", spec)).await;
    let message = h
        .wait_synced::<PinotTable>("named", "True", "Updated")
        .await;
    assert!(message.contains("reload"), "{message}");
    let object = h.api::<PinotTable>().get("named").await.unwrap();
    let status = object.status.expect("status");
    assert!(status.pending_follow_ups.is_empty(), "{status:?}");
    no_writes_over_resyncs(&h, "GET /tables/{name}", PUT_TABLE, "an index change").await;
    assert_eq!(
        h.event_reasons("named")
            .await
            .iter()
            .filter(|r| *r == "Updated")
            .count(),
        1,
        "the change was applied once"
    );
}

/// Regression (every version): a schema with `updatePolicy.reload` and no table of its
/// name is updated once; Pinot's "Failed to find table … to reload" (404) is not a
/// failure that makes every resync PUT the schema again.
#[tokio::test]
async fn a_schema_reload_with_no_table_of_its_name_settles() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("schema-reload").await;
    let name = h.pinot_name("lonely");
    let mut spec = schema_spec(events_schema(&name));
    spec["updatePolicy"] = json!({"reload": true});
    h.apply(resource("PinotSchema", "lonely", spec.clone()))
        .await;
    h.wait_synced::<PinotSchema>("lonely", "True", "Created")
        .await;

    spec["schema"]["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "device", "dataType": "STRING"}));
    h.apply(resource("PinotSchema", "lonely", spec)).await;
    let message = h
        .wait_synced::<PinotSchema>("lonely", "True", "Updated")
        .await;
    assert!(
        message.contains(&format!("no table named {name} to reload")),
        "{message}"
    );
    assert_eq!(attempts(&h, "PUT /schemas/{name}"), 1);
    no_writes_over_resyncs(&h, "GET /schemas/{name}", "PUT /schemas/{name}", "a schema").await;
    let stored = h.pinot.get_schema(&name).await.unwrap().unwrap();
    assert_eq!(stored["dimensionFieldSpecs"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn dimension_table_with_delete_policy_is_removed_with_its_schema() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("dim").await;
    let name = h.pinot_name("countries");
    let schema = json!({"schemaName": name,
        "dimensionFieldSpecs": [{"name": "code", "dataType": "STRING"}, {"name": "label", "dataType": "STRING"}],
        "primaryKeyColumns": ["code"]});
    let mut schema_spec = schema_spec(schema);
    schema_spec["deletionPolicy"] = json!("Delete");
    h.apply(resource("PinotSchema", "countries", schema_spec))
        .await;
    let table = json!({"tableName": name, "tableType": "OFFLINE", "isDimTable": true,
        "segmentsConfig": {"replication": "1", "segmentPushType": "REFRESH"},
        "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {},
        "quota": {"storage": "100M"}});
    let mut spec = table_spec("countries", table);
    spec["deletionPolicy"] = json!("Delete");
    h.apply(resource("PinotTable", "countries", spec)).await;
    h.wait_synced::<PinotTable>("countries", "True", "Created")
        .await;
    let config = offline_table(&h, &name).await.unwrap();
    assert_eq!(config["isDimTable"], true);

    // Deleting the schema first: the table still uses it (Pinot itself would delete it
    // silently for an OFFLINE table), so the operator waits and says why.
    h.delete::<PinotSchema>("countries").await;
    let message = h
        .wait_synced::<PinotSchema>("countries", "False", "SchemaInUse")
        .await;
    assert!(message.contains(&format!("{name}_OFFLINE")), "{message}");
    assert!(h.pinot.get_schema(&name).await.unwrap().is_some());
    h.delete::<PinotTable>("countries").await;
    h.wait_gone::<PinotTable>("countries").await;
    h.wait_gone::<PinotSchema>("countries").await;
    assert!(offline_table(&h, &name).await.is_none());
    assert!(h.pinot.get_schema(&name).await.unwrap().is_none());
}

#[tokio::test]
async fn existing_default_broker_tenant_is_adopted_in_sync() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("adopt").await;
    let spec = json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "DefaultTenant", "instances": 1});
    h.apply(resource("PinotTenant", "default-brokers", spec))
        .await;
    h.wait_synced::<PinotTenant>("default-brokers", "True", "InSync")
        .await;
    // Retain (default): deleting the resource leaves the tenant's tags alone.
    h.delete::<PinotTenant>("default-brokers").await;
    h.wait_gone::<PinotTenant>("default-brokers").await;
    assert_eq!(
        h.pinot
            .tenant_instances("DefaultTenant", TenantRole::Broker)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn server_tenant_is_created_drift_reverted_and_deleted() {
    // Exclusive: it borrows one of the two servers from DefaultTenant.
    let _pinot = PINOT_UP.write().await;
    let h = Harness::start("tenant").await;
    let servers: Vec<String> = h
        .pinot
        .list_instances()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.starts_with("Server_"))
        .collect();
    let server = servers.last().unwrap().clone();
    let original_tags = h.pinot.get_instance(&server).await.unwrap().unwrap().tags;
    let untagged = vec!["server_untagged".to_string()];
    h.pinot
        .update_instance_tags(&server, &untagged)
        .await
        .unwrap();

    let name = h.pinot_name("t");
    let spec = json!({"clusterRef": {"name": "pinot"}, "role": "Server", "name": name,
        "offlineInstances": 1, "deletionPolicy": "Delete"});
    h.apply(resource("PinotTenant", "analytics", spec)).await;
    h.wait_synced::<PinotTenant>("analytics", "True", "Created")
        .await;
    assert_eq!(
        h.pinot
            .tenant_instances(&name, TenantRole::Server)
            .await
            .unwrap(),
        vec![server.clone()]
    );

    // Drift: the server's tenant tags are removed by hand; the resync tags it again.
    h.pinot
        .update_instance_tags(&server, &untagged)
        .await
        .unwrap();
    eventually("tenant re-created in Pinot", || async {
        h.pinot
            .tenant_instances(&name, TenantRole::Server)
            .await
            .unwrap()
            == vec![server.clone()]
    })
    .await;

    h.delete::<PinotTenant>("analytics").await;
    h.wait_gone::<PinotTenant>("analytics").await;
    assert!(
        !h.pinot
            .list_tenants()
            .await
            .unwrap()
            .server_tenants
            .contains(&name)
    );
    h.pinot
        .update_instance_tags(&server, &original_tags)
        .await
        .unwrap();
}

/// A REALTIME table consuming JSON messages from `topic` with the Kafka plugin of the
/// Pinot under test, from the start of the topic.
fn realtime_table(name: &str, topic: &str, bootstrap: &str) -> Value {
    json!({"tableName": name, "tableType": "REALTIME",
        "segmentsConfig": {"timeColumnName": "updated_at", "replicasPerPartition": "1", "schemaName": name},
        "tenants": {}, "metadata": {},
        "tableIndexConfig": {"loadMode": "MMAP", "streamConfigs": {
            "streamType": "kafka",
            "stream.kafka.topic.name": topic,
            "stream.kafka.broker.list": bootstrap,
            "stream.kafka.consumer.type": "lowlevel",
            "stream.kafka.consumer.factory.class.name": Pinot::shared().kafka_consumer_factory(),
            "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
            "stream.kafka.consumer.prop.auto.offset.reset": "smallest"}}})
}

fn orders_schema(name: &str) -> Value {
    json!({"schemaName": name,
        "dimensionFieldSpecs": [{"name": "order_id", "dataType": "STRING"}, {"name": "status", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "total", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "updated_at", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
        "primaryKeyColumns": ["order_id"]})
}

/// Order messages `messages`: message `i` sets order `o{order(i)}` to status `v{i}`,
/// later messages with later timestamps (upsert keeps the latest).
fn orders(messages: std::ops::Range<usize>, order: fn(usize) -> usize) -> Vec<Value> {
    messages
        .map(|i| {
            json!({"order_id": format!("o{}", order(i)), "status": format!("v{i}"),
                "total": i as f64, "updated_at": 1_700_000_000_000u64 + i as u64})
        })
        .collect()
}

/// How long the broker may take to show what was produced.
const QUERY_SETTLE: Duration = Duration::from_secs(90);

/// Polls the broker until `SELECT COUNT(*) FROM table [where]` is `expected`; panics
/// after [`QUERY_SETTLE`] with the last answer.
async fn wait_count(table: &str, filter: &str, expected: u64) {
    let sql = format!("SELECT COUNT(*) FROM {table} {filter}");
    let interval = Duration::from_millis(500);
    wait::eventually(
        &format!("{sql} = {expected}"),
        QUERY_SETTLE,
        interval,
        || async {
            match Pinot::shared().query_count(&sql).await {
                Ok(n) if n == expected => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// The count stays `expected` while the operator resyncs the paused table: nothing new
/// was consumed, nor was consumption resumed. Absence cannot be awaited, so the window
/// is at least 8 looks 500 ms apart and lasts until the REALTIME tables' resyncs read
/// the pause status 4 more times (both tables read it at every resync, so about two
/// resyncs each, each one a chance to resume the table by mistake).
async fn count_stays(h: &Harness, table: &str, expected: u64) {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let reads = calls(h, PAUSE_STATUS);
    let looks = Cell::new(0);
    let what = format!("{sql} to stay {expected} over two resyncs");
    wait::eventually(&what, QUERY_SETTLE, Duration::from_millis(500), || async {
        let count = Pinot::shared().query_count(&sql).await.unwrap();
        assert_eq!(count, expected, "{sql}: consumed while paused");
        looks.set(looks.get() + 1);
        let resyncs = calls(h, PAUSE_STATUS) - reads;
        if looks.get() >= 8 && resyncs >= 4 {
            Ok(())
        } else {
            Err(format!(
                "{} looks, {resyncs} pause-status reads",
                looks.get()
            ))
        }
    })
    .await
}

/// Successful calls the operator made to `endpoint` (e.g. `"GET /tables/{name}/pauseStatus"`),
/// from its `pinot_api_calls` metric.
fn calls(h: &Harness, endpoint: &str) -> u64 {
    count_calls(h, endpoint, Some("ok"))
}

/// Calls the operator made to `endpoint` whatever Pinot answered.
fn attempts(h: &Harness, endpoint: &str) -> u64 {
    count_calls(h, endpoint, None)
}

fn count_calls(h: &Harness, endpoint: &str, outcome: Option<&str>) -> u64 {
    let label = format!("endpoint=\"{endpoint}\"");
    let outcome = outcome.map(|o| format!("outcome=\"{o}\""));
    h.metrics
        .encode()
        .lines()
        .filter(|l| l.contains(&label) && outcome.as_ref().is_none_or(|o| l.contains(o)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

const PAUSE: &str = "POST /tables/{name}/pauseConsumption";
const RESUME: &str = "POST /tables/{name}/resumeConsumption";
const PAUSE_STATUS: &str = "GET /tables/{name}/pauseStatus";

#[tokio::test]
async fn realtime_upsert_table_consumes_from_kafka() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("realtime").await;
    let pinot = Pinot::shared();
    let bootstrap = pinot.kafka_bootstrap();
    // Only REALTIME tables consume: a paused OFFLINE table is refused in its status.
    let mut paused_offline = table_spec("events", events_table("events"));
    paused_offline["consumption"] = json!("Paused");
    h.apply(resource("PinotTable", "paused-offline", paused_offline))
        .await;
    let refused = h
        .wait_synced::<PinotTable>("paused-offline", "False", "InvalidTable")
        .await;
    assert!(
        refused.contains("consumption: Paused applies to REALTIME tables only"),
        "{refused}"
    );
    h.delete::<PinotTable>("paused-offline").await;
    let name = h.pinot_name("orders");
    let append = h.pinot_name("clicks");
    pinot.create_kafka_topic(&name, 1);
    pinot.create_kafka_topic(&append, 1);
    for (object, pinot_name) in [("orders", &name), ("clicks", &append)] {
        let mut schema = schema_spec(orders_schema(pinot_name));
        schema["deletionPolicy"] = json!("Delete");
        h.apply(resource("PinotSchema", object, schema)).await;
    }
    // The upsert table (latest message per order_id wins) and a plain append-only one.
    let mut upsert = realtime_table(&name, &name, &bootstrap);
    upsert["routing"] = json!({"instanceSelectorType": "strictReplicaGroup"});
    upsert["upsertConfig"] = json!({"mode": "FULL"});
    let orders_spec = |table: &Value, consumption: &str| {
        let mut spec = table_spec("orders", table.clone());
        spec["deletionPolicy"] = json!("Delete");
        spec["consumption"] = json!(consumption);
        spec
    };
    h.apply(resource(
        "PinotTable",
        "orders",
        orders_spec(&upsert, "Running"),
    ))
    .await;
    let mut clicks = table_spec("clicks", realtime_table(&append, &append, &bootstrap));
    clicks["deletionPolicy"] = json!("Delete");
    h.apply(resource("PinotTable", "clicks", clicks)).await;
    h.wait_synced::<PinotTable>("orders", "True", "Created")
        .await;
    h.wait_synced::<PinotTable>("clicks", "True", "Created")
        .await;
    let config = h
        .pinot
        .get_table(&name, TableType::Realtime)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config["upsertConfig"]["mode"], "FULL");
    assert!(!h.pinot.pause_status(&name).await.unwrap().pause_flag);

    // 10 messages over 6 orders: the upsert table counts orders, the append table messages.
    pinot
        .produce_json(&name, Some("order_id"), &orders(0..10, |i| i % 6))
        .await;
    pinot
        .produce_json(&append, Some("order_id"), &orders(0..10, |i| i % 6))
        .await;
    wait_count(&name, "", 6).await;
    wait_count(&append, "", 10).await;
    // Only each order's latest status is visible: o0 was v0, then v6.
    wait_count(&name, "WHERE status = 'v6'", 1).await;
    wait_count(&name, "WHERE status = 'v0'", 0).await;

    // Pause through the spec: the operator pauses it in Pinot once, and says so.
    h.apply(resource(
        "PinotTable",
        "orders",
        orders_spec(&upsert, "Paused"),
    ))
    .await;
    let message = h
        .wait_synced::<PinotTable>("orders", "True", "Updated")
        .await;
    assert!(message.contains("paused"), "{message}");
    assert!(h.pinot.pause_status(&name).await.unwrap().pause_flag);
    assert_eq!(calls(&h, PAUSE), 1);
    // Steady state: later resyncs read the pause status and write nothing.
    let (puts, reads) = (calls(&h, "PUT /tables/{name}"), calls(&h, PAUSE_STATUS));
    eventually("two resyncs of the paused table", || async {
        calls(&h, PAUSE_STATUS) >= reads + 2
    })
    .await;
    assert_eq!(calls(&h, PAUSE), 1);
    assert_eq!(calls(&h, RESUME), 0);
    assert_eq!(calls(&h, "PUT /tables/{name}"), puts);
    let message = h
        .wait_synced::<PinotTable>("orders", "True", "InSync")
        .await;
    assert!(message.contains("consumption is paused"), "{message}");

    // Produced while paused (v10, v11 update o0, o1; v12..v15 are orders o6..o9): not consumed.
    let later = orders(10..16, |i| if i < 12 { i - 10 } else { i - 6 });
    pinot.produce_json(&name, Some("order_id"), &later).await;
    count_stays(&h, &name, 6).await;

    // A table change while paused (an inverted index on status): applied, still paused.
    let mut indexed = upsert.clone();
    indexed["tableIndexConfig"]["invertedIndexColumns"] = json!(["status"]);
    h.apply(resource(
        "PinotTable",
        "orders",
        orders_spec(&indexed, "Paused"),
    ))
    .await;
    h.wait_synced::<PinotTable>("orders", "True", "Updated")
        .await;
    let config = h
        .pinot
        .get_table(&name, TableType::Realtime)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        config["tableIndexConfig"]["invertedIndexColumns"],
        json!(["status"])
    );
    assert!(h.pinot.pause_status(&name).await.unwrap().pause_flag);
    count_stays(&h, &name, 6).await;

    // Resume: consumption continues where it stopped, nothing produced meanwhile is lost.
    h.apply(resource(
        "PinotTable",
        "orders",
        orders_spec(&indexed, "Running"),
    ))
    .await;
    h.wait_synced::<PinotTable>("orders", "True", "Updated")
        .await;
    assert_eq!(calls(&h, RESUME), 1);
    assert!(!h.pinot.pause_status(&name).await.unwrap().pause_flag);
    wait_count(&name, "", 10).await;
    // o0's latest is now v10, from the messages produced while paused.
    wait_count(&name, "WHERE status = 'v10'", 1).await;
    wait_count(&name, "WHERE status = 'v6'", 0).await;
    assert_eq!(calls(&h, PAUSE), 1);

    for object in ["orders", "clicks"] {
        h.delete::<PinotTable>(object).await;
        h.delete::<PinotSchema>(object).await;
    }
    for object in ["orders", "clicks"] {
        h.wait_gone::<PinotTable>(object).await;
        h.wait_gone::<PinotSchema>(object).await;
    }
    assert!(
        h.pinot
            .get_table(&name, TableType::Realtime)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn pinot_outage_is_reported_and_recovered_without_deleting_anything() {
    let _pinot = PINOT_UP.write().await;
    let h = Harness::start("outage").await;
    let name = h.pinot_name("outage");
    h.apply(resource(
        "PinotSchema",
        "events",
        schema_spec(events_schema(&name)),
    ))
    .await;
    let doomed = h.pinot_name("doomed");
    let mut spec = schema_spec(events_schema(&doomed));
    spec["deletionPolicy"] = json!("Delete");
    h.apply(resource("PinotSchema", "doomed", spec)).await;
    h.wait_synced::<PinotSchema>("events", "True", "Created")
        .await;
    h.wait_synced::<PinotSchema>("doomed", "True", "Created")
        .await;
    // A table and a tenant too: every kind reports the outage and recovers.
    h.apply(resource(
        "PinotTable",
        "events",
        table_spec("events", events_table(&name)),
    ))
    .await;
    let tenant = json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "DefaultTenant", "instances": 1});
    h.apply(resource("PinotTenant", "brokers", tenant)).await;
    h.wait_synced::<PinotTable>("events", "True", "Created")
        .await;
    h.wait_synced::<PinotTenant>("brokers", "True", "InSync")
        .await;

    let pinot = Pinot::shared();
    pinot.stop_controller();
    let mut table = events_table(&name);
    table["segmentsConfig"]["retentionTimeValue"] = json!("45");
    h.apply(resource(
        "PinotTable",
        "events",
        table_spec("events", table),
    ))
    .await;
    h.wait_synced::<PinotTable>("events", "False", "PinotUnreachable")
        .await;
    // The tenant's spec did not change: the periodic resync notices the outage.
    h.wait_synced::<PinotTenant>("brokers", "False", "PinotUnreachable")
        .await;
    // A spec change while Pinot is down cannot be applied: the condition says why.
    let mut schema = events_schema(&name);
    schema["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "device", "dataType": "STRING"}));
    h.apply(resource("PinotSchema", "events", schema_spec(schema)))
        .await;
    let message = h
        .wait_synced::<PinotSchema>("events", "False", "PinotUnreachable")
        .await;
    assert!(message.contains("unreachable"), "{message}");
    // Deleting with policy Delete while Pinot is down: the finalizer holds the object.
    h.delete::<PinotSchema>("doomed").await;
    h.wait_synced::<PinotSchema>("doomed", "False", "PinotUnreachable")
        .await;
    assert!(
        h.api::<PinotSchema>()
            .get_opt("doomed")
            .await
            .unwrap()
            .is_some()
    );
    pinot.start_controller();
    h.wait_gone::<PinotSchema>("doomed").await;
    assert!(h.pinot.get_schema(&doomed).await.unwrap().is_none());
    h.wait_synced::<PinotSchema>("events", "True", "Updated")
        .await;
    h.wait_synced::<PinotTable>("events", "True", "Updated")
        .await;
    h.wait_synced::<PinotTenant>("brokers", "True", "InSync")
        .await;
    let config = offline_table(&h, &name).await.expect("table kept");
    assert_eq!(config["segmentsConfig"]["retentionTimeValue"], "45");
    let in_pinot = h
        .pinot
        .get_schema(&name)
        .await
        .unwrap()
        .expect("nothing deleted during the outage");
    assert_eq!(in_pinot["dimensionFieldSpecs"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_inputs_end_in_clear_conditions_and_others_keep_syncing() {
    let _pinot = PINOT_UP.read().await;
    let h = Harness::start("bad").await;
    let schema = |name: &str, patch: &dyn Fn(&mut Value)| {
        let mut s = events_schema(name);
        patch(&mut s);
        schema_spec(s)
    };
    // Schemas: (object, spec, expected reason)
    let schemas = vec![
        (
            "bad-type",
            schema(&h.pinot_name("bt"), &|s| {
                s["metricFieldSpecs"][0]["dataType"] = json!("MONEY")
            }),
            "InvalidSchema",
        ),
        (
            "dup-col",
            schema(&h.pinot_name("dc"), &|s| {
                s["metricFieldSpecs"][0]["name"] = json!("country")
            }),
            "InvalidSchema",
        ),
        (
            "bad-pk",
            schema(&h.pinot_name("pk"), &|s| {
                s["primaryKeyColumns"] = json!(["nope"])
            }),
            "InvalidSchema",
        ),
        (
            "no-format",
            schema(&h.pinot_name("nf"), &|s| {
                s["dateTimeFieldSpecs"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("format");
            }),
            "InvalidSchema",
        ),
        (
            "no-cluster",
            {
                let mut s = schema_spec(events_schema(&h.pinot_name("nc")));
                s["clusterRef"]["name"] = json!("missing");
                s
            },
            "ClusterNotFound",
        ),
    ];
    for (name, spec, _) in &schemas {
        h.apply(resource("PinotSchema", name, spec.clone())).await;
    }
    // A valid schema for the table cases, plus one for the "others keep syncing" check.
    let good = h.pinot_name("good");
    h.apply(resource(
        "PinotSchema",
        "good",
        schema_spec(events_schema(&good)),
    ))
    .await;

    let table = |patch: &dyn Fn(&mut Value)| {
        let mut t = events_table(&good);
        patch(&mut t);
        table_spec("good", t)
    };
    let tables = vec![
        (
            "rt-no-stream",
            table(&|t| t["tableType"] = json!("REALTIME")),
            "InvalidTable",
        ),
        (
            "offline-upsert",
            table(&|t| t["upsertConfig"] = json!({"mode": "FULL"})),
            "InvalidTable",
        ),
        (
            "no-segments",
            table(&|t| {
                t.as_object_mut().unwrap().remove("segmentsConfig");
            }),
            "InvalidTable",
        ),
        (
            "wrong-schema",
            table_spec("bad-type", events_table(&good)),
            "SchemaMismatch",
        ),
        (
            "no-tenant",
            table(&|t| t["tenants"]["server"] = json!("NoSuchTenant")),
            "TenantNotFound",
        ),
        (
            "bad-time-col",
            table(&|t| t["segmentsConfig"]["timeColumnName"] = json!("nope")),
            "PinotRejected",
        ),
    ];
    for (name, spec, _) in &tables {
        h.apply(resource("PinotTable", name, spec.clone())).await;
    }
    let secret_cluster = json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": "locked"}, "spec": {"external": {"controllerUrl": Pinot::shared().controller_url(),
        "authSecretRef": {"name": "no-such-secret"}}}});
    h.apply(secret_cluster).await;
    let mut locked = schema_spec(events_schema(&h.pinot_name("lk")));
    locked["clusterRef"]["name"] = json!("locked");
    h.apply(resource("PinotSchema", "locked", locked)).await;

    for (name, _, reason) in &schemas {
        h.wait_synced::<PinotSchema>(name, "False", reason).await;
        assert!(
            h.event_reasons(name).await.contains(&reason.to_string()),
            "{name}: no {reason} Event"
        );
    }
    for (name, _, reason) in &tables {
        h.wait_synced::<PinotTable>(name, "False", reason).await;
    }
    h.wait_synced::<PinotSchema>("locked", "False", "CredentialsUnavailable")
        .await;
    // The good schema synced despite its broken neighbours, and nothing bad reached Pinot.
    h.wait_synced::<PinotSchema>("good", "True", "Created")
        .await;
    assert!(
        h.pinot
            .get_schema(&h.pinot_name("bt"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.pinot
            .get_table(&good, TableType::Realtime)
            .await
            .unwrap()
            .is_none()
    );

    // A backward-incompatible change is reported, not forced.
    let mut changed = events_schema(&good);
    changed["metricFieldSpecs"][0]["dataType"] = json!("INT");
    h.apply(resource("PinotSchema", "good", schema_spec(changed)))
        .await;
    let message = h
        .wait_synced::<PinotSchema>("good", "False", "IncompatibleSchemaChange")
        .await;
    assert!(message.contains("force"), "{message}");
    let in_pinot = h.pinot.get_schema(&good).await.unwrap().unwrap();
    assert_eq!(in_pinot["metricFieldSpecs"][0]["dataType"], "DOUBLE");
}

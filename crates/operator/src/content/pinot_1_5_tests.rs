//! Schema and table syncs against Pinot 1.5.1's answers, as observed on a real 1.5.1
//! cluster outside CI (../shared/PINOT-NOTES.md, "Observed on a real 1.5.1 cluster"),
//! served by a scripted HTTP server. CI runs Pinot 0.11, which answers these calls
//! differently; these fixtures keep the 1.5.1 paths honest. Each test expects exactly
//! the calls it lists: wiremock fails it on any other request or count.

use api::{FollowUp, PinotSchema, PinotTable};
use kube::Client;
use pinot_client::{ClientConfig, PinotClient};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::error::SyncError;
use super::known::Known;
use super::{ContentResource, Outcome, SyncContext, Synced};

/// A kube client no test here may use: none of these specs has a `schemaRef`.
fn unused_kube() -> Client {
    let (service, _handle) = tower_test::mock::pair::<
        http::Request<kube::client::Body>,
        http::Response<kube::client::Body>,
    >();
    Client::new(service, "default")
}

fn pinot(server: &MockServer) -> PinotClient {
    let mut config = ClientConfig::new(server.uri().parse().unwrap());
    config.max_retries = 0;
    PinotClient::new(config).unwrap()
}

fn table(on_change_reload: bool, inverted: &[&str]) -> PinotTable {
    serde_json::from_value(json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotTable",
        "metadata": {"name": "events", "namespace": "ns"},
        "spec": {
            "clusterRef": {"name": "pinot"},
            "onChange": {"reload": on_change_reload},
            "table": {
                "tableName": "events", "tableType": "OFFLINE",
                "segmentsConfig": {"schemaName": "events", "replication": "1", "timeColumnName": "ts"},
                "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
                "tableIndexConfig": {"invertedIndexColumns": inverted}
            }
        }
    }))
    .unwrap()
}

/// `GET /tables/events?type=OFFLINE` as 1.5.1 answers it: suffixed name, defaults
/// filled in, and no `segmentsConfig.schemaName` (1.5.1 drops it).
fn stored_table(inverted: &[&str]) -> Value {
    json!({"OFFLINE": {
        "tableName": "events_OFFLINE", "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts",
                           "minimizeDataMovement": false, "segmentPushType": "APPEND"},
        "tenants": {"broker": "DefaultTenant", "server": "DefaultTenant"},
        "tableIndexConfig": {"invertedIndexColumns": inverted, "loadMode": "MMAP",
                             "aggregateMetrics": false},
        "metadata": {}, "isDimTable": false
    }})
}

async fn serve(server: &MockServer, verb: &str, at: &str, status: u16, body: Value, times: u64) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

/// Runs `sync` (or `remove`) of `object` against `server`, with the status the
/// object would have: `applied` hash and `pending` follow-ups.
async fn with_context<K: ContentResource, T>(
    object: &K,
    server: &MockServer,
    applied: Option<&str>,
    pending: &[FollowUp],
    run: impl AsyncFnOnce(&K, &SyncContext<'_>) -> T,
) -> T {
    let known = Known::default();
    with_memory(object, server, applied, pending, &known, run).await
}

/// [`with_context`] with what the operator remembers of Pinot.
async fn with_memory<K: ContentResource, T>(
    object: &K,
    server: &MockServer,
    applied: Option<&str>,
    pending: &[FollowUp],
    known: &Known,
    run: impl AsyncFnOnce(&K, &SyncContext<'_>) -> T,
) -> T {
    let (pinot, kube) = (pinot(server), unused_kube());
    let schemas = kube::runtime::reflector::store::Writer::default().as_reader();
    let cx = SyncContext {
        pinot: &pinot,
        kube: &kube,
        schemas: &schemas,
        namespace: "ns",
        applied_hash: applied,
        pending_follow_ups: pending,
        last_failed: false,
        known,
        cluster: "ns/pinot",
        resync: std::time::Duration::from_secs(60),
    };
    run(object, &cx).await
}

/// A table's dependencies as Pinot has them: its schema, and both tenants.
async fn serve_dependencies(server: &MockServer) {
    let schema = json!({"schemaName": "events"});
    serve(server, "GET", "/schemas/events", 200, schema, 1).await;
    let tenants = json!({"SERVER_TENANTS": ["DefaultTenant"], "BROKER_TENANTS": ["DefaultTenant"]});
    serve(server, "GET", "/tenants", 200, tenants, 1).await;
}

/// What an update of table `events` goes through before its follow-ups: Pinot's config
/// (without an index on `country`), the dependencies, the PUT.
async fn serve_update(server: &MockServer) {
    serve(server, "GET", "/tables/events", 200, stored_table(&[]), 1).await;
    serve_dependencies(server).await;
    serve(
        server,
        "PUT",
        "/tables/events",
        200,
        json!({"status": "updated"}),
        1,
    )
    .await;
}

async fn sync<K: ContentResource>(
    object: &K,
    server: &MockServer,
    applied: Option<&str>,
    pending: &[FollowUp],
) -> Synced {
    let result = with_context(object, server, applied, pending, async |o, cx| {
        o.sync(cx).await
    });
    result.await.unwrap()
}

/// Defect: 1.5.1 never returns `schemaName`, so a spec carrying it never matched and
/// every resync PUT the table again. The operator no longer sends or compares it.
#[tokio::test]
async fn a_table_whose_spec_names_its_schema_settles_without_writes() {
    let server = MockServer::start().await;
    serve(&server, "GET", "/tables/events", 200, stored_table(&[]), 2).await;
    let spec = table(false, &[]);
    let hash = spec.desired_hash();
    for _ in 0..2 {
        let synced = sync(&spec, &server, Some(&hash), &[]).await;
        assert_eq!(synced, Synced::new(Outcome::InSync));
    }
}

#[tokio::test]
async fn a_new_table_is_created_without_schema_name() {
    let server = MockServer::start().await;
    serve_dependencies(&server).await;
    let mut expected = table(false, &[]).spec.table.to_json();
    expected["segmentsConfig"]
        .as_object_mut()
        .unwrap()
        .remove("schemaName");
    Mock::given(method("POST"))
        .and(path("/tables"))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    let synced = sync(&table(false, &[]), &server, None, &[]).await;
    assert_eq!(synced.outcome, Outcome::Created);
}

/// Defect: 1.5.1 answers a reload of a table without loaded segments with 404; the
/// index change ended in `PinotRejected` and was applied again at every resync.
#[tokio::test]
async fn an_index_change_on_an_empty_table_is_synced() {
    let server = MockServer::start().await;
    serve_update(&server).await;
    let nothing = json!({"code": 404, "error": "Failed to find any segments in table: events on every instance"});
    Mock::given(method("POST"))
        .and(path("/segments/events/reload"))
        .and(query_param("type", "OFFLINE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(nothing))
        .expect(1)
        .mount(&server)
        .await;
    let before = table(true, &[]).desired_hash();
    let synced = sync(&table(true, &["country"]), &server, Some(&before), &[]).await;
    assert_eq!(synced.outcome, Outcome::Updated);
    assert_eq!(synced.notes, vec!["no segments to reload".to_owned()]);
    assert!(synced.pending.is_empty());
    assert_eq!(synced.follow_up_failure, None);
}

/// A reload that really fails leaves the change applied and the reload pending.
#[tokio::test]
async fn a_failed_reload_stays_pending_and_is_retried_alone() {
    let server = MockServer::start().await;
    serve_update(&server).await;
    let broken = json!({"code": 500, "error": "Failed to reload segments"});
    serve(&server, "POST", "/segments/events/reload", 500, broken, 1).await;
    let before = table(true, &[]).desired_hash();
    let changed = table(true, &["country"]);
    let synced = sync(&changed, &server, Some(&before), &[]).await;
    assert_eq!(synced.outcome, Outcome::Updated);
    assert_eq!(synced.pending, vec![FollowUp::Reload]);
    let failure = synced.follow_up_failure.expect("the failure is reported");
    assert!(
        failure.message.starts_with("segment reload failed"),
        "{failure:?}"
    );
    server.verify().await;

    // The next sync finds the change in Pinot and only retries the reload.
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        "/tables/events",
        200,
        stored_table(&["country"]),
        1,
    )
    .await;
    serve(
        &server,
        "POST",
        "/segments/events/reload",
        200,
        json!({"status": "ok"}),
        1,
    )
    .await;
    let hash = changed.desired_hash();
    let synced = sync(&changed, &server, Some(&hash), &[FollowUp::Reload]).await;
    assert_eq!(synced.outcome, Outcome::InSync);
    assert_eq!(synced.notes, vec!["segment reload started".to_owned()]);
    assert!(synced.pending.is_empty());
}

/// Issue 17: a change of a table whose last applied config the operator remembers is
/// one PUT, no read, and still runs the reload its index change needs (the tenants
/// are remembered too; the spec has no schemaRef, so its schema is asked for).
#[tokio::test]
async fn a_remembered_table_s_index_change_is_a_lone_put_and_its_reload() {
    let server = MockServer::start().await;
    let schema = json!({"schemaName": "events"});
    serve(&server, "GET", "/schemas/events", 200, schema, 1).await;
    let updated = json!({"status": "updated"});
    serve(&server, "PUT", "/tables/events", 200, updated, 1).await;
    let started = json!({"status": "ok"});
    serve(&server, "POST", "/segments/events/reload", 200, started, 1).await;
    let mut before = table(true, &[]);
    before.metadata.uid = Some("uid-1".into());
    let mut changed = table(true, &["country"]);
    changed.metadata.uid = before.metadata.uid.clone();
    let known = Known::default();
    let default = vec!["DefaultTenant".to_owned()];
    let tenants = pinot_client::Tenants {
        server_tenants: default.clone(),
        broker_tenants: default,
    };
    known.tenants.put("ns/pinot", tenants);
    let applied = before.desired_hash();
    let fingerprint = super::follow_up::Fingerprint::of(&json!(before.spec.table));
    let resync = std::time::Duration::from_secs(60);
    (known.tables).remember("uid-1", applied.clone(), fingerprint, resync);
    let sync = async |o: &PinotTable, cx: &SyncContext<'_>| o.sync(cx).await;
    let result = with_memory(&changed, &server, Some(&applied), &[], &known, sync);
    let synced = result.await.unwrap();
    assert_eq!(synced.outcome, Outcome::Updated);
    assert_eq!(synced.notes, vec!["segment reload started".to_owned()]);
}

fn schema(reload: bool, columns: &[&str]) -> PinotSchema {
    let dimensions: Vec<Value> = (columns.iter())
        .map(|c| json!({"name": c, "dataType": "STRING"}))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotSchema",
        "metadata": {"name": "events", "namespace": "ns"},
        "spec": {
            "clusterRef": {"name": "pinot"},
            "updatePolicy": {"reload": reload},
            "schema": {"schemaName": "events", "dimensionFieldSpecs": dimensions}
        }
    }))
    .unwrap()
}

/// Defect (every version): a schema with `updatePolicy.reload` and no table of its
/// name was updated, then Pinot answered 404 "Failed to find table … to reload"; the
/// operator reported `PinotRejected` and PUT the schema again at every resync.
#[tokio::test]
async fn a_schema_update_with_no_table_to_reload_is_synced() {
    let server = MockServer::start().await;
    // 1.5.1 adds fieldType (and enableColumnBasedNullHandling) to what it returns.
    let stored = json!({"schemaName": "events", "enableColumnBasedNullHandling": false,
        "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING", "fieldType": "DIMENSION"}]});
    serve(&server, "GET", "/schemas/events", 200, stored, 1).await;
    let no_table = json!({"code": 404, "error": "Failed to find table events to reload"});
    Mock::given(method("PUT"))
        .and(path("/schemas/events"))
        .and(query_param("reload", "true"))
        .respond_with(ResponseTemplate::new(404).set_body_json(no_table))
        .expect(1)
        .mount(&server)
        .await;
    let before = schema(true, &["a"]).desired_hash();
    let synced = sync(&schema(true, &["a", "b"]), &server, Some(&before), &[]).await;
    assert_eq!(synced.outcome, Outcome::Updated);
    assert_eq!(
        synced.notes,
        vec!["no table named events to reload".to_owned()]
    );
}

/// The same schema once applied: 1.5.1's extra fields are no drift.
#[tokio::test]
async fn fields_pinot_1_5_adds_to_a_schema_are_no_drift() {
    let server = MockServer::start().await;
    let stored = json!({"schemaName": "events", "enableColumnBasedNullHandling": false,
        "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING", "fieldType": "DIMENSION",
                                 "notNull": false}]});
    serve(&server, "GET", "/schemas/events", 200, stored, 1).await;
    let spec = schema(true, &["a"]);
    let hash = spec.desired_hash();
    assert_eq!(
        sync(&spec, &server, Some(&hash), &[]).await,
        Synced::new(Outcome::InSync)
    );
}

fn deleted_schema() -> PinotSchema {
    let mut schema = schema(false, &["a"]);
    schema.spec.deletion_policy = api::DeletionPolicy::Delete;
    schema
}

async fn remove<K: ContentResource>(object: &K, server: &MockServer) -> SyncError {
    let result = with_context(object, server, None, &[], async |o, cx| o.remove(cx).await);
    result.await.expect_err("the schema is in use")
}

/// 1.5.1 returns table configs without `schemaName`: a table still uses the schema
/// named like it, and deleting the schema waits, naming the table.
#[tokio::test]
async fn a_schema_in_use_by_a_table_is_not_deleted() {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        "/tables",
        200,
        json!({"tables": ["events"]}),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/tables/events"))
        .and(query_param("type", "OFFLINE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored_table(&[])))
        .expect(1)
        .mount(&server)
        .await;
    let missing = json!({"code": 404, "error": "Table events_REALTIME does not exist"});
    Mock::given(method("GET"))
        .and(path("/tables/events"))
        .and(query_param("type", "REALTIME"))
        .respond_with(ResponseTemplate::new(404).set_body_json(missing))
        .expect(1)
        .mount(&server)
        .await;
    let error = remove(&deleted_schema(), &server).await;
    assert_eq!(error.reason(), "SchemaInUse");
    assert!(error.to_string().contains("events_OFFLINE"), "{error}");
}

/// Should a table appear between the check and the delete, 1.5.1's own refusal (409)
/// is the same `SchemaInUse`.
#[tokio::test]
async fn pinot_1_5_refusing_to_delete_a_schema_in_use_is_schema_in_use() {
    let server = MockServer::start().await;
    serve(&server, "GET", "/tables", 200, json!({"tables": []}), 1).await;
    let refused = json!({"code": 409, "error": "Cannot delete schema events, as it is associated with table events_OFFLINE"});
    serve(&server, "DELETE", "/schemas/events", 409, refused, 1).await;
    let error = remove(&deleted_schema(), &server).await;
    assert_eq!(error.reason(), "SchemaInUse");
    assert!(
        error.to_string().contains("Cannot delete schema"),
        "{error}"
    );
}

/// 1.5.1 refuses wrong credentials with 401 (0.11: 403): both are `AccessDenied`.
#[tokio::test]
async fn pinot_1_5_s_401_is_access_denied() {
    let server = MockServer::start().await;
    let refused = json!({"code": 401, "error": "HTTP 401 Unauthorized"});
    serve(&server, "POST", "/schemas", 401, refused, 1).await;
    let sync = async |o: &PinotSchema, cx: &SyncContext<'_>| o.sync(cx).await;
    let result = with_context(&schema(false, &["a"]), &server, None, &[], sync).await;
    let error = result.unwrap_err();
    assert_eq!(error.reason(), "AccessDenied");
}

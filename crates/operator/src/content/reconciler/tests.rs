//! The content shell against a scripted apiserver and a scripted Pinot, request by
//! request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use kube::runtime::watcher;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::store::Writer;

use crate::metrics::Metrics;
use crate::mock_apiserver::{self, Seen};

fn taken(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// A context whose cluster store holds one external cluster, served by `pinot`; the
/// apiserver answers writes with the schema.
fn context(pinot: &MockServer) -> (Arc<Context>, Arc<Mutex<Vec<Seen>>>) {
    serving(pinot, serde_json::to_value(schema()).unwrap())
}

/// [`context`], with the apiserver answering writes with `object`.
fn serving(pinot: &MockServer, object: serde_json::Value) -> (Arc<Context>, Arc<Mutex<Vec<Seen>>>) {
    let (client, seen) = mock_apiserver::client(vec![object]);
    let metrics = Arc::new(Metrics::default());
    let ctx = Arc::new(Context::new(client, metrics, Duration::from_secs(60), None));
    let cluster = serde_json::from_value(json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": "pinot", "namespace": "ns"},
        "spec": {"external": {"controllerUrl": pinot.uri()}}
    }))
    .unwrap();
    let mut clusters = ctx.writers().clusters();
    for event in [
        watcher::Event::Init,
        watcher::Event::InitApply(cluster),
        watcher::Event::InitDone,
    ] {
        clusters.apply_watcher_event(&event);
    }
    (ctx, seen)
}

fn schema() -> PinotSchema {
    serde_json::from_value(json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotSchema",
        "metadata": {"name": "events", "namespace": "ns", "generation": 1},
        "spec": {"clusterRef": {"name": "pinot"},
                 "schema": {"schemaName": "events",
                            "dimensionFieldSpecs": [{"name": "country", "dataType": "STRING"}]}}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_created_schema_is_reported_once_and_a_steady_resync_costs_no_apiserver_request() {
    let pinot = MockServer::start().await;
    // Created at the first sync; read back at each of the two resyncs.
    Mock::given(method("POST"))
        .and(path("/schemas"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&pinot)
        .await;
    Mock::given(method("GET"))
        .and(path("/schemas/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(schema().spec.schema))
        .expect(2)
        .mount(&pinot)
        .await;
    let (ctx, seen) = context(&pinot);
    let mut object = schema();

    reconcile(Arc::new(object.clone()), ctx.clone())
        .await
        .unwrap();
    let created = taken(&seen);
    let status = created
        .iter()
        .find(|r| r.method == Method::PATCH && r.path().ends_with("/pinotschemas/events/status"))
        .expect("status written");
    let events: Vec<&Seen> = created
        .iter()
        .filter(|r| r.path().ends_with("/events"))
        .collect();
    assert_eq!(events.len(), 1, "{created:#?}");
    assert_eq!(events[0].body["reason"], "Created");
    assert_eq!(created.len(), 2, "{created:#?}");
    object.status = Some(serde_json::from_value(status.body["status"].clone()).unwrap());

    // The first resync finds Pinot in order: `Created` becomes `InSync`, quietly.
    reconcile(Arc::new(object.clone()), ctx.clone())
        .await
        .unwrap();
    let first = taken(&seen);
    assert_eq!(first.len(), 1, "one status write, no Event: {first:#?}");
    assert_eq!(first[0].body["status"]["conditions"][0]["reason"], "InSync");
    object.status = Some(serde_json::from_value(first[0].body["status"].clone()).unwrap());

    // Later resyncs read Pinot (wiremock checks both GETs happened) and write nothing.
    reconcile(Arc::new(object), ctx.clone()).await.unwrap();
    let steady = taken(&seen);
    assert!(steady.is_empty(), "{steady:#?}");
}

fn table() -> api::PinotTable {
    serde_json::from_value(json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotTable",
        "metadata": {"name": "events", "namespace": "ns", "generation": 1},
        "spec": {"clusterRef": {"name": "pinot"}, "schemaRef": {"name": "events"},
                 "table": {"tableName": "events", "tableType": "OFFLINE",
                           "segmentsConfig": {"replication": "1"}}}
    }))
    .unwrap()
}

/// Puts `schema` (no status: no reconcile has looked at it) into the schema store,
/// created `age` ago.
fn unreconciled_schema(schemas: &mut Writer<PinotSchema>, age: Duration) {
    let mut schema = schema();
    let created = Timestamp::now() - jiff_span(age);
    schema.metadata.creation_timestamp = Some(Time(created));
    schemas.apply_watcher_event(&watcher::Event::Apply(schema));
}

fn jiff_span(age: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::try_from(age).unwrap()
}

/// A table applied with its schema waits without a word while no reconcile has
/// looked at the schema; a schema left unreconciled for longer makes it say so.
#[tokio::test]
async fn a_table_waits_quietly_for_a_schema_applied_with_it_then_says_it_waits() {
    let pinot = MockServer::start().await;
    let (ctx, seen) = serving(&pinot, serde_json::to_value(table()).unwrap());
    let mut schemas = ctx.writers().schemas();
    unreconciled_schema(&mut schemas, Duration::from_secs(1));
    let action = reconcile(Arc::new(table()), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(WAIT_RETRY));
    let quiet = taken(&seen);
    assert!(quiet.is_empty(), "no status, no Event: {quiet:#?}");

    unreconciled_schema(&mut schemas, Duration::from_secs(180));
    reconcile(Arc::new(table()), ctx.clone()).await.unwrap();
    let said = taken(&seen);
    let status = said
        .iter()
        .find(|r| r.path().ends_with("/pinottables/events/status"))
        .expect("status written");
    let synced = &status.body["status"]["conditions"][0];
    assert_eq!(synced["reason"], "SchemaNotSynced", "{said:#?}");
    assert!(
        said.iter()
            .any(|r| r.path().ends_with("/events") && r.body["reason"] == "SchemaNotSynced")
    );
    let asked = pinot.received_requests().await.unwrap_or_default();
    assert!(
        asked.is_empty(),
        "Pinot is not asked while the schema waits: {asked:?}"
    );
}

//! The CRDs against a real kube-apiserver: they install, every kind round-trips,
//! and admission (OpenAPI + CEL) rejects bad objects with a readable message.

mod common;

use api::{PinotCluster, PinotSchema, PinotTable, PinotTenant};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;

async fn setup() -> (Client, String) {
    let env = Kubernetes::shared();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = env.create_namespace("crds").await;
    (client, ns)
}

fn api_for(client: &Client, ns: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(api::GROUP, "v1alpha1", kind);
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

/// Creates `obj` and returns the apiserver's rejection message; panics if it was accepted.
async fn rejected(client: &Client, ns: &str, kind: &str, plural: &str, obj: Value) -> String {
    let api = api_for(client, ns, kind, plural);
    let obj: DynamicObject = serde_json::from_value(obj).unwrap();
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => panic!("{kind} was accepted but must be rejected: {obj:?}"),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "expected 422 Invalid, got {status:?}");
            status.message
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn cluster(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
           "metadata": {"name": name}, "spec": spec})
}

fn content(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind,
           "metadata": {"name": name}, "spec": spec})
}

/// Every document of every file under `examples/` passes admission (a server-side
/// dry run), so the examples the docs point at stay valid as the CRDs change.
#[tokio::test]
async fn every_example_passes_admission() {
    let (client, ns) = setup().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut checked = 0;
    for file in files {
        // The sandbox's placeholder (examples/external/cluster.yaml).
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("${PINOT_CONTROLLER_URL}", "http://pinot-controller:9000");
        for document in serde_norway::Deserializer::from_str(&text) {
            let value = <Value as serde::Deserialize>::deserialize(document).unwrap();
            if value["apiVersion"] != json!("pinot.operator.dev/v1alpha1") {
                continue; // Secrets the examples reference
            }
            let kind = value["kind"].as_str().unwrap().to_owned();
            let plural = format!("{}s", kind.to_lowercase());
            let obj: DynamicObject = serde_json::from_value(value).unwrap();
            let dry_run = PostParams {
                dry_run: true,
                ..PostParams::default()
            };
            let created = api_for(&client, &ns, &kind, &plural)
                .create(&dry_run, &obj)
                .await;
            assert!(
                created.is_ok(),
                "{}: {kind} refused: {created:?}",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "the examples were found: {checked} documents"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn every_kind_round_trips_through_the_apiserver() {
    let (client, ns) = setup().await;
    let clusters: Api<PinotCluster> = Api::namespaced(client.clone(), &ns);
    let c: PinotCluster = serde_json::from_value(cluster(
        "analytics",
        json!({"zookeeper": {"managed": {"replicas": 3}},
               "server": {"pools": [{"name": "hot", "replicas": 3, "tier": "hot"},
                                    {"name": "cold", "replicas": 2, "tier": "cold"}]}}),
    ))
    .unwrap();
    clusters.create(&PostParams::default(), &c).await.unwrap();
    let got = clusters.get("analytics").await.unwrap();
    assert_eq!(got.spec.server.pools.len(), 2);
    assert_eq!(got.spec.zookeeper.unwrap().managed.unwrap().replicas, 3);

    let schemas: Api<PinotSchema> = Api::namespaced(client.clone(), &ns);
    let s: PinotSchema = serde_json::from_value(content(
        "PinotSchema",
        "events",
        json!({"clusterRef": {"name": "analytics"},
               "schema": {"schemaName": "events",
                          "dimensionFieldSpecs": [{"name": "country", "dataType": "STRING"}]}}),
    ))
    .unwrap();
    schemas.create(&PostParams::default(), &s).await.unwrap();
    let got = schemas.get("events").await.unwrap();
    // Unknown fields inside Pinot's document survive the round trip.
    assert_eq!(
        got.spec.schema.rest["dimensionFieldSpecs"][0]["name"],
        "country"
    );

    let tables: Api<PinotTable> = Api::namespaced(client.clone(), &ns);
    let t: PinotTable = serde_json::from_value(content(
        "PinotTable",
        "events",
        json!({"clusterRef": {"name": "analytics"}, "schemaRef": {"name": "events"},
               "table": {"tableName": "events", "tableType": "OFFLINE",
                         "segmentsConfig": {"replication": "1", "timeColumnName": "ts"}}}),
    ))
    .unwrap();
    tables.create(&PostParams::default(), &t).await.unwrap();
    let got = tables.get("events").await.unwrap();
    let segments = got.spec.table.segments_config.expect("segmentsConfig kept");
    assert_eq!(segments.rest["timeColumnName"], "ts");
    assert_eq!(got.spec.deletion_policy, api::DeletionPolicy::Retain);

    let tenants: Api<PinotTenant> = Api::namespaced(client.clone(), &ns);
    let tn: PinotTenant = serde_json::from_value(content(
        "PinotTenant",
        "analytics",
        json!({"clusterRef": {"name": "analytics"}, "role": "Server", "name": "analytics",
               "offlineInstances": 1, "realtimeInstances": 1}),
    ))
    .unwrap();
    tenants.create(&PostParams::default(), &tn).await.unwrap();
    assert_eq!(
        tenants
            .get("analytics")
            .await
            .unwrap()
            .spec
            .offline_instances,
        Some(1)
    );

    // kubectl shows the printer columns users rely on.
    let out = Kubernetes::shared()
        .kubectl()
        .args(["get", "pinottables", "-n", &ns])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for column in ["CLUSTER", "TABLE", "TYPE", "SYNCED", "AGE"] {
        assert!(text.contains(column), "missing column {column} in:\n{text}");
    }
    assert!(text.contains("OFFLINE"), "{text}");
}

#[tokio::test]
async fn admission_rejects_invalid_objects_with_clear_messages() {
    let (client, ns) = setup().await;
    let c = |name: &str, spec: Value| cluster(name, spec);
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "both-zk",
                json!({"zookeeper": {"managed": {"replicas": 3},
                                              "external": {"connectString": "zk:2181"}}}),
            ),
            "set exactly one of zookeeper.managed and zookeeper.external",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "no-zk",
                json!({"server": {"pools": [{"name": "a", "replicas": 1}]}}),
            ),
            "a deployed cluster needs spec.zookeeper",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "dup-pools",
                json!({"zookeeper": {"managed": {}},
                "server": {"pools": [{"name": "hot", "replicas": 1}, {"name": "hot", "replicas": 2}]}}),
            ),
            "Duplicate value",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "neg",
                json!({"zookeeper": {"managed": {}},
                "broker": {"pools": [{"name": "b", "replicas": -1}]}}),
            ),
            "replicas must be >= 0",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "bad-pool",
                json!({"zookeeper": {"managed": {}},
                "broker": {"pools": [{"name": "Bad_Pool", "replicas": 1}]}}),
            ),
            "pool name must be 1-20 lower-case letters",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "even-zk",
                json!({"zookeeper": {"managed": {"replicas": 2}}}),
            ),
            "zookeeper.managed.replicas must be odd",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "claim-name",
                json!({"zookeeper": {"managed": {}}, "kubernetes": {"volumeClaims": [
                    {"name": "Logs", "mountPath": "/logs", "size": "1Gi"}]}}),
            ),
            "volumeClaims[0].name: Invalid value: \"Logs\"",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "claim-path",
                json!({"zookeeper": {"managed": {}}, "kubernetes": {"volumeClaims": [
                    {"name": "logs", "mountPath": "logs", "size": "1Gi"}]}}),
            ),
            "volumeClaims[0].mountPath: Invalid value: \"logs\"",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "claim-twice",
                json!({"zookeeper": {"managed": {}}, "server": {"kubernetes": {"volumeClaims": [
                    {"name": "logs", "mountPath": "/a", "size": "1Gi"},
                    {"name": "logs", "mountPath": "/b", "size": "1Gi"}]}}}),
            ),
            "Duplicate value",
        ),
        (
            "PinotCluster",
            "pinotclusters",
            c(
                "claim-size",
                json!({"zookeeper": {"managed": {}}, "kubernetes": {"volumeClaims": [
                    {"name": "logs", "mountPath": "/logs"}]}}),
            ),
            "volumeClaims[0].size: Required value",
        ),
        (
            "PinotTable",
            "pinottables",
            content(
                "PinotTable",
                "bad-type",
                json!({"clusterRef": {"name": "c"},
                "table": {"tableName": "events", "tableType": "HYBRID"}}),
            ),
            "Unsupported value: \"HYBRID\"",
        ),
        (
            "PinotTable",
            "pinottables",
            content(
                "PinotTable",
                "suffix",
                json!({"clusterRef": {"name": "c"},
                "table": {"tableName": "events_OFFLINE", "tableType": "OFFLINE"}}),
            ),
            "must not carry the _OFFLINE/_REALTIME suffix",
        ),
        (
            "PinotSchema",
            "pinotschemas",
            content(
                "PinotSchema",
                "no-name",
                json!({"clusterRef": {"name": "c"},
                "schema": {"dimensionFieldSpecs": []}}),
            ),
            "schemaName: Required value",
        ),
        (
            "PinotSchema",
            "pinotschemas",
            content(
                "PinotSchema",
                "bad-name",
                json!({"clusterRef": {"name": "c"},
                "schema": {"schemaName": "my-events"}}),
            ),
            "schemaName may hold letters, digits and '_'",
        ),
        (
            "PinotTenant",
            "pinottenants",
            content(
                "PinotTenant",
                "broker-no-count",
                json!({"clusterRef": {"name": "c"},
                "role": "Broker", "name": "analytics"}),
            ),
            "a Broker tenant needs instances",
        ),
    ];
    for (kind, plural, obj, expected) in cases {
        let message = rejected(&client, &ns, kind, plural, obj).await;
        assert!(
            message.contains(expected),
            "{kind}: expected {expected:?} in {message:?}"
        );
    }
}

#[tokio::test]
async fn cluster_ref_is_immutable() {
    let (client, ns) = setup().await;
    let api = api_for(&client, &ns, "PinotSchema", "pinotschemas");
    let obj: DynamicObject = serde_json::from_value(content(
        "PinotSchema",
        "moving",
        json!({"clusterRef": {"name": "a"}, "schema": {"schemaName": "moving"}}),
    ))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    let patch = json!({"spec": {"clusterRef": {"name": "b"}}});
    let err = api
        .patch("moving", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("clusterRef change must be rejected");
    assert!(err.to_string().contains("clusterRef is immutable"), "{err}");
}

#[tokio::test]
async fn cluster_name_cannot_be_added_after_creation() {
    let (client, ns) = setup().await;
    let api = api_for(&client, &ns, "PinotCluster", "pinotclusters");
    let obj: DynamicObject = serde_json::from_value(cluster(
        "named",
        json!({"zookeeper": {"managed": {"replicas": 1}}}),
    ))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    let patch = json!({"spec": {"clusterName": "other"}});
    let err = api
        .patch("named", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect_err("adding clusterName must be rejected");
    assert!(
        err.to_string().contains("clusterName is immutable"),
        "{err}"
    );
}

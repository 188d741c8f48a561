//! The real Pinot test cluster: it starts, every role registers, the controller REST API
//! round-trips schemas and tables (OFFLINE and, through a real Kafka, REALTIME), and the
//! controller survives a stop/start. Also pins the REST behaviours, per Pinot release,
//! the operator's client has to cope with. No mocks, no skips: missing jars fail the tests.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use testenv::pinot::{Pinot, Release};
use tokio::sync::RwLock;

/// Tests that need the controller take this for reading; the outage test takes it for
/// writing, so nobody else sees the controller down.
static CONTROLLER: RwLock<()> = RwLock::const_new(());

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build an HTTP client")
}

/// `GET url` as status and JSON body (`Value::String` when the body is not JSON).
async fn get(url: &str) -> (StatusCode, Value) {
    let response = client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    into_json(response).await
}

async fn send(method: reqwest::Method, url: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut request = client().request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    into_json(response).await
}

async fn into_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("read the response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// An `events`-style schema: one dimension, one metric, one dateTime column.
fn schema(name: &str) -> Value {
    json!({
        "schemaName": name,
        "dimensionFieldSpecs": [{ "name": "country", "dataType": "STRING" }],
        "metricFieldSpecs": [{ "name": "clicks", "dataType": "LONG" }],
        "dateTimeFieldSpecs": [{
            "name": "ts",
            "dataType": "LONG",
            "format": "1:MILLISECONDS:EPOCH",
            "granularity": "1:MILLISECONDS"
        }]
    })
}

fn offline_table(name: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "OFFLINE",
        "segmentsConfig": { "schemaName": name, "timeColumnName": "ts", "replication": "1" },
        "tenants": { "broker": "DefaultTenant", "server": "DefaultTenant" },
        "tableIndexConfig": { "loadMode": "MMAP" },
        "metadata": {}
    })
}

fn realtime_table(name: &str, topic: &str, bootstrap: &str) -> Value {
    json!({
        "tableName": name,
        "tableType": "REALTIME",
        "segmentsConfig": { "schemaName": name, "timeColumnName": "ts", "replicasPerPartition": "1" },
        "tenants": { "broker": "DefaultTenant", "server": "DefaultTenant" },
        "tableIndexConfig": {
            "loadMode": "MMAP",
            "streamConfigs": {
                "streamType": "kafka",
                "stream.kafka.topic.name": topic,
                "stream.kafka.broker.list": bootstrap,
                "stream.kafka.consumer.type": "lowlevel",
                "stream.kafka.consumer.factory.class.name": Pinot::shared().kafka_consumer_factory(),
                "stream.kafka.decoder.class.name":
                    "org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
                "stream.kafka.consumer.prop.auto.offset.reset": "smallest"
            }
        },
        "metadata": {}
    })
}

/// A schema as Pinot returns it, without what 1.x adds to every schema it returns
/// (`enableColumnBasedNullHandling`, and `fieldType` on every column; 0.11 adds nothing).
fn without_release_additions(mut schema: Value, release: Release) -> Value {
    if release < Release(1, 0, 0) {
        return schema;
    }
    let doc = schema.as_object_mut().expect("a schema is an object");
    doc.remove("enableColumnBasedNullHandling");
    for list in [
        "dimensionFieldSpecs",
        "metricFieldSpecs",
        "dateTimeFieldSpecs",
    ] {
        for column in doc
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            column.as_object_mut().map(|c| c.remove("fieldType"));
        }
    }
    schema
}

async fn create_schema(pinot: &Pinot, name: &str) {
    let url = format!("{}/schemas", pinot.controller_url());
    let (status, body) = send(reqwest::Method::POST, &url, Some(&schema(name))).await;
    assert_eq!(status, StatusCode::OK, "POST /schemas {name}: {body}");
}

async fn create_table(pinot: &Pinot, table: &Value) {
    let url = format!("{}/tables", pinot.controller_url());
    let (status, body) = send(reqwest::Method::POST, &url, Some(table)).await;
    assert_eq!(status, StatusCode::OK, "POST /tables: {body}");
}

#[tokio::test]
async fn controller_health_is_ok() {
    let pinot = Pinot::shared();
    let _controller = CONTROLLER.read().await;
    let (status, body) = get(&format!("{}/health", pinot.controller_url())).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
    let (status, body) = get(&format!("{}/health", pinot.broker_url())).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
}

#[tokio::test]
async fn instances_lists_every_role() {
    let pinot = Pinot::shared();
    eprintln!("Pinot cluster started in {:?}", pinot.startup_time());
    let _controller = CONTROLLER.read().await;
    let (status, body) = get(&format!("{}/instances", pinot.controller_url())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut instances: Vec<String> = serde_json::from_value(body["instances"].clone())
        .unwrap_or_else(|e| panic!("GET /instances: {e}: {body}"));
    instances.sort();
    let count = |prefix: &str| instances.iter().filter(|i| i.starts_with(prefix)).count();
    assert_eq!(count("Controller_127.0.0.1_"), 1, "{instances:?}");
    assert_eq!(count("Broker_127.0.0.1_"), 1, "{instances:?}");
    assert_eq!(count("Server_127.0.0.1_"), 2, "{instances:?}");
    assert_eq!(count("Minion_127.0.0.1_"), 1, "{instances:?}");
    let mut expected = pinot.instance_ids();
    expected.sort();
    assert_eq!(instances, expected);
}

#[tokio::test]
async fn schema_and_offline_table_round_trip_and_survive_a_controller_restart() {
    let pinot = Pinot::shared();
    let _controller = CONTROLLER.write().await;
    let controller = pinot.controller_url();
    create_schema(pinot, "events").await;
    create_table(pinot, &offline_table("events")).await;

    let release = pinot.reported_release().await.expect("GET /version");
    let (status, read) = get(&format!("{controller}/schemas/events")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        without_release_additions(read, release),
        schema("events"),
        "the schema reads back as written"
    );
    let (status, read) = get(&format!("{controller}/tables/events")).await;
    assert_eq!(status, StatusCode::OK);
    // GET /tables/{name} wraps the config by type and suffixes the name with the type.
    let offline = &read["OFFLINE"];
    assert_eq!(offline["tableName"], "events_OFFLINE", "{read}");
    assert_eq!(offline["tableType"], "OFFLINE");
    // 0.11 keeps the deprecated schemaName; 1.5.1 drops it (unrecognizedProperties).
    let schema_name = offline.pointer("/segmentsConfig/schemaName");
    match release >= Release(1, 0, 0) {
        false => assert_eq!(schema_name, Some(&json!("events"))),
        true => assert_eq!(schema_name, None, "{read}"),
    }
    assert_eq!(offline["segmentsConfig"]["timeColumnName"], "ts");
    assert_eq!(offline["segmentsConfig"]["replication"], "1");
    assert_eq!(offline["tenants"]["server"], "DefaultTenant");
    assert!(read.get("REALTIME").is_none(), "{read}");

    pinot.stop_controller();
    let refused = client()
        .get(format!("{controller}/health"))
        .send()
        .await
        .expect_err("the stopped controller still answers");
    assert!(
        refused.is_connect(),
        "expected connection refused: {refused}"
    );

    pinot.start_controller();
    let (status, body) = get(&format!("{controller}/health")).await;
    assert_eq!((status, body), (StatusCode::OK, json!("OK")));
    let (status, read) = get(&format!("{controller}/schemas/events")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        read,
        schema("events"),
        "the schema survives a controller restart"
    );
    let (_, read) = get(&format!("{controller}/tables/events")).await;
    assert_eq!(read["OFFLINE"]["tableName"], "events_OFFLINE");
}

#[tokio::test]
async fn realtime_table_consumes_a_kafka_topic() {
    let pinot = Pinot::shared();
    pinot.create_kafka_topic("clicks", 2);
    let bootstrap = pinot.kafka_bootstrap();
    let _controller = CONTROLLER.read().await;
    let controller = pinot.controller_url();
    create_schema(pinot, "clicks").await;
    create_table(pinot, &realtime_table("clicks", "clicks", &bootstrap)).await;

    let (status, read) = get(&format!("{controller}/tables/clicks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["REALTIME"]["tableName"], "clicks_REALTIME", "{read}");
    let streams = &read["REALTIME"]["tableIndexConfig"]["streamConfigs"];
    assert_eq!(streams["stream.kafka.broker.list"], json!(bootstrap));

    // One consuming segment per partition, each CONSUMING on one of the servers.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, view) = get(&format!("{controller}/tables/clicks/externalview")).await;
        let consuming = consuming_segments(&view["REALTIME"]);
        if consuming == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expected 2 CONSUMING segments, external view: {view}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Pinot refuses to delete the schema of a REALTIME table (0.11 not that of an
    // OFFLINE one: see rest_api_behaviours_by_release).
    let url = format!("{controller}/schemas/clicks");
    let (status, body) = send(reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// Segments of an external view with a replica in state CONSUMING.
fn consuming_segments(view: &Value) -> usize {
    let Some(segments) = view.as_object() else {
        return 0;
    };
    (segments.values())
        .filter(|replicas| {
            (replicas.as_object().into_iter().flatten()).any(|(_, state)| state == "CONSUMING")
        })
        .count()
}

/// REST behaviours that differ between Pinot releases, asserted for the release the
/// controller reports (0.11 in CI; 1.5.1 as observed outside CI, ../shared/PINOT-NOTES.md);
/// the operator's client must handle each.
#[tokio::test]
async fn rest_api_behaviours_by_release() {
    let pinot = Pinot::shared();
    let _controller = CONTROLLER.read().await;
    let controller = pinot.controller_url();
    let release = pinot.reported_release().await.expect("GET /version");
    assert_eq!(
        release,
        pinot.release(),
        "the controller runs the configured Pinot"
    );
    let v1_4 = release >= Release(1, 4, 0);
    use reqwest::Method;

    // A missing table is `200 {}` up to 1.3 and 404 from 1.4; a missing schema is 404.
    let (status, body) = get(&format!("{controller}/tables/no_such_table")).await;
    match v1_4 {
        false => assert_eq!((status, body), (StatusCode::OK, json!({}))),
        true => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
    }
    let (status, _) = get(&format!("{controller}/schemas/no_such_schema")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // POST /schemas overwrites an existing schema (override defaults to true) ...
    create_schema(pinot, "quirks").await;
    create_schema(pinot, "quirks").await;
    // ... and only override=false gives 409.
    let url = format!("{controller}/schemas?override=false");
    let (status, body) = send(Method::POST, &url, Some(&schema("quirks"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A backward-incompatible change is 400; force=true applies it from 1.x only.
    let mut incompatible = schema("quirks");
    incompatible["metricFieldSpecs"][0]["dataType"] = json!("DOUBLE");
    let url = format!("{controller}/schemas/quirks");
    let (status, body) = send(Method::PUT, &url, Some(&incompatible)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let forced = format!("{url}?force=true");
    let (status, body) = send(Method::PUT, &forced, Some(&incompatible)).await;
    match release >= Release(1, 0, 0) {
        false => assert_eq!(status, StatusCode::BAD_REQUEST, "{body}"),
        true => {
            assert_eq!(status, StatusCode::OK, "{body}");
            // Put the original back, so the table below matches its schema.
            let (status, body) = send(Method::PUT, &forced, Some(&schema("quirks"))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    // POST /tables on an existing table is 409; PUT updates it.
    create_table(pinot, &offline_table("quirks")).await;
    let url = format!("{controller}/tables");
    let (status, body) = send(Method::POST, &url, Some(&offline_table("quirks"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let mut two_replicas = offline_table("quirks");
    two_replicas["segmentsConfig"]["replication"] = json!("2");
    let url = format!("{controller}/tables/quirks");
    let (status, body) = send(Method::PUT, &url, Some(&two_replicas)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, read) = get(&url).await;
    assert_eq!(read["OFFLINE"]["segmentsConfig"]["replication"], "2");

    // DELETE /schemas of a schema an OFFLINE table uses: 0.11 deletes it (200) and the
    // table keeps pointing at it; 1.5.1 refuses (409) as it does for REALTIME tables.
    let url = format!("{controller}/schemas/quirks");
    let (status, body) = send(Method::DELETE, &url, None).await;
    match release >= Release(1, 5, 0) {
        false => assert_eq!(status, StatusCode::OK, "{body}"),
        true => assert_eq!(status, StatusCode::CONFLICT, "{body}"),
    }
}

//! A second, independent Pinot cluster with basic authentication switched on by
//! hand-written properties (`Pinot::start_with`), checked the way a user would: the
//! controller and the broker refuse anonymous and wrongly authenticated requests, the
//! read-only user can read but not write, and an OFFLINE table ingested through the
//! controller is queryable, so the servers' tokens work for fetching segments.
//!
//! The properties follow Pinot 0.11's basic-auth docs and are split the way the operator
//! renders them: the non-secret keys in one file (a ConfigMap), passwords and tokens in
//! another (a Secret), both listed in each role's `config.paths`.
//!
//! One test: the cluster is this binary's own, started once and torn down at the end.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testenv::pinot::{BasicAuth, Pinot, PinotOptions, Release, Role};

const ADMIN_PASSWORD: &str = "admin-secret";
const READER_PASSWORD: &str = "reader-secret";
const TABLE: &str = "auth_events";
const ROWS: &str = "{\"country\":\"NZ\",\"clicks\":1,\"ts\":1700000000000}\n\
                    {\"country\":\"FR\",\"clicks\":2,\"ts\":1700000001000}\n\
                    {\"country\":\"NZ\",\"clicks\":3,\"ts\":1700000002000}\n";

fn admin() -> BasicAuth {
    BasicAuth::new("admin", ADMIN_PASSWORD)
}

fn reader() -> BasicAuth {
    BasicAuth::new("reader", READER_PASSWORD)
}

/// Who a request is sent as.
#[derive(Debug, Clone, Copy)]
enum As {
    Anonymous,
    Admin,
    Reader,
    WrongPassword,
}

impl As {
    fn auth(self) -> Option<BasicAuth> {
        match self {
            As::Anonymous => None,
            As::Admin => Some(admin()),
            As::Reader => Some(reader()),
            As::WrongPassword => Some(BasicAuth::new("admin", "not-the-password")),
        }
    }
}

/// The ConfigMap half: factory classes, principals, permissions, table grants.
fn public_properties(role: Role) -> Option<String> {
    match role {
        Role::Controller => Some(
            "controller.admin.access.control.factory.class=\
             org.apache.pinot.controller.api.access.BasicAuthAccessControlFactory\n\
             controller.admin.access.control.principals=admin,reader\n\
             controller.admin.access.control.principals.reader.permissions=READ\n"
                .to_owned(),
        ),
        Role::Broker => Some(format!(
            "pinot.broker.access.control.class=\
             org.apache.pinot.broker.broker.BasicAuthAccessControlFactory\n\
             pinot.broker.access.control.principals=admin,reader\n\
             pinot.broker.access.control.principals.reader.tables={TABLE}\n"
        )),
        Role::Server | Role::Minion => None,
    }
}

/// The Secret half: passwords and `Basic <base64(admin:password)>` tokens.
fn secret_properties(role: Role) -> String {
    let token = admin().token();
    match role {
        // Pinot's docs name `controller.segment.fetcher.auth.token`; 0.11's controller
        // reads `pinot.controller.segment.fetcher.auth.token` (its ingestion endpoint
        // pushes the segment it builds to itself with that token). Both are set.
        Role::Controller => format!(
            "controller.admin.access.control.principals.admin.password={ADMIN_PASSWORD}\n\
             controller.admin.access.control.principals.reader.password={READER_PASSWORD}\n\
             controller.segment.fetcher.auth.token={token}\n\
             pinot.controller.segment.fetcher.auth.token={token}\n"
        ),
        Role::Broker => format!(
            "pinot.broker.access.control.principals.admin.password={ADMIN_PASSWORD}\n\
             pinot.broker.access.control.principals.reader.password={READER_PASSWORD}\n"
        ),
        Role::Server => format!(
            "pinot.server.segment.fetcher.auth.token={token}\n\
             pinot.server.segment.uploader.auth.token={token}\n\
             pinot.server.instance.auth.token={token}\n"
        ),
        Role::Minion => format!(
            "segment.fetcher.auth.token={token}\n\
             task.auth.token={token}\n\
             pinot.minion.segment.fetcher.auth.token={token}\n\
             pinot.minion.task.auth.token={token}\n"
        ),
    }
}

/// Public halves as text testenv writes; secret halves as files of our own, as a
/// mounted Secret would be.
fn options(secrets: &std::path::Path) -> PinotOptions {
    let mut options = PinotOptions::default().with_basic_auth("admin", ADMIN_PASSWORD);
    for role in Role::ALL {
        if let Some(text) = public_properties(role) {
            options = options.with_properties(role, text);
        }
        let file = secrets.join(format!("{}-secret.properties", role.name()));
        std::fs::write(&file, secret_properties(role)).expect("write a secret properties file");
        options = options.with_properties_file(role, file);
    }
    options
}

async fn send(method: Method, url: &str, who: As, body: Option<&Value>) -> (StatusCode, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build an HTTP client");
    let mut request = client.request(method.clone(), url);
    if let Some(auth) = who.auth() {
        request = request.basic_auth(auth.username, Some(auth.password));
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = (request.send().await).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("read the response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn get(url: &str, who: As) -> (StatusCode, Value) {
    send(Method::GET, url, who, None).await
}

fn schema() -> Value {
    json!({
        "schemaName": TABLE,
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

fn offline_table() -> Value {
    json!({
        "tableName": TABLE,
        "tableType": "OFFLINE",
        "segmentsConfig": { "schemaName": TABLE, "timeColumnName": "ts", "replication": "2" },
        "tenants": { "broker": "DefaultTenant", "server": "DefaultTenant" },
        "tableIndexConfig": { "loadMode": "MMAP" },
        "metadata": {}
    })
}

/// The status Pinot refuses anonymous and wrong credentials with: 403 on 0.11 (as for a
/// user lacking a permission), 401 on 1.5.1 (observed outside CI; releases between are
/// taken to be like 1.5.1).
fn unauthenticated(release: Release) -> StatusCode {
    match release >= Release(1, 0, 0) {
        false => StatusCode::FORBIDDEN,
        true => StatusCode::UNAUTHORIZED,
    }
}

/// How the broker refuses a query without valid credentials. 0.11: not with an HTTP
/// error but with a 200 whose only exception has error code 180 (access denied, no
/// message) and no result table. 1.5.1: HTTP 401.
fn assert_query_refused(release: Release, status: StatusCode, body: &Value) {
    if release >= Release(1, 0, 0) {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        return;
    }
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["exceptions"],
        json!([{ "errorCode": 180, "message": null }]),
        "{body}"
    );
    assert!(body.get("resultTable").is_none(), "{body}");
}

async fn query(pinot: &Pinot, who: As, sql: &str) -> (StatusCode, Value) {
    let url = format!("{}/query/sql", pinot.broker_url());
    send(Method::POST, &url, who, Some(&json!({ "sql": sql }))).await
}

/// Polls until every replica of every segment of the table is ONLINE in the external
/// view (the servers downloaded the segment from the controller with their token).
async fn wait_online(pinot: &Pinot, replicas: usize) -> Value {
    let url = format!("{}/tables/{TABLE}/externalview", pinot.controller_url());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, view) = get(&url, As::Admin).await;
        let segments = view["OFFLINE"].as_object().cloned().unwrap_or_default();
        let online = |states: &Value| {
            let states = states.as_object().cloned().unwrap_or_default();
            states.len() == replicas && states.values().all(|s| s == "ONLINE")
        };
        if status == StatusCode::OK && !segments.is_empty() && segments.values().all(online) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "segments not ONLINE on {replicas} servers: {status} {view}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn basic_auth_protects_controller_and_broker_and_segments_still_flow() {
    let secrets = tempfile::tempdir().expect("a directory for the secret files");
    let pinot = match Pinot::start_with(options(secrets.path())) {
        Ok(pinot) => pinot,
        Err(e) => panic!("{e:#}"),
    };
    eprintln!(
        "Pinot with basic auth started in {:?}",
        pinot.startup_time()
    );
    assert_eq!(pinot.basic_auth(), Some(&admin()));
    let controller = pinot.controller_url();

    // Every instance registered and live (start_with waited through the authenticated
    // probes; read it back as a user would).
    let (status, body) = get(&format!("{controller}/instances"), As::Admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut instances: Vec<String> = serde_json::from_value(body["instances"].clone())
        .unwrap_or_else(|e| panic!("GET /instances: {e}: {body}"));
    instances.sort();
    let mut expected = pinot.instance_ids();
    expected.sort();
    assert_eq!(instances, expected);
    let live_path = format!("/{}/LIVEINSTANCES", pinot.cluster_name());
    let url = format!("{controller}/zk/ls?path={live_path}");
    let (status, live) = get(&url, As::Admin).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    for id in &expected {
        assert!(
            live.as_array().unwrap().contains(&json!(id)),
            "{id} not live: {live}"
        );
    }

    // Health stays open; the REST API is closed to anonymous and wrong credentials. Pinot
    // 0.11 answers both with 403 (not 401), as it does a user lacking the permission;
    // 1.5.1 with 401.
    let release = pinot.reported_release().await.expect("GET /version");
    let refused = unauthenticated(release);
    let (status, _) = get(&format!("{controller}/health"), As::Anonymous).await;
    assert_eq!(status, StatusCode::OK);
    let schemas = format!("{controller}/schemas");
    let (anonymous, body) = get(&schemas, As::Anonymous).await;
    eprintln!("controller GET /schemas anonymous: {anonymous} {body}");
    assert_eq!(anonymous, refused, "{body}");
    let (wrong, body) = get(&schemas, As::WrongPassword).await;
    eprintln!("controller GET /schemas wrong password: {wrong} {body}");
    assert_eq!(wrong, refused, "{body}");
    let (status, body) = get(&schemas, As::Admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(&schemas, As::Reader).await;
    assert_eq!(status, StatusCode::OK, "reader reads: {body}");

    // The reader cannot write; the admin can.
    let (status, body) = send(Method::POST, &schemas, As::Reader, Some(&schema())).await;
    eprintln!("controller POST /schemas as reader: {status} {body}");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = get(&format!("{schemas}/{TABLE}"), As::Admin).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the reader's schema was not created"
    );
    let (status, body) = send(Method::POST, &schemas, As::Anonymous, Some(&schema())).await;
    assert_eq!(status, refused, "anonymous POST /schemas: {body}");
    let (status, body) = send(Method::POST, &schemas, As::Admin, Some(&schema())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tables = format!("{controller}/tables");
    let (status, body) = send(Method::POST, &tables, As::Admin, Some(&offline_table())).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // testenv's own ingestion authenticates; the controller pushes the built segment to
    // itself with its token and both servers download it with theirs.
    pinot
        .ingest_json_rows(&format!("{TABLE}_OFFLINE"), ROWS)
        .await;
    let view = wait_online(&pinot, 2).await;
    eprintln!("external view: {view}");

    // The broker refuses anonymous and wrong credentials, answers the admin and the
    // reader (granted this table).
    let sql = format!("SELECT COUNT(*) FROM {TABLE}");
    let (status, body) = query(&pinot, As::Anonymous, &sql).await;
    eprintln!("broker anonymous query: {status} {}", body["exceptions"]);
    assert_query_refused(release, status, &body);
    let (status, body) = query(&pinot, As::WrongPassword, &sql).await;
    eprintln!(
        "broker wrong-password query: {status} {}",
        body["exceptions"]
    );
    assert_query_refused(release, status, &body);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = query(&pinot, As::Admin, &sql).await;
        if status == StatusCode::OK && body.pointer("/resultTable/rows/0/0") == Some(&json!(3)) {
            break;
        }
        assert!(Instant::now() < deadline, "admin query: {status} {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, body) = query(&pinot, As::Reader, &sql).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body.pointer("/resultTable/rows/0/0"),
        Some(&json!(3)),
        "{body}"
    );
    // testenv's own broker queries authenticate too.
    let count = pinot.query_count(&sql).await.expect("Pinot::query_count");
    assert_eq!(count, 3);

    // A restarted controller gets the same properties: still closed, still open to admin.
    pinot.stop_controller();
    pinot.start_controller();
    let (status, body) = get(&schemas, As::Anonymous).await;
    assert_eq!(status, refused, "after restart: {body}");
    let (status, body) = get(&format!("{schemas}/{TABLE}"), As::Admin).await;
    assert_eq!(status, StatusCode::OK, "after restart: {body}");
}

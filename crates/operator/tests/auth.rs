//! The content controllers against a real Pinot started with basic auth on, where
//! Pinot's auth settings are exactly what the operator renders for a deployed
//! cluster with `spec.auth` (public part in the `.conf`, secret part in the file
//! `config.paths` names).

mod common;

use api::auth::{AuthSpec, AuthUser, Permission, SecretKeyRef};
use api::{PinotSchema, PinotTable};
use common::{Harness, auth_secret, resource};
use pinot_operator::cluster::additions::SecretValues;
use pinot_operator::cluster::auth;
use pinot_operator::cluster::component::Component;
use pinot_operator::cluster::config::properties_text;
use serde_json::{Value, json};
use testenv::pinot::{Pinot, PinotOptions, Role};

const ADMIN_PASSWORD: &str = "adm1n-pw";
const READER_PASSWORD: &str = "r3ader-pw";

fn user(name: &str, permissions: Option<Vec<Permission>>) -> AuthUser {
    AuthUser {
        name: name.into(),
        password_secret_ref: SecretKeyRef {
            name: "users".into(),
            key: name.into(),
        },
        permissions,
        tables: None,
    }
}

/// Pinot options holding the operator's rendering of an admin and a read-only user.
fn rendered_auth() -> PinotOptions {
    let spec = AuthSpec {
        admin_user: "admin".into(),
        users: vec![
            user("admin", None),
            user("reader", Some(vec![Permission::Read])),
        ],
    };
    let secrets = SecretValues::from([
        (
            spec.users[0].password_secret_ref.clone(),
            ADMIN_PASSWORD.into(),
        ),
        (
            spec.users[1].password_secret_ref.clone(),
            READER_PASSWORD.into(),
        ),
    ]);
    let mut options = PinotOptions::default().with_basic_auth("admin", ADMIN_PASSWORD);
    for (role, component) in [
        (Role::Controller, Component::Controller),
        (Role::Broker, Component::Broker),
        (Role::Server, Component::Server),
        (Role::Minion, Component::Minion),
    ] {
        let added = auth::additions(&spec, component, &secrets);
        assert!(!properties_text("conf", &added.properties).contains(ADMIN_PASSWORD));
        options = options
            .with_properties(role, properties_text("conf", &added.properties))
            .with_properties(role, properties_text("secret", &added.secret_properties));
    }
    options
}

fn schema(name: &str) -> Value {
    json!({"clusterRef": {"name": "pinot"}, "schema": {"schemaName": name,
        "dimensionFieldSpecs": [{"name": "country", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]}})
}

fn table(name: &str) -> Value {
    json!({"clusterRef": {"name": "pinot"}, "schemaRef": {"name": "events"}, "table": {
        "tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts"},
        "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {}}})
}

#[tokio::test]
async fn content_syncs_through_basic_auth_and_a_wrong_password_is_reported() {
    let pinot = Pinot::start_with(rendered_auth()).expect("Pinot with basic auth");
    let h = Harness::start_on("auth", &pinot).await;
    let name = h.pinot_name("events");

    // The operator authenticates as the admin: create, then a segment queried back.
    h.apply(resource("PinotSchema", "events", schema(&name)))
        .await;
    h.wait_synced::<PinotSchema>("events", "True", "Created")
        .await;
    h.apply(resource("PinotTable", "events", table(&name)))
        .await;
    h.wait_synced::<PinotTable>("events", "True", "Created")
        .await;
    let rows = (0..5)
        .map(|i| json!({"country": "NL", "amount": i, "ts": 1_700_000_000_000u64 + i}).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    pinot
        .ingest_json_rows(&format!("{name}_OFFLINE"), &rows)
        .await;
    common::eventually("5 rows through the authenticated broker", || async {
        pinot
            .query_count(&format!("SELECT COUNT(*) FROM {name}"))
            .await
            .is_ok_and(|n| n == 5)
    })
    .await;

    // A wrong password: a clear condition, the other objects keep syncing.
    h.apply(auth_secret("pinot-admin", "admin", "not-the-password"))
        .await;
    let wrong = h.pinot_name("wrong");
    h.apply(resource("PinotSchema", "wrong", schema(&wrong)))
        .await;
    let message = h
        .wait_synced::<PinotSchema>("wrong", "False", "AccessDenied")
        .await;
    assert!(message.contains("403"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    h.wait_event("wrong", "AccessDenied").await;
    // The reader may read but not create.
    h.apply(auth_secret("pinot-admin", "reader", READER_PASSWORD))
        .await;
    common::eventually("the reader to be refused CREATE", || async {
        h.wait_synced::<PinotSchema>("wrong", "False", "AccessDenied")
            .await
            .contains("Permission is denied for CREATE")
    })
    .await;

    // The right password again: everything converges, nothing was lost.
    h.apply(auth_secret("pinot-admin", "admin", ADMIN_PASSWORD))
        .await;
    h.wait_synced::<PinotSchema>("wrong", "True", "Created")
        .await;
    h.wait_synced::<PinotTable>("events", "True", "InSync")
        .await;
    assert!(h.pinot.get_schema(&name).await.unwrap().is_some());
    assert_eq!(
        pinot
            .query_count(&format!("SELECT COUNT(*) FROM {name}"))
            .await
            .unwrap(),
        5
    );
}

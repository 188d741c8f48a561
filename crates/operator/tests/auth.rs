//! The content controllers against a real Pinot started with basic auth and an HTTPS
//! listener, where Pinot's settings are what the operator renders for a deployed
//! cluster with `spec.auth` and `spec.tls` (public part in the `.conf`, secret part
//! in the file `config.paths` names). The certificate comes from a throwaway CA made
//! with `openssl`.

mod common;

use api::auth::{AuthSpec, AuthUser, Permission, SecretKeyRef};
use api::tls::TlsSpec;
use api::{PinotSchema, PinotTable};
use common::{Harness, auth_secret, resource};
use pinot_operator::cluster::component::Component;
use pinot_operator::cluster::desired::config::properties_text;
use pinot_operator::cluster::desired::features::{auth, tls};
use pinot_operator::secrets::SecretValues;
use serde_json::{Value, json};
use testenv::pinot::{Pinot, PinotOptions, Release, Role};

const ADMIN_PASSWORD: &str = "adm1n-pw";
const READER_PASSWORD: &str = "r3ader-pw";
const KEYSTORE_PASSWORD: &str = "k3ystore-pw";

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

/// A CA, and a PKCS#12 keystore with a certificate for 127.0.0.1 it signed.
struct Certificates {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl Certificates {
    fn make() -> Certificates {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl (installed by scripts/setup.sh)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(dir.path().join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=pinot-operator-test-ca",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ]);
        let pass = format!("pass:{KEYSTORE_PASSWORD}");
        run(&[
            "pkcs12",
            "-export",
            "-in",
            "server.crt",
            "-inkey",
            "server.key",
            "-out",
            "keystore.p12",
            "-passout",
            &pass,
        ]);
        let ca_pem = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
        Certificates { dir, ca_pem }
    }

    fn keystore(&self) -> String {
        self.dir.path().join("keystore.p12").display().to_string()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator's rendering of `spec.tls` for the controller, with the listener on
/// `port` and the keystore at `keystore` instead of the pod's fixed ones.
fn rendered_tls(keystore: &str, port: u16) -> (String, String) {
    let password = SecretKeyRef {
        name: "tls".into(),
        key: "password".into(),
    };
    let spec = TlsSpec {
        secret_name: "pinot-tls".into(),
        keystore_password_secret_ref: password.clone(),
    };
    let secrets = SecretValues::from([(password, KEYSTORE_PASSWORD.into())]);
    let added = tls::additions(&spec, Component::Controller, &secrets);
    let public: Vec<_> = added
        .properties
        .into_iter()
        .map(|(key, value)| match key {
            k if k.ends_with(".https.port") => (k, port.to_string()),
            k if k.ends_with(".keystore.path") => (k, keystore.to_owned()),
            k => (k, value),
        })
        .collect();
    (
        properties_text("tls", &public),
        properties_text("tls secret", &added.secret_properties),
    )
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
async fn content_syncs_through_basic_auth_and_https_and_a_wrong_password_is_reported() {
    let certificates = Certificates::make();
    let https_port = free_port();
    let (tls_conf, tls_secret) = rendered_tls(&certificates.keystore(), https_port);
    let options = rendered_auth()
        .with_properties(Role::Controller, tls_conf)
        .with_properties(Role::Controller, tls_secret);
    let pinot = Pinot::start_with(options).expect("Pinot with basic auth and HTTPS");
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
    // Pinot 0.11 refuses wrong credentials with 403, 1.5.1 with 401.
    let release = pinot.reported_release().await.expect("GET /version");
    let refused = if release >= Release(1, 0, 0) {
        "401"
    } else {
        "403"
    };
    assert!(message.contains(refused), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    h.wait_event("wrong", "AccessDenied").await;
    // "Nothing was lost" below must cover refused syncs: the table (the only one
    // here) is resynced with the wrong password before it is put right.
    common::a_whole_reconcile("the table with the wrong password", || async {
        common::reconciles(&h.metrics, "pinottable")
    })
    .await;
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

    // HTTPS: the operator trusts the CA from a Secret; without it the certificate
    // is refused and said so.
    let https = format!("https://127.0.0.1:{https_port}");
    h.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pinot-ca"},
                   "stringData": {"ca.crt": certificates.ca_pem}}),
    )
    .await;
    for (cluster, trusted) in [("secure", true), ("untrusted", false)] {
        let mut external =
            json!({"controllerUrl": https, "authSecretRef": {"name": "pinot-admin"}});
        if trusted {
            external["caSecretRef"] = json!({"name": "pinot-ca", "key": "ca.crt"});
        }
        h.apply(resource(
            "PinotCluster",
            cluster,
            json!({"external": external}),
        ))
        .await;
        let mut spec = schema(&h.pinot_name(cluster));
        spec["clusterRef"]["name"] = json!(cluster);
        h.apply(resource("PinotSchema", cluster, spec)).await;
    }
    h.wait_synced::<PinotSchema>("secure", "True", "Created")
        .await;
    let message = h
        .wait_synced::<PinotSchema>("untrusted", "False", "PinotUnreachable")
        .await;
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}

//! Builder tests of the production settings: auth, deep storage, plugins.

use crate::pinot::access;
use api::auth::SecretKeyRef;

use super::tests::{HETEROGENEOUS, cluster, conf, container, pod_spec, pool, template_annotation};
use super::*;
use crate::cluster::component::Component;
use crate::cluster::names::CLUSTER_DOMAIN;
use crate::cluster::names::SECRETS_HASH_ANNOTATION;
use crate::secrets::SecretValues;

const PRODUCTION: &str = r#"
  auth:
    adminUser: admin
    users:
      - {name: admin, passwordSecretRef: {name: pinot-users, key: admin}}
      - {name: reader, passwordSecretRef: {name: pinot-users, key: reader}, permissions: [Read], tables: [orders]}
  deepStorage:
    s3:
      uri: s3://segments/analytics
      region: eu-west-1
      accessKeyId: {name: s3, key: id}
      secretAccessKey: {name: s3, key: secret}
  plugins:
    include: [pinot-kafka-2.0]
"#;

fn production_cluster() -> PinotCluster {
    cluster(&HETEROGENEOUS.replace("\n  controller:\n", &format!("{PRODUCTION}  controller:\n")))
}

fn secrets(admin: &str, reader: &str) -> SecretValues {
    let key = |name: &str, key: &str| SecretKeyRef {
        name: name.into(),
        key: key.into(),
    };
    SecretValues::from([
        (key("pinot-users", "admin"), admin.into()),
        (key("pinot-users", "reader"), reader.into()),
        (key("s3", "id"), "AKIA".into()),
        (key("s3", "secret"), "s3-secret".into()),
    ])
}

fn built(admin: &str, reader: &str) -> DesiredCluster {
    build(
        &production_cluster(),
        &secrets(admin, reader),
        CLUSTER_DOMAIN,
    )
    .unwrap()
}

#[test]
fn passwords_reach_the_credentials_secret_and_never_a_config_map() {
    let d = built("admin-pw", "reader-pw");
    for p in &d.pools {
        let text = conf(p);
        assert!(
            !text.contains("admin-pw") && !text.contains("reader-pw"),
            "{text}"
        );
        assert!(!text.contains("s3-secret") && !text.contains("AKIA"));
    }
    let controller = conf(pool(&d, Component::Controller, "main"));
    assert!(controller.contains("controller.admin.access.control.principals=admin,reader"));
    assert!(controller.contains("config.paths=/var/pinot/credentials/pinot.properties"));
    assert!(controller.contains("controller.data.dir=s3://segments/analytics"));
    let secret = d.credentials.as_ref().expect("a credentials Secret");
    assert_eq!(
        secret.metadata.name.as_deref(),
        Some("analytics-credentials")
    );
    let data = secret.data.as_ref().unwrap();
    let text = |key: &str| String::from_utf8(data[key].0.clone()).unwrap();
    assert!(
        text("controller.properties")
            .contains("controller.admin.access.control.principals.reader.password=reader-pw")
    );
    assert!(text("server.properties").contains("pinot.server.segment.uploader.auth.token=Basic "));
    assert!(!text("server.properties").contains("reader-pw"));
}

#[test]
fn every_pinot_pod_mounts_its_roles_credentials_file() {
    let d = built("a", "r");
    for p in d
        .pools
        .iter()
        .filter(|p| p.id.component != Component::Zookeeper)
    {
        let spec = pod_spec(&p.statefulset);
        let volume = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == "credentials")
            .unwrap_or_else(|| panic!("{} has no credentials volume", p.id));
        let items = volume.secret.as_ref().unwrap().items.as_ref().unwrap();
        assert_eq!(items[0].key, format!("{}.properties", p.id.component));
        let mounts = container(&p.statefulset).volume_mounts.as_ref().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m.mount_path == "/var/pinot/credentials")
        );
    }
}

#[test]
fn rotating_a_readers_password_restarts_only_controllers_and_brokers() {
    let before = built("a", "r1");
    let after = built("a", "r2");
    for (b, a) in before.pools.iter().zip(&after.pools) {
        let changed = template_annotation(b, SECRETS_HASH_ANNOTATION)
            != template_annotation(a, SECRETS_HASH_ANNOTATION);
        let expected = matches!(b.id.component, Component::Controller | Component::Broker);
        assert_eq!(changed, expected, "{}", b.id);
    }
    let rotated_admin = built("a2", "r1");
    for (b, a) in before.pools.iter().zip(&rotated_admin.pools) {
        let changed = b.hash != a.hash;
        assert_eq!(changed, b.id.component != Component::Zookeeper, "{}", b.id);
    }
}

#[test]
fn s3_keys_come_from_the_secret_and_the_plugin_is_loaded() {
    let d = built("a", "r");
    let server = container(&pool(&d, Component::Server, "hot").statefulset);
    let env = server.env.as_ref().unwrap();
    let key_id = env.iter().find(|e| e.name == "AWS_ACCESS_KEY_ID").unwrap();
    assert!(key_id.value.is_none());
    let selector = key_id
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (selector.name.as_str(), selector.key.as_str()),
        ("s3", "id")
    );
    let java = env.iter().find(|e| e.name == "JAVA_OPTS").unwrap();
    assert!(
        java.value
            .as_ref()
            .unwrap()
            .contains("-Dplugins.include=pinot-kafka-2.0;pinot-s3")
    );
    let text = conf(pool(&d, Component::Server, "hot"));
    assert!(text.contains(
        "pinot.server.storage.factory.class.s3=org.apache.pinot.plugin.filesystem.S3PinotFS"
    ));
    assert!(text.contains("pinot.server.segment.fetcher.protocols=file,http,s3"));
    // Brokers never touch deep storage.
    let broker = conf(pool(&d, Component::Broker, "default"));
    assert!(!broker.contains("s3"));
}

#[test]
fn the_operator_calls_pinot_as_the_admin() {
    let config = access::deployed_config(&production_cluster(), &secrets("admin-pw", "r")).unwrap();
    assert_eq!(
        config.auth,
        Some(pinot_client::Auth::Basic {
            username: "admin".into(),
            password: "admin-pw".into()
        })
    );
    assert!(
        build(
            &cluster(HETEROGENEOUS),
            &SecretValues::new(),
            CLUSTER_DOMAIN
        )
        .unwrap()
        .credentials
        .is_none()
    );
}

#[test]
fn tls_adds_https_ports_and_the_operator_calls_the_controller_over_https() {
    let yaml = HETEROGENEOUS.replace(
        "\n  controller:\n",
        "\n  tls: {secretName: pinot-tls, keystorePasswordSecretRef: {name: tls-pw, key: password}}\n  controller:\n",
    );
    let key = |name: &str, key: &str| SecretKeyRef {
        name: name.into(),
        key: key.into(),
    };
    let secrets = SecretValues::from([
        (key("tls-pw", "password"), "ks-pw".into()),
        (
            key("pinot-tls", "ca.crt"),
            "-----BEGIN CERTIFICATE-----".into(),
        ),
    ]);
    let d = build(&cluster(&yaml), &secrets, CLUSTER_DOMAIN).unwrap();
    let config = access::deployed_config(&cluster(&yaml), &secrets).unwrap();
    assert_eq!(
        config.base_url.as_str(),
        "https://analytics-controller.data.svc:9443/"
    );
    assert!(config.tls.ca_pem.is_some());
    let controller = pool(&d, Component::Controller, "main");
    let client = &controller.services[1];
    let ports: Vec<_> = client
        .spec
        .as_ref()
        .unwrap()
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [9000, 9443]);
    let container_ports: Vec<_> = container(&controller.statefulset)
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(container_ports, [9000, 9443]);
    assert!(conf(controller).contains("controller.access.protocols=https"));
    assert!(!conf(controller).contains("ks-pw"));
    let broker = pool(&d, Component::Broker, "default");
    assert!(conf(broker).contains("pinot.broker.client.access.protocols.https.port=8443"));
    let server = pool(&d, Component::Server, "hot");
    assert!(!conf(server).contains("https"));
}

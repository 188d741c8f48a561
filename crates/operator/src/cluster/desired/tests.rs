//! Unit tests of the builders on a heterogeneous cluster written as YAML.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, PodSpec};

use super::*;
use crate::cluster::component::Component;
use crate::cluster::names::CLUSTER_DOMAIN;
use crate::cluster::names::CONFIG_HASH_ANNOTATION;
use crate::secrets::SecretValues;

pub(crate) const HETEROGENEOUS: &str = r#"
apiVersion: pinot.operator.dev/v1alpha1
kind: PinotCluster
metadata: {name: analytics, namespace: data, uid: 6b7e2c1a-0000-4000-8000-000000000001}
spec:
  image: apachepinot/pinot:1.5.1
  zookeeper: {managed: {replicas: 1}}
  pinot:
    properties: {pinot.server.query.executor.timeout: "10000", a.b: cluster}
  kubernetes:
    nodeSelector: {type: kwok}
    podLabels: {team: data}
  controller:
    pools: [{name: main, replicas: 2}]
  broker:
    pools: [{name: default, replicas: 2, tenant: DefaultTenant}]
  server:
    pinot: {properties: {a.b: role}}
    kubernetes:
      resources: {limits: {memory: 4Gi}}
    pools:
      - name: hot
        replicas: 3
        tenant: DefaultTenant
        tier: hot
        kubernetes:
          nodeSelector: {pinot.operator.dev/disk: nvme}
          storage: {size: 20Gi, storageClassName: nvme}
      - name: cold
        replicas: 2
        tenant: DefaultTenant
        tier: cold
        pinot: {properties: {a.b: pool}, jvmOptions: "-Xmx1g"}
        kubernetes:
          nodeSelector: {pinot.operator.dev/disk: hdd}
          storage: {size: 50Gi, storageClassName: hdd}
  minion:
    pools: [{name: default, replicas: 1}]
"#;

pub(super) fn cluster(yaml: &str) -> PinotCluster {
    serde_norway::from_str(yaml).unwrap()
}

/// The heterogeneous cluster, built.
pub(crate) fn desired() -> DesiredCluster {
    build(
        &cluster(HETEROGENEOUS),
        &SecretValues::new(),
        CLUSTER_DOMAIN,
    )
    .unwrap()
}

/// Where the heterogeneous cluster's instance ids come from.
pub(crate) const NAMING: crate::cluster::names::Naming<'static> = crate::cluster::names::Naming {
    cluster: "analytics",
    namespace: "data",
    domain: crate::cluster::names::CLUSTER_DOMAIN,
};

pub(super) fn pool<'a>(d: &'a DesiredCluster, component: Component, name: &str) -> &'a DesiredPool {
    d.pools
        .iter()
        .find(|p| p.id == PoolId::new(component, name))
        .unwrap_or_else(|| panic!("no pool {component}/{name}"))
}

pub(super) fn pod_spec(set: &StatefulSet) -> &PodSpec {
    set.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

pub(super) fn container(set: &StatefulSet) -> &Container {
    &pod_spec(set).containers[0]
}

pub(super) fn conf(pool: &DesiredPool) -> &str {
    pool.config_map
        .data
        .as_ref()
        .unwrap()
        .values()
        .next()
        .unwrap()
}

fn config_hash(pool: &DesiredPool) -> &str {
    template_annotation(pool, CONFIG_HASH_ANNOTATION).unwrap()
}

pub(super) fn template_annotation<'a>(pool: &'a DesiredPool, key: &str) -> Option<&'a str> {
    let template = &pool.statefulset.spec.as_ref().unwrap().template;
    let annotations = template.metadata.as_ref()?.annotations.as_ref()?;
    annotations.get(key).map(String::as_str)
}

#[test]
fn pools_come_in_deployment_order() {
    let ids: Vec<String> = desired().pools.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "zookeeper/managed",
            "controller/main",
            "broker/default",
            "server/hot",
            "server/cold",
            "minion/default"
        ]
    );
}

#[test]
fn one_disruption_budget_spans_every_server_pool() {
    let d = desired();
    assert!(pool(&d, Component::Server, "hot").pdb.is_none());
    assert!(pool(&d, Component::Broker, "default").pdb.is_some());
    let pdb = d.server_pdb.as_ref().expect("a server budget");
    assert_eq!(pdb.metadata.name.as_deref(), Some("analytics-server"));
    let spec = pdb.spec.as_ref().unwrap();
    assert_eq!(
        spec.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1))
    );
    let selector = spec
        .selector
        .as_ref()
        .unwrap()
        .match_labels
        .clone()
        .unwrap();
    assert_eq!(
        selector,
        BTreeMap::from([
            (
                "pinot.operator.dev/cluster".to_owned(),
                "analytics".to_owned()
            ),
            (
                "pinot.operator.dev/component".to_owned(),
                "server".to_owned()
            ),
        ]),
        "every server pod of the cluster, whatever its pool"
    );
}

#[test]
fn objects_are_named_labelled_and_owned_by_the_cluster() {
    let d = desired();
    let hot = pool(&d, Component::Server, "hot");
    let metas = [
        &hot.config_map.metadata,
        &hot.services[0].metadata,
        &hot.statefulset.metadata,
    ];
    for meta in metas {
        assert_eq!(meta.name.as_deref(), Some("analytics-server-hot"));
        assert_eq!(meta.namespace.as_deref(), Some("data"));
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels["pinot.operator.dev/cluster"], "analytics");
        assert_eq!(labels["pinot.operator.dev/pool"], "hot");
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.kind, "PinotCluster");
        assert_eq!(owner.name, "analytics");
        assert_eq!(owner.uid, "6b7e2c1a-0000-4000-8000-000000000001");
        assert_eq!(owner.controller, Some(true));
    }
}

#[test]
fn the_controller_client_service_is_cluster_controller_on_9000() {
    let d = desired();
    let main = pool(&d, Component::Controller, "main");
    let client = main
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("analytics-controller"))
        .expect("client Service analytics-controller");
    let spec = client.spec.as_ref().unwrap();
    assert_eq!(spec.ports.as_ref().unwrap()[0].port, 9000);
    assert_eq!(spec.cluster_ip, None);
    let selector = spec.selector.as_ref().unwrap();
    assert_eq!(selector["pinot.operator.dev/component"], "controller");
    assert!(
        !selector.contains_key("pinot.operator.dev/pool"),
        "selects every pool"
    );
    let config =
        crate::pinot::access::deployed_config(&cluster(HETEROGENEOUS), &Default::default());
    assert_eq!(
        config.unwrap().base_url.as_str(),
        "http://analytics-controller.data.svc:9000/"
    );
    // Only the first pool of a role carries the client Service.
    assert_eq!(pool(&d, Component::Server, "cold").services.len(), 1);
}

#[test]
fn headless_services_publish_not_ready_pods() {
    let d = desired();
    let hot = pool(&d, Component::Server, "hot");
    let spec = hot.services[0].spec.as_ref().unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(spec.publish_not_ready_addresses, Some(true));
    let ports: Vec<i32> = spec
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [8098, 8097]);
    let set = hot.statefulset.spec.as_ref().unwrap();
    assert_eq!(set.service_name.as_deref(), Some("analytics-server-hot"));
}

#[test]
fn conf_renders_with_cluster_role_pool_precedence() {
    let d = desired();
    let cold = conf(pool(&d, Component::Server, "cold"));
    let hot = conf(pool(&d, Component::Server, "hot"));
    let broker = conf(pool(&d, Component::Broker, "default"));
    assert!(cold.contains("\na.b=pool\n"), "{cold}");
    assert!(hot.contains("\na.b=role\n"), "{hot}");
    assert!(broker.contains("\na.b=cluster\n"), "{broker}");
    assert!(hot.contains("pinot.server.query.executor.timeout=10000"));
    assert!(hot.contains("pinot.zk.server=analytics-zookeeper.data.svc:2181"));
    assert!(hot.contains("pinot.cluster.name=analytics"));
    assert!(hot.contains("pinot.set.instance.id.to.hostname=true"));
    assert!(broker.contains("pinot.broker.instance.tags=DefaultTenant_BROKER"));
}

#[test]
fn jvm_heap_is_derived_from_the_memory_limit_unless_set() {
    let d = desired();
    let java_opts = |p: &DesiredPool| {
        container(&p.statefulset).env.as_ref().unwrap()[0]
            .value
            .clone()
            .unwrap()
    };
    let hot = java_opts(pool(&d, Component::Server, "hot"));
    assert!(hot.ends_with("-Xms2048m -Xmx2048m"), "{hot}");
    let cold = java_opts(pool(&d, Component::Server, "cold"));
    assert!(
        cold.ends_with(" -Xmx1g") && !cold.contains("-Xms"),
        "{cold}"
    );
    let broker = java_opts(pool(&d, Component::Broker, "default"));
    assert!(
        !broker.contains("-Xmx"),
        "no limit, no heap flags: {broker}"
    );
}

#[test]
fn volume_claims_only_for_controllers_servers_and_zookeeper() {
    let d = desired();
    for p in &d.pools {
        let claims = p
            .statefulset
            .spec
            .as_ref()
            .unwrap()
            .volume_claim_templates
            .as_ref();
        let expected = matches!(
            p.id.component,
            Component::Controller | Component::Server | Component::Zookeeper
        );
        assert_eq!(claims.is_some(), expected, "{}", p.id);
    }
    let hot = pool(&d, Component::Server, "hot");
    let claim = &hot
        .statefulset
        .spec
        .as_ref()
        .unwrap()
        .volume_claim_templates
        .as_ref()
        .unwrap()[0];
    let spec = claim.spec.as_ref().unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("nvme"));
    assert_eq!(
        spec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"].0,
        "20Gi"
    );
    let mounts = container(&hot.statefulset).volume_mounts.as_ref().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m.name == "data" && m.mount_path == "/var/pinot/server/data")
    );
    let controller = pool(&d, Component::Controller, "main");
    let claim = &controller
        .statefulset
        .spec
        .as_ref()
        .unwrap()
        .volume_claim_templates
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        claim.spec.as_ref().unwrap().storage_class_name,
        None,
        "cluster default class"
    );
}

/// The names of a pool's claim templates.
fn claim_names(pool: &DesiredPool) -> Vec<String> {
    let spec = pool.statefulset.spec.as_ref().unwrap();
    let claims = spec.volume_claim_templates.iter().flatten();
    claims.map(|c| c.metadata.name.clone().unwrap()).collect()
}

#[test]
fn minions_keep_data_on_a_claim_when_asked_and_every_role_gets_extra_claims() {
    let yaml = HETEROGENEOUS
        .replace(
            "  minion:\n",
            "  minion:\n    kubernetes: {storage: {size: 5Gi}}\n",
        )
        .replace(
            "    podLabels: {team: data}\n",
            "    podLabels: {team: data}\n    volumeClaims: [{name: logs, mountPath: /var/log/pinot, size: 1Gi}]\n",
        )
        .replace(
            "zookeeper: {managed: {replicas: 1}}",
            "zookeeper: {managed: {replicas: 1, kubernetes: {volumeClaims: [{name: snap, mountPath: /snap, size: 2Gi}]}}}",
        );
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    let minion = pool(&d, Component::Minion, "default");
    assert_eq!(claim_names(minion), ["data", "logs"]);
    let volumes = pod_spec(&minion.statefulset).volumes.iter().flatten();
    assert!(
        volumes.clone().all(|v| v.name != "data"),
        "no emptyDir left"
    );
    let mounts = container(&minion.statefulset)
        .volume_mounts
        .clone()
        .unwrap();
    let at = |name: &str| {
        mounts
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.mount_path.clone())
    };
    assert_eq!(at("data").as_deref(), Some("/var/pinot/minion/data"));
    assert_eq!(at("logs").as_deref(), Some("/var/log/pinot"));
    assert_eq!(
        claim_names(pool(&d, Component::Broker, "default")),
        ["logs"]
    );
    assert_eq!(
        claim_names(pool(&d, Component::Server, "hot")),
        ["data", "logs"]
    );
    assert_eq!(
        claim_names(pool(&d, Component::Zookeeper, "managed")),
        ["data", "snap"]
    );
    // Without `storage` on the minion role or pool, scratch space is an emptyDir.
    let plain = pool(&desired(), Component::Minion, "default").clone();
    assert!(claim_names(&plain).is_empty());
}

#[test]
fn storage_on_brokers_or_a_clashing_claim_is_refused() {
    let broker = HETEROGENEOUS.replace(
        "  broker:\n",
        "  broker:\n    kubernetes: {storage: {size: 5Gi}}\n",
    );
    let why = build(&cluster(&broker), &SecretValues::new(), CLUSTER_DOMAIN).unwrap_err();
    assert!(
        why.to_string()
            .contains("spec.broker.kubernetes.storage: brokers keep no data"),
        "{why}"
    );
    let clash = HETEROGENEOUS.replace(
        "    podLabels: {team: data}\n",
        "    podLabels: {team: data}\n    volumeClaims: [{name: config, mountPath: /x, size: 1Gi}]\n",
    );
    let why = build(&cluster(&clash), &SecretValues::new(), CLUSTER_DOMAIN).unwrap_err();
    assert!(
        why.to_string().contains("config is already a volume"),
        "{why}"
    );
}

#[test]
fn probes_hit_pinot_health_endpoints() {
    let d = desired();
    let cases = [
        (Component::Controller, "main", "/health", "/health", 9000),
        (Component::Broker, "default", "/health", "/health", 8099),
        (
            Component::Server,
            "hot",
            "/health/readiness",
            "/health/liveness",
            8097,
        ),
        (Component::Minion, "default", "/health", "/health", 9514),
    ];
    for (component, name, readiness, liveness, port) in cases {
        let c = container(&pool(&d, component, name).statefulset);
        let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
            let get = p.as_ref().unwrap().http_get.as_ref().unwrap();
            (get.path.clone().unwrap(), get.port.clone())
        };
        let (ready_path, ready_port) = path(&c.readiness_probe);
        assert_eq!(ready_path, readiness, "{component}");
        assert_eq!(path(&c.liveness_probe).0, liveness, "{component}");
        assert!(c.startup_probe.is_some(), "{component}");
        let port_name = match ready_port {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s,
            other => panic!("{other:?}"),
        };
        let container_port = c
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .find(|p| p.name.as_deref() == Some(port_name.as_str()))
            .unwrap();
        assert_eq!(container_port.container_port, port, "{component}");
    }
}

#[test]
fn a_custom_port_moves_container_port_and_instance_port_but_not_the_client_port() {
    let yaml = HETEROGENEOUS.replace(
        "pools: [{name: main, replicas: 2}]",
        "pinot: {properties: {controller.port: \"9443\"}}\n    pools: [{name: main, replicas: 2}]",
    );
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    let main = pool(&d, Component::Controller, "main");
    assert_eq!(
        container(&main.statefulset).ports.as_ref().unwrap()[0].container_port,
        9443
    );
    assert_eq!(main.instance_port, Some(9443));
    let port = |service: &k8s_openapi::api::core::v1::Service| {
        service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].clone()
    };
    assert_eq!(
        port(&main.services[0]).port,
        9443,
        "headless: the real port"
    );
    // Clients (and the content controllers) always find the controller on 9000.
    let client = port(&main.services[1]);
    assert_eq!(client.port, 9000);
    assert_eq!(
        client.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into()))
    );
}

#[test]
fn statefulsets_roll_on_delete_and_run_as_non_root() {
    for p in &desired().pools {
        let spec = p.statefulset.spec.as_ref().unwrap();
        let strategy = spec.update_strategy.as_ref().unwrap();
        assert_eq!(strategy.type_.as_deref(), Some("OnDelete"), "{}", p.id);
        assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
        let pod = pod_spec(&p.statefulset);
        let security = pod.security_context.as_ref().unwrap();
        assert_eq!(security.run_as_non_root, Some(true));
        assert_eq!(security.fs_group, Some(1000));
        let c = &pod.containers[0].security_context.as_ref().unwrap();
        assert_eq!(c.allow_privilege_escalation, Some(false));
    }
}

#[test]
fn grace_periods_leave_pinot_time_to_drain() {
    let d = desired();
    let grace = |c, n| pod_spec(&pool(&d, c, n).statefulset).termination_grace_period_seconds;
    assert_eq!(grace(Component::Server, "hot"), Some(300));
    assert_eq!(grace(Component::Broker, "default"), Some(90));
    assert_eq!(grace(Component::Controller, "main"), Some(30));
}

#[test]
fn only_brokers_keep_serving_a_while_after_deletion() {
    let d = desired();
    let pre_stop = |c, n| {
        let pod = pod_spec(&pool(&d, c, n).statefulset);
        let hook = pod.containers[0]
            .lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.clone());
        hook.and_then(|h| h.sleep).map(|s| s.seconds)
    };
    let broker = pre_stop(Component::Broker, "default").expect("a broker preStop sleep");
    assert!(
        broker < 90 - 10,
        "sleep and Pinot's 10 s delay fit the grace period"
    );
    assert_eq!(pre_stop(Component::Server, "hot"), None);
    assert_eq!(pre_stop(Component::Controller, "main"), None);
}

#[test]
fn scheduling_settings_merge_per_pool() {
    let d = desired();
    let hot = pod_spec(&pool(&d, Component::Server, "hot").statefulset);
    let selector = hot.node_selector.as_ref().unwrap();
    assert_eq!(selector["type"], "kwok");
    assert_eq!(selector["pinot.operator.dev/disk"], "nvme");
    let cold = pod_spec(&pool(&d, Component::Server, "cold").statefulset);
    assert_eq!(
        cold.node_selector.as_ref().unwrap()["pinot.operator.dev/disk"],
        "hdd"
    );
    let labels = pool(&d, Component::Server, "cold")
        .statefulset
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    assert_eq!(labels["team"], "data");
    assert_eq!(labels["pinot.operator.dev/pool"], "cold");
}

#[test]
fn a_pool_property_changes_only_that_pools_config_hash() {
    let before = desired();
    let yaml = HETEROGENEOUS.replace("{a.b: pool}", "{a.b: pool, pinot.server.x: \"1\"}");
    let after = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    for (b, a) in before.pools.iter().zip(&after.pools) {
        let changed = a.id == PoolId::new(Component::Server, "cold");
        assert_eq!(config_hash(b) != config_hash(a), changed, "{}", a.id);
        assert_eq!(b.hash != a.hash, changed, "{}", a.id);
    }
}

#[test]
fn an_image_change_changes_every_pinot_pool_but_not_zookeeper() {
    let before = desired();
    let yaml = HETEROGENEOUS.replace("apachepinot/pinot:1.5.1", "apachepinot/pinot:1.5.2");
    let after = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    for (b, a) in before.pools.iter().zip(&after.pools) {
        let pinot = a.id.component != Component::Zookeeper;
        assert_eq!(b.hash != a.hash, pinot, "{}", a.id);
    }
    assert_eq!(after.image, "apachepinot/pinot:1.5.2");
}

#[test]
fn stopped_scales_every_workload_to_zero() {
    let yaml = HETEROGENEOUS.replace("spec:\n", "spec:\n  stopped: true\n");
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    for p in &d.pools {
        assert_eq!(p.replicas, 0);
        assert_eq!(p.statefulset.spec.as_ref().unwrap().replicas, Some(0));
    }
    // Stopping keeps the configuration: the ZooKeeper ensemble is still listed.
    let zoo_cfg = &d.pools[0].config_map.data.as_ref().unwrap()["zoo.cfg"];
    assert!(zoo_cfg.contains("server.1="), "{zoo_cfg}");
}

#[test]
fn the_applied_hash_is_stamped_on_the_statefulset() {
    for p in &desired().pools {
        let annotations = p.statefulset.metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations["pinot.operator.dev/applied-hash"], p.hash);
    }
}

#[test]
fn external_zookeeper_has_no_pool_and_keeps_its_chroot() {
    let yaml = HETEROGENEOUS.replace(
        "zookeeper: {managed: {replicas: 1}}",
        "zookeeper: {external: {connectString: \"zk-0:2181,zk-1:2181\", chroot: /pinot/a}}",
    );
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    assert_eq!(d.pools[0].id, PoolId::new(Component::Controller, "main"));
    assert!(conf(&d.pools[0]).contains("controller.zk.str=zk-0:2181,zk-1:2181/pinot/a"));
}

#[test]
fn zookeeper_lists_its_members_and_derives_ids_from_ordinals() {
    let yaml = HETEROGENEOUS.replace("{managed: {replicas: 1}}", "{managed: {replicas: 3}}");
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    let zk = &d.pools[0];
    let cfg = &zk.config_map.data.as_ref().unwrap()["zoo.cfg"];
    assert!(cfg.contains(
        "server.3=analytics-zookeeper-2.analytics-zookeeper-headless.data.svc.cluster.local:2888:3888"
    ));
    assert!(cfg.contains("standaloneEnabled=false"));
    assert!(zk.config_map.data.as_ref().unwrap()["start.sh"].contains("ordinal + 1"));
    let names: Vec<_> = zk
        .services
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        ["analytics-zookeeper-headless", "analytics-zookeeper"]
    );
}

#[test]
fn servers_and_brokers_expect_tenant_and_tier_tags() {
    let d = desired();
    assert_eq!(
        pool(&d, Component::Server, "cold").tags,
        [
            "DefaultTenant_OFFLINE",
            "DefaultTenant_REALTIME",
            "cold_OFFLINE",
            "cold_REALTIME"
        ]
    );
    assert_eq!(
        pool(&d, Component::Broker, "default").tags,
        ["DefaultTenant_BROKER"]
    );
    assert!(pool(&d, Component::Minion, "default").tags.is_empty());
}

#[test]
fn server_pools_get_pinot_pools_by_position_or_as_declared() {
    let d = desired();
    let pools = |name: &str| pool(&d, Component::Server, name).pinot_pools.clone();
    let expected = |n: i32| {
        BTreeMap::from([
            ("DefaultTenant_OFFLINE".to_owned(), n),
            ("DefaultTenant_REALTIME".to_owned(), n),
        ])
    };
    assert_eq!(pools("hot"), expected(0), "the first server pool");
    assert_eq!(pools("cold"), expected(1), "the second server pool");
    assert!(
        pool(&d, Component::Broker, "default")
            .pinot_pools
            .is_empty()
    );

    let declared = HETEROGENEOUS.replace("tier: cold\n", "tier: cold\n        pinotPool: 7\n");
    let d = build(&cluster(&declared), &Default::default(), CLUSTER_DOMAIN).unwrap();
    assert_eq!(pool(&d, Component::Server, "cold").pinot_pools, expected(7));
}

#[test]
fn a_cluster_without_uid_or_with_a_bad_spec_is_refused() {
    let no_uid = HETEROGENEOUS.replace(", uid: 6b7e2c1a-0000-4000-8000-000000000001", "");
    assert_eq!(
        build(&cluster(&no_uid), &SecretValues::new(), CLUSTER_DOMAIN)
            .unwrap_err()
            .reason(),
        "InvalidSpec"
    );
}

#[test]
fn zookeeper_is_ready_only_while_it_serves_and_alive_while_it_runs() {
    let d = desired();
    let c = container(&pool(&d, Component::Zookeeper, "managed").statefulset);
    let command = c.readiness_probe.as_ref().unwrap().exec.as_ref().unwrap();
    let script = command.command.as_ref().unwrap().join(" ");
    assert!(
        script.contains("printf srvr") && script.contains("^Mode: "),
        "{script}"
    );
    let liveness = c
        .liveness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(liveness.path.as_deref(), Some("/commands/ruok"));
}

#[test]
fn the_broker_service_settings_reach_its_client_service_only() {
    let yaml = HETEROGENEOUS.replace(
        "  broker:\n",
        "  broker:\n    service:\n      type: LoadBalancer\n      annotations: {lb.example/internal: \"true\"}\n      loadBalancerSourceRanges: [10.0.0.0/8]\n      externalTrafficPolicy: Local\n      extraPorts: [{name: metrics, port: 9102}]\n",
    );
    let d = build(&cluster(&yaml), &SecretValues::new(), CLUSTER_DOMAIN).unwrap();
    let broker = pool(&d, Component::Broker, "default");
    let client = (broker.services.iter())
        .find(|s| s.metadata.name.as_deref() == Some("analytics-broker"))
        .unwrap();
    let spec = client.spec.as_ref().unwrap();
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
    assert_eq!(
        spec.load_balancer_source_ranges,
        Some(vec!["10.0.0.0/8".into()])
    );
    assert_eq!(
        client.metadata.annotations.as_ref().unwrap()["lb.example/internal"],
        "true"
    );
    let ports: Vec<(&str, i32)> = (spec.ports.iter().flatten())
        .map(|p| (p.name.as_deref().unwrap(), p.port))
        .collect();
    assert_eq!(ports, [("http", 8099), ("metrics", 9102)]);
    let headless = &broker.services[0];
    assert_eq!(
        headless.spec.as_ref().unwrap().type_,
        None,
        "headless stays the operator's"
    );
    let controller = pool(&d, Component::Controller, "main");
    assert_eq!(
        controller.services[1]
            .spec
            .as_ref()
            .unwrap()
            .type_
            .as_deref(),
        Some("ClusterIP")
    );

    let clash = yaml.replace("{name: metrics, port: 9102}", "{name: http, port: 9102}");
    let Err(ClusterError::InvalidSpec(why)) =
        build(&cluster(&clash), &SecretValues::new(), CLUSTER_DOMAIN)
    else {
        panic!("accepted a port named like the role's")
    };
    assert_eq!(
        why,
        "spec.broker.service: extra port http (9102) collides with the role's port http (8099)"
    );
}

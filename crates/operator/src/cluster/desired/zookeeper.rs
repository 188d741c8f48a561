//! A managed ZooKeeper ensemble: ConfigMap (`zoo.cfg` + start script), headless and
//! client Services, PDB and StatefulSet.

use std::collections::BTreeMap;
use std::fmt::Write;

use api::cluster::ManagedZookeeper;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, PodTemplateSpec, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta::{hash, object_meta};
use super::pod::{container_security_context, env, env_var, exec_probe, pod_spec, probes};
use super::workload::{
    DATA_VOLUME, SetParts, client_service, headless_service, pod_disruption_budget, service_port,
    statefulset, volume_claim,
};
use super::{DesiredPool, Scope, claims, overrides};
use crate::cluster::component::Component;
use crate::cluster::desired::jvm::heap_options;
use crate::cluster::desired::merge::merge_kubernetes;
use crate::cluster::error::ClusterError;
use crate::cluster::names::{
    CONFIG_HASH_ANNOTATION, PoolId, ZOOKEEPER_CLIENT_PORT, client_service as client_service_name,
    pod_fqdn, pod_name,
};

/// Image used when `zookeeper.managed.image` is unset. Not 3.9.3: a member that
/// rejoins after a restart can silently miss committed data there (ZOOKEEPER-4925,
/// fixed in 3.9.4). The real-pod test hit it: after a rolling restart of the
/// ensemble, one member lacked a segment's metadata znode the other two held, its
/// AdminServer counted 505 digest mismatches, and a Pinot server reading through it
/// failed to load the segment (`ERROR`).
pub const DEFAULT_ZOOKEEPER_IMAGE: &str = "zookeeper:3.9.4";
const CONF_DIR: &str = "/conf";
/// The AdminServer's port (`/commands/...`).
pub const ADMIN_PORT: i32 = 8080;
const PORTS: [(&str, i32); 4] = [
    ("client", ZOOKEEPER_CLIENT_PORT),
    ("follower", 2888),
    ("election", 3888),
    ("admin", ADMIN_PORT),
];

/// Each member's id is its ordinal + 1, written before ZooKeeper starts, so the
/// same `zoo.cfg` serves every member.
const START_SCRIPT: &str = "#!/usr/bin/env bash
set -euo pipefail
ordinal=\"${HOSTNAME##*-}\"
echo $((ordinal + 1)) > /data/myid
exec zkServer.sh --config /conf start-foreground
";

/// Ready means serving as a member of the quorum (or standalone). `ruok` answers as
/// soon as the process runs, before the member has joined the ensemble, so a rollout
/// waiting on it could stop a second member while the first is still syncing and
/// lose the quorum. `srvr` prints `Mode:` only while the member serves. Plain bash:
/// the image needs no `nc`.
const SERVING: &str = "exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && grep -q '^Mode: ' <&3";

pub fn zookeeper_pool(
    scope: &Scope<'_>,
    managed: &ManagedZookeeper,
) -> Result<DesiredPool, ClusterError> {
    let id = PoolId::zookeeper();
    let name = scope.name;
    let workload = id.workload(name);
    let meta = |object: String| object_meta(object, scope.namespace, id.labels(name), &scope.owner);
    let settings = merge_kubernetes(Default::default(), &managed.kubernetes);
    let zoo_cfg = zoo_cfg(scope, managed.replicas);
    let config_map = ConfigMap {
        metadata: meta(workload.clone()),
        data: Some(BTreeMap::from([
            ("zoo.cfg".to_owned(), zoo_cfg.clone()),
            ("start.sh".to_owned(), START_SCRIPT.to_owned()),
        ])),
        ..ConfigMap::default()
    };
    let ports = PORTS.iter().map(|(n, p)| service_port(n, *p)).collect();
    let services = vec![
        headless_service(meta(id.headless_service(name)), id.selector(name), ports),
        client_service(
            meta(client_service_name(name, Component::Zookeeper)),
            id.selector(name),
            vec![service_port("client", ZOOKEEPER_CLIENT_PORT)],
        ),
    ];
    let image = managed
        .image
        .clone()
        .unwrap_or_else(|| DEFAULT_ZOOKEEPER_IMAGE.to_owned());
    let mut container = Container {
        name: "zookeeper".into(),
        image: Some(image.clone()),
        command: Some(vec!["bash".into(), format!("{CONF_DIR}/start.sh")]),
        env: Some(env(
            vec![env_var(
                "JVMFLAGS",
                heap_options(settings.resources.as_ref()).unwrap_or_default(),
            )],
            &settings,
        )),
        ports: Some(
            PORTS
                .iter()
                .map(|(n, p)| ContainerPort {
                    name: Some((*n).into()),
                    container_port: *p,
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        resources: settings.resources.clone(),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".into(),
                mount_path: CONF_DIR.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: DATA_VOLUME.into(),
                mount_path: "/data".into(),
                ..VolumeMount::default()
            },
        ]),
        security_context: Some(container_security_context()),
        ..Container::default()
    };
    // The AdminServer answers `ruok` over HTTP: alive, though not necessarily serving.
    probes(&mut container, "admin", "/commands/ruok", "/commands/ruok");
    container.readiness_probe = Some(exec_probe(&["bash", "-c", SERVING], 5, 3));
    let volumes = vec![Volume {
        name: "config".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: workload.clone(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }];
    let mut labels = settings.pod_labels.clone();
    labels.extend(id.labels(name));
    let mut annotations = settings.pod_annotations.clone();
    annotations.insert(CONFIG_HASH_ANNOTATION.into(), hash(&zoo_cfg));
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec(container, volumes, &settings, 30)),
    };
    let levels = [managed.kubernetes.pod_overrides.as_ref()];
    let mut template = overrides::apply(template, &levels, "zookeeper").map_err(|why| {
        ClusterError::InvalidSpec(format!("zookeeper.managed.kubernetes.podOverrides: {why}"))
    })?;
    let extra = &settings.volume_claims;
    let extra = claims::attach(&mut template, "zookeeper", extra, &[DATA_VOLUME])
        .map_err(|why| ClusterError::InvalidSpec(format!("zookeeper.managed.kubernetes.{why}")))?;
    let storage = settings.storage.clone().unwrap_or_default();
    let size = managed
        .storage
        .clone()
        .or(storage.size)
        .unwrap_or_else(|| Quantity(Component::Zookeeper.default_storage().into()));
    let replicas = if scope.stopped { 0 } else { managed.replicas };
    let statefulset = statefulset(SetParts {
        meta: meta(workload.clone()),
        service_name: id.headless_service(name),
        replicas,
        selector: id.selector(name),
        template,
        claims: std::iter::once(volume_claim(size, storage.storage_class_name))
            .chain(extra)
            .collect(),
    });
    let pdb = Some(pod_disruption_budget(meta(workload), id.selector(name)));
    Ok(DesiredPool::new(DesiredPool {
        id,
        replicas,
        image,
        tags: vec![],
        pinot_pools: Default::default(),
        instance_port: None,
        config_map,
        services,
        pdb,
        statefulset,
        hash: String::new(),
    }))
}

/// `zoo.cfg` listing every member by its stable DNS name. Members listen on all
/// addresses because a pod's own name resolves only through the headless Service.
fn zoo_cfg(scope: &Scope<'_>, replicas: i32) -> String {
    let id = PoolId::zookeeper();
    let mut cfg = String::from(
        "dataDir=/data
clientPort=2181
tickTime=2000
initLimit=10
syncLimit=5
maxClientCnxns=0
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
4lw.commands.whitelist=ruok,srvr,mntr
admin.enableServer=true
admin.serverPort=8080
quorumListenOnAllIPs=true
reconfigEnabled=false
",
    );
    let _ = writeln!(cfg, "standaloneEnabled={}", replicas == 1);
    let workload = id.workload(scope.name);
    let service = id.headless_service(scope.name);
    for ordinal in 0..replicas {
        let pod = pod_name(&workload, ordinal);
        let host = pod_fqdn(&pod, &service, scope.namespace, scope.domain);
        let _ = writeln!(cfg, "server.{}={host}:2888:3888", ordinal + 1);
    }
    cfg
}

//! The objects of one Pinot pool: ConfigMap with the rendered `.conf`, headless
//! Service, the role's client Service (carried by the role's first pool), PDB and
//! StatefulSet.

use std::collections::BTreeMap;

use api::cluster::{PoolSpec, RoleSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    PodReadinessGate, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::credentials::{
    RoleExtras, SECRET_DIR, SECRET_FILE, credentials_secret_name, service_account_name,
};
use super::meta::{hash, object_meta};
use super::pod::{
    container_security_context, env, env_var, pod_spec, pre_stop_sleep, probes, read_only_mount,
    secret_key_volume,
};
use super::workload::{
    DATA_VOLUME, SetParts, client_service, customize, headless_service, pod_disruption_budget,
    service_port, statefulset, volume_claim,
};
use super::{DesiredPool, PinotScope, claims, overrides};
use crate::cluster::component::Component;
use crate::cluster::desired::config::{ConfInput, RenderedConf, render};
use crate::cluster::desired::jvm::java_opts;
use crate::cluster::desired::merge::{PoolSettings, pool_settings};
use crate::cluster::error::ClusterError;
use crate::cluster::names::{
    CONFIG_HASH_ANNOTATION, PoolId, ROUTABLE_CONDITION, SECRETS_HASH_ANNOTATION,
    client_service as client_service_name, common_labels,
};

const CONFIG_VOLUME: &str = "config";
/// The Pinot container's name (what `podOverrides` may not rename).
const MAIN_CONTAINER: &str = "pinot";
const CREDENTIALS_VOLUME: &str = "credentials";
const MINION_DATA_DIR: &str = "/var/pinot/minion/data";

/// Builds pool number `index` (in spec order) of a Pinot role.
pub fn pinot_pool(
    cx: &PinotScope<'_>,
    component: Component,
    role: &RoleSpec,
    pool: &PoolSpec,
    index: usize,
) -> Result<DesiredPool, ClusterError> {
    let carries_client_service = index == 0;
    let id = PoolId::new(component, &pool.name);
    let spec = cx.spec;
    let settings = pool_settings(
        &[&spec.pinot, &role.pinot, &pool.pinot],
        &[&spec.kubernetes, &role.kubernetes, &pool.kubernetes],
    );
    let extras = cx.production.role(component);
    let conf = render(&ConfInput {
        component,
        cluster_name: &cx.cluster_name,
        zookeeper: &cx.zookeeper,
        tenant: pool.tenant.as_deref(),
        properties: &settings.pinot.properties,
        production: &extras.additions.properties,
        secret_file: extras.secret_key.as_ref().map(|_| SECRET_FILE),
    });
    let mut ports: Vec<(&'static str, i32)> = component
        .ports()
        .iter()
        .map(|p| (p.name, conf.port(p.key, p.default)))
        .collect();
    ports.extend(extras.additions.extra_ports.iter().copied());
    let name = cx.scope.name;
    let workload = id.workload(name);
    let meta =
        |object: String, labels| object_meta(object, cx.scope.namespace, labels, &cx.scope.owner);
    let (_, file) = component.config_path();
    let config_map = ConfigMap {
        metadata: meta(workload.clone(), id.labels(name)),
        data: Some(BTreeMap::from([(file, conf.text.clone())])),
        ..ConfigMap::default()
    };
    let mut services = vec![headless_service(
        meta(id.headless_service(name), id.labels(name)),
        id.selector(name),
        ports.iter().map(|(n, p)| service_port(n, *p)).collect(),
    )];
    if carries_client_service {
        let labels = common_labels(name, component);
        let mut selector = labels.clone();
        selector.retain(|k, _| k.starts_with("pinot.operator.dev/"));
        // The client Service keeps the role's well-known ports whatever the pods
        // listen on (it targets ports by name), so `<cluster>-controller:9000` holds.
        let own = component.ports().into_iter().map(|p| (p.name, p.default));
        let well_known = own
            .chain(extras.additions.extra_ports.iter().copied())
            .map(|(name, port)| service_port(name, port))
            .collect();
        let mut service = client_service(
            meta(client_service_name(name, component), labels),
            selector,
            well_known,
        );
        if let Some(settings) = &role.service {
            customize(&mut service, settings).map_err(|why| {
                ClusterError::InvalidSpec(format!("spec.{component}.service: {why}"))
            })?;
        }
        services.push(service);
    }
    let image = pool.image.as_deref().unwrap_or(&cx.image);
    let data_dir = claimed_data_dir(component, role, pool);
    let parts = TemplateParts {
        image,
        data_dir,
        settings: &settings,
        conf: &conf,
        ports: &ports,
        extras: &extras,
    };
    let template = pod_template(cx, &id, &parts);
    let levels = [&spec.kubernetes, &role.kubernetes, &pool.kubernetes];
    let levels = levels.map(|k| k.pod_overrides.as_ref());
    let mut template = overrides::apply(template, &levels, MAIN_CONTAINER).map_err(|why| {
        ClusterError::InvalidSpec(format!("{id}: kubernetes.podOverrides: {why}"))
    })?;
    let extra_claims = &settings.kubernetes.volume_claims;
    let extra_claims = claims::attach(&mut template, MAIN_CONTAINER, extra_claims, &[DATA_VOLUME])
        .map_err(|why| ClusterError::InvalidSpec(format!("{id}: kubernetes.{why}")))?;
    let data_claim = data_dir.map(|_| claim(component, &settings));
    let claims = data_claim.into_iter().chain(extra_claims).collect();
    let replicas = if cx.scope.stopped { 0 } else { pool.replicas };
    let statefulset = statefulset(SetParts {
        meta: meta(workload.clone(), id.labels(name)),
        service_name: id.headless_service(name),
        replicas,
        selector: id.selector(name),
        template,
        claims,
    });
    let pdb = (component != Component::Server)
        .then(|| pod_disruption_budget(meta(workload, id.labels(name)), id.selector(name)));
    Ok(DesiredPool::new(DesiredPool {
        id,
        replicas,
        image: image.to_owned(),
        tags: expected_tags(component, pool),
        pinot_pools: expected_pinot_pools(component, pool, index),
        instance_port: Some(ports[0].1),
        config_map,
        services,
        pdb,
        statefulset,
        hash: String::new(),
    }))
}

/// The Pinot instance pool of a server pool's instances, for each of its tenant's
/// tags: `pinotPool`, else the pool's position among the server pools. Pinot keys
/// pools by tag, so a pool without a tenant gets none.
pub fn expected_pinot_pools(
    component: Component,
    pool: &PoolSpec,
    index: usize,
) -> BTreeMap<String, i32> {
    let (Component::Server, Some(tenant)) = (component, &pool.tenant) else {
        return BTreeMap::new();
    };
    let number = pool.pinot_pool.unwrap_or(index as i32);
    ["OFFLINE", "REALTIME"]
        .iter()
        .map(|kind| (format!("{tenant}_{kind}"), number))
        .collect()
}

/// Pinot tags the operator keeps on the pool's instances: tenant tags, and for
/// servers the tier as a tag of its own (what a table's `tierConfigs[].serverTag`
/// names). Pools with neither keep whatever tags Pinot or a person gave them.
pub fn expected_tags(component: Component, pool: &PoolSpec) -> Vec<String> {
    let mut tags = Vec::new();
    match component {
        Component::Server => {
            for name in pool.tenant.iter().chain(pool.tier.iter()) {
                tags.push(format!("{name}_OFFLINE"));
                tags.push(format!("{name}_REALTIME"));
            }
        }
        Component::Broker => tags.extend(pool.tenant.iter().map(|t| format!("{t}_BROKER"))),
        _ => {}
    }
    tags.sort();
    tags.dedup();
    tags
}

fn claim(
    component: Component,
    settings: &PoolSettings,
) -> k8s_openapi::api::core::v1::PersistentVolumeClaim {
    let storage = settings.kubernetes.storage.clone().unwrap_or_default();
    let size = storage
        .size
        .unwrap_or_else(|| Quantity(component.default_storage().into()));
    volume_claim(size, storage.storage_class_name)
}

/// Where the pool keeps data on a claim of its own: controllers and servers always,
/// minions when their role or pool sets `kubernetes.storage` (a cluster-wide size is
/// meant for the roles that keep data), brokers never (validation refuses it there).
fn claimed_data_dir(
    component: Component,
    role: &RoleSpec,
    pool: &PoolSpec,
) -> Option<&'static str> {
    let asked = role.kubernetes.storage.is_some() || pool.kubernetes.storage.is_some();
    match component {
        Component::Minion if asked => Some(MINION_DATA_DIR),
        _ => component.data_dir(),
    }
}

/// What a pool's pod template is built from.
struct TemplateParts<'a> {
    image: &'a str,
    /// Where the data claim is mounted, if the pool has one.
    data_dir: Option<&'static str>,
    settings: &'a PoolSettings,
    conf: &'a RenderedConf,
    ports: &'a [(&'static str, i32)],
    extras: &'a RoleExtras,
}

fn pod_template(cx: &PinotScope<'_>, id: &PoolId, parts: &TemplateParts<'_>) -> PodTemplateSpec {
    let TemplateParts {
        image,
        data_dir,
        settings,
        conf,
        ports,
        extras,
    } = *parts;
    let component = id.component;
    let k8s = &settings.kubernetes;
    let (config_dir, _) = component.config_path();
    let mut mounts = vec![read_only_mount(CONFIG_VOLUME, &config_dir)];
    let mut volumes = vec![Volume {
        name: CONFIG_VOLUME.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: id.workload(cx.scope.name),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }];
    match data_dir {
        Some(dir) => mounts.push(data_mount(dir)),
        None if component == Component::Minion => {
            // Minion task scratch space: needed while a task runs, never after.
            mounts.push(data_mount(MINION_DATA_DIR));
            volumes.push(Volume {
                name: DATA_VOLUME.into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            });
        }
        None => {}
    }
    let added = &extras.additions;
    if let Some(key) = &extras.secret_key {
        mounts.push(read_only_mount(CREDENTIALS_VOLUME, SECRET_DIR));
        volumes.push(credentials_volume(cx.scope.name, key));
    }
    mounts.extend(added.mounts.iter().cloned());
    volumes.extend(added.volumes.iter().cloned());
    let mut operator_env = vec![env_var(
        "JAVA_OPTS",
        java_opts(
            component,
            settings.pinot.jvm_options.as_deref(),
            k8s.resources.as_ref(),
            &added.jvm_flags,
        ),
    )];
    operator_env.extend(added.env.iter().cloned());
    let mut container = Container {
        name: MAIN_CONTAINER.into(),
        image: Some(image.into()),
        args: Some(args(cx, component)),
        env: Some(env(operator_env, k8s)),
        ports: Some(
            ports
                .iter()
                .map(|(name, port)| ContainerPort {
                    name: Some((*name).into()),
                    container_port: *port,
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        resources: k8s.resources.clone(),
        volume_mounts: Some(mounts),
        security_context: Some(container_security_context()),
        ..Container::default()
    };
    let (readiness, liveness) = component.health_paths();
    probes(&mut container, component.health_port(), readiness, liveness);
    container.lifecycle = component.pre_stop_seconds().map(pre_stop_sleep);

    let mut labels = k8s.pod_labels.clone();
    labels.extend(id.labels(cx.scope.name));
    let mut annotations = k8s.pod_annotations.clone();
    annotations.insert(CONFIG_HASH_ANNOTATION.into(), hash(&conf.text));
    if let Some(secrets) = &extras.secrets_hash {
        annotations.insert(SECRETS_HASH_ANNOTATION.into(), secrets.clone());
    }
    let mut spec = pod_spec(container, volumes, k8s, component.default_grace_seconds());
    if component == Component::Server {
        spec.readiness_gates = Some(vec![PodReadinessGate {
            condition_type: ROUTABLE_CONDITION.into(),
        }]);
    }
    if !added.init_containers.is_empty() {
        spec.init_containers = Some(added.init_containers.clone());
    }
    let workload_identity = cx.production.service_account.is_some()
        && matches!(
            component,
            Component::Controller | Component::Server | Component::Minion
        );
    if workload_identity && spec.service_account_name.is_none() {
        spec.service_account_name = Some(service_account_name(cx.scope.name));
    }
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    }
}

/// The role's file of the credentials Secret, as `pinot.properties`.
fn credentials_volume(cluster: &str, key: &str) -> Volume {
    let secret = credentials_secret_name(cluster);
    secret_key_volume(CREDENTIALS_VOLUME, &secret, key, "pinot.properties")
}

fn data_mount(dir: &str) -> VolumeMount {
    VolumeMount {
        name: DATA_VOLUME.into(),
        mount_path: dir.into(),
        ..VolumeMount::default()
    }
}

/// `pinot-admin.sh` arguments (the image's entrypoint). The start commands other than
/// the controller's override the file's cluster name and ZooKeeper with their own
/// defaults unless given on the command line, so those two are passed explicitly.
fn args(cx: &PinotScope<'_>, component: Component) -> Vec<String> {
    let (dir, file) = component.config_path();
    let mut args = vec![component.start_command().to_owned()];
    if component != Component::Controller {
        args.extend([
            "-clusterName".to_owned(),
            cx.cluster_name.clone(),
            "-zkAddress".to_owned(),
            cx.zookeeper.clone(),
        ]);
    }
    args.extend(["-configFileName".to_owned(), format!("{dir}/{file}")]);
    args
}

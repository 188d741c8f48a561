//! The Kubernetes objects every pool is made of — Services, PodDisruptionBudget,
//! StatefulSet, volume claim — independent of what runs in the pod.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec, Service, ServicePort,
    ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use api::service::ServiceSettings;

use crate::cluster::component::Component;
use crate::cluster::desired::Scope;
use crate::cluster::desired::meta::object_meta;
use crate::cluster::names::{self, CLUSTER_LABEL, COMPONENT_LABEL, common_labels};

/// Name of the data volume (and of its claim template).
pub const DATA_VOLUME: &str = "data";

pub fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}

/// Headless Service: stable per-pod DNS names. Not-ready pods are published because
/// Pinot instances and ZooKeeper peers must resolve each other before they are ready.
pub fn headless_service(
    meta: ObjectMeta,
    selector: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
) -> Service {
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// Client Service: load-balances over the ready pods of every pool of a role.
pub fn client_service(
    meta: ObjectMeta,
    selector: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
) -> Service {
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The role's `service:` settings applied to its client Service, or why they cannot
/// be: an extra port may not reuse a name or number of the role's own ports.
pub fn customize(service: &mut Service, settings: &ServiceSettings) -> Result<(), String> {
    let spec = service.spec.get_or_insert_default();
    let ports = spec.ports.get_or_insert_default();
    for extra in &settings.extra_ports {
        let taken =
            (ports.iter()).find(|p| p.name.as_ref() == Some(&extra.name) || p.port == extra.port);
        if let Some(own) = taken {
            return Err(format!(
                "extra port {} ({}) collides with the role's port {} ({})",
                extra.name,
                extra.port,
                own.name.as_deref().unwrap_or_default(),
                own.port
            ));
        }
        ports.push(ServicePort {
            name: Some(extra.name.clone()),
            port: extra.port,
            target_port: Some(IntOrString::Int(extra.target_port.unwrap_or(extra.port))),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        });
    }
    if let Some(kind) = settings.type_ {
        spec.type_ = Some(kind.as_str().into());
    }
    spec.load_balancer_source_ranges = settings.load_balancer_source_ranges.clone();
    spec.external_traffic_policy = (settings.external_traffic_policy).map(|p| p.as_str().into());
    if !settings.annotations.is_empty() {
        let annotations = service.metadata.annotations.get_or_insert_default();
        annotations.extend(settings.annotations.clone());
    }
    Ok(())
}

/// The budget over every server pod of the cluster, named `<cluster>-server`.
pub fn server_disruption_budget(scope: &Scope<'_>) -> PodDisruptionBudget {
    let labels = common_labels(scope.name, Component::Server);
    let selector = BTreeMap::from([
        (CLUSTER_LABEL.to_owned(), scope.name.to_owned()),
        (
            COMPONENT_LABEL.to_owned(),
            Component::Server.as_str().to_owned(),
        ),
    ]);
    let name = names::client_service(scope.name, Component::Server);
    let meta = object_meta(name, scope.namespace, labels, &scope.owner);
    pod_disruption_budget(meta, selector)
}

/// Voluntary disruptions (node drains) take at most one pod of a pool at a time.
pub fn pod_disruption_budget(
    meta: ObjectMeta,
    selector: BTreeMap<String, String>,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: meta,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

pub fn volume_claim(size: Quantity, storage_class: Option<String>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage_class,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), size)])),
                limits: None,
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

/// What a StatefulSet is made of.
pub struct SetParts {
    pub meta: ObjectMeta,
    pub service_name: String,
    pub replicas: i32,
    pub selector: BTreeMap<String, String>,
    pub template: PodTemplateSpec,
    pub claims: Vec<PersistentVolumeClaim>,
}

/// A StatefulSet the operator rolls itself: `OnDelete` so the StatefulSet controller
/// never restarts pods on its own (the operator deletes outdated pods at the pace the
/// rollout allows), and `Parallel` so pods of a pool start together (their order
/// carries no meaning for Pinot or a ZooKeeper ensemble). Claims are kept when the
/// set shrinks or is deleted: data is only ever removed by a person.
pub fn statefulset(parts: SetParts) -> StatefulSet {
    StatefulSet {
        metadata: parts.meta,
        spec: Some(StatefulSetSpec {
            service_name: Some(parts.service_name),
            replicas: Some(parts.replicas),
            selector: LabelSelector {
                match_labels: Some(parts.selector),
                match_expressions: None,
            },
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".into()),
                rolling_update: None,
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            revision_history_limit: Some(5),
            template: parts.template,
            volume_claim_templates: (!parts.claims.is_empty()).then_some(parts.claims),
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

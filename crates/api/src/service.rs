//! `spec.broker.service` and `spec.controller.service`: how clients reach a role through
//! its client Service (`<cluster>-broker`, `<cluster>-controller`). Headless Services
//! stay the operator's.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The role's client Service, beyond its ports and selector (which the operator sets).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.externalTrafficPolicy) || (has(self.type) && self.type != 'ClusterIP')")
    .message("externalTrafficPolicy needs type NodePort or LoadBalancer"))]
#[x_kube(validation = Rule::new("!has(self.loadBalancerSourceRanges) || (has(self.type) && self.type == 'LoadBalancer')")
    .message("loadBalancerSourceRanges needs type LoadBalancer"))]
pub struct ServiceSettings {
    /// `ClusterIP` (the default), `NodePort` or `LoadBalancer`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<ServiceType>,
    /// Annotations of the Service, e.g. a cloud load balancer's settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Client CIDRs a LoadBalancer admits (e.g. `10.0.0.0/8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub load_balancer_source_ranges: Option<Vec<String>>,
    /// `Cluster` or `Local`: whether node traffic may hop to a pod on another node
    /// (`Local` keeps the client's source address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// Ports added to the role's own, e.g. a sidecar's metrics port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    #[schemars(length(max = 8))]
    pub extra_ports: Vec<ExtraServicePort>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum TrafficPolicy {
    Cluster,
    Local,
}

impl TrafficPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficPolicy::Cluster => "Cluster",
            TrafficPolicy::Local => "Local",
        }
    }
}

/// A Service port that is not one of the role's.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraServicePort {
    /// Port name, unique in the Service (not one of the role's: `http`, `https`, ...).
    #[x_kube(validation = Rule::new("self.matches('^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$')")
        .message("port name must be 1-15 lower-case letters, digits or '-', starting with a letter"))]
    #[schemars(length(max = 15))]
    pub name: String,
    /// Port the Service listens on.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 65535").message("port must be between 1 and 65535"))]
    pub port: i32,
    /// Container port the traffic goes to; `port` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 65535").message("targetPort must be between 1 and 65535"))]
    pub target_port: Option<i32>,
}

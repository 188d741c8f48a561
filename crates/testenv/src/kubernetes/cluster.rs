//! The objects every test can rely on: KWOK nodes and storage classes, and the checks
//! that say the control plane is ready to use.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::{Node, NodeStatus, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Client;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};

use super::control_plane::Processes;
use super::provisioner::{PROVISIONER, RESIZE_PARAMETER};

/// How many KWOK nodes the environment has: `kwok-node-0` .. `kwok-node-3`.
pub const NODE_COUNT: usize = 4;
/// The storage classes tests may name; `standard` is the default class. Volumes of
/// `offline` grow their file system only when remounted, as some drivers do (see
/// the provisioner).
pub const STORAGE_CLASSES: [&str; 4] = ["standard", "nvme", "hdd", "offline"];
/// Label on every KWOK node, also KWOK's `--manage-nodes-with-label-selector`.
pub const KWOK_NODE_LABEL: (&str, &str) = ("type", "kwok");
/// Node label describing its disk: `nvme` on nodes 0 and 1, `hdd` on nodes 2 and 3.
pub const DISK_LABEL: &str = "pinot.operator.dev/disk";

const POLL: Duration = Duration::from_millis(100);

/// `kwok-node-<index>`.
pub fn node_name(index: usize) -> String {
    format!("kwok-node-{index}")
}

/// A KWOK node: zones alternate so spreading constraints have two zones to use, disks
/// come in pairs so node selectors can pick a pool. No taints, so pods need no
/// tolerations. Capacity is set at creation; KWOK keeps what it finds there.
pub fn node(index: usize) -> Node {
    let name = node_name(index);
    let zone = if index.is_multiple_of(2) {
        "zone-a"
    } else {
        "zone-b"
    };
    let disk = if index < 2 { "nvme" } else { "hdd" };
    let labels = BTreeMap::from([
        (KWOK_NODE_LABEL.0.to_owned(), KWOK_NODE_LABEL.1.to_owned()),
        ("kubernetes.io/hostname".to_owned(), name.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), "amd64".to_owned()),
        ("topology.kubernetes.io/zone".to_owned(), zone.to_owned()),
        (DISK_LABEL.to_owned(), disk.to_owned()),
    ]);
    let resources = BTreeMap::from([
        ("cpu".to_owned(), Quantity("32".to_owned())),
        ("memory".to_owned(), Quantity("256Gi".to_owned())),
        ("pods".to_owned(), Quantity("110".to_owned())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        status: Some(NodeStatus {
            capacity: Some(resources.clone()),
            allocatable: Some(resources),
            ..NodeStatus::default()
        }),
        ..Node::default()
    }
}

/// A storage class served by the test environment's own provisioner. Binding is
/// Immediate because the provisioner ignores topology (every volume fits every node).
pub fn storage_class(name: &str) -> StorageClass {
    let mut annotations = BTreeMap::new();
    if name == STORAGE_CLASSES[0] {
        annotations.insert(
            "storageclass.kubernetes.io/is-default-class".to_owned(),
            "true".to_owned(),
        );
    }
    StorageClass {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.to_owned(),
        reclaim_policy: Some("Delete".to_owned()),
        volume_binding_mode: Some("Immediate".to_owned()),
        allow_volume_expansion: Some(true),
        parameters: (name == "offline")
            .then(|| BTreeMap::from([(RESIZE_PARAMETER.to_owned(), "offline".to_owned())])),
        ..StorageClass::default()
    }
}

/// Creates the storage classes and the KWOK nodes.
pub async fn create_objects(client: &Client) -> anyhow::Result<()> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    for name in STORAGE_CLASSES {
        classes
            .create(&PostParams::default(), &storage_class(name))
            .await
            .with_context(|| format!("create StorageClass {name}"))?;
    }
    let nodes: Api<Node> = Api::all(client.clone());
    for index in 0..NODE_COUNT {
        nodes
            .create(&PostParams::default(), &node(index))
            .await
            .with_context(|| format!("create Node {}", node_name(index)))?;
    }
    Ok(())
}

/// True when the apiserver answers `/readyz` with ok.
pub async fn apiserver_ready(client: &Client) -> anyhow::Result<bool> {
    let request = http::Request::get("/readyz").body(Vec::new())?;
    Ok(client
        .request_text(request)
        .await
        .is_ok_and(|body| body.trim() == "ok"))
}

/// True when every KWOK node is Ready and untainted. The taint check matters: new nodes
/// carry `node.kubernetes.io/not-ready:NoSchedule` until the node lifecycle controller
/// sees them Ready, and until then the scheduler places nothing there.
pub async fn nodes_ready(client: &Client) -> anyhow::Result<bool> {
    let selector = format!("{}={}", KWOK_NODE_LABEL.0, KWOK_NODE_LABEL.1);
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default().labels(&selector))
        .await?;
    let ready = nodes.items.iter().filter(|n| node_schedulable(n)).count();
    Ok(ready == NODE_COUNT)
}

pub(crate) fn node_schedulable(node: &Node) -> bool {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conds| {
            conds
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|taints| !taints.is_empty());
    ready && !tainted
}

/// True once the service-account controller has created `default` in `namespace`; the
/// ServiceAccount admission plugin rejects pods in a namespace until then.
pub async fn default_service_account_exists(
    client: &Client,
    namespace: &str,
) -> anyhow::Result<bool> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    Ok(accounts.get_opt("default").await?.is_some())
}

/// Polls `probe` until it says true, failing early if a control-plane process dies.
/// Probe errors count as "not yet": components come up in any order.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    processes: &mut Processes,
    probe: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    crate::wait::wait_until(what, timeout, POLL, processes, probe).await
}

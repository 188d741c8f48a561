//! The operator installed the way users install it: an image built here from the
//! release binary (the Dockerfile's layout), imported into the real node, and
//! `helm install` of `charts/pinot-operator` with two replicas, leader election and
//! the chart's RBAC as the only permissions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use tokio::task::JoinHandle;

use testenv::kubernetes::{Kubernetes, operator_image_layout};
use testenv::versions::component_dir;

/// Namespace the chart is installed into (the leader-election Lease lives there too).
pub const NAMESPACE: &str = "pinot-operator";
pub const RELEASE: &str = "pinot-operator";
/// Label selecting the operator's pods (the chart's selector labels).
pub const POD_SELECTOR: &str = "app.kubernetes.io/name=pinot-operator";

/// `<target>/release/pinot-operator`, which `scripts/test.sh` builds before the tests
/// (next to this test's own `<target>/debug/...`).
fn release_binary() -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let target =
        (test_binary.ancestors().nth(3)).expect("the test binary lives in <target>/<profile>/deps");
    let binary = target.join("release/pinot-operator");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release -p pinot-operator` \
         (scripts/test.sh does)",
        binary.display()
    );
    binary
}

/// Builds (or finds cached) the operator image and imports it; returns its name.
pub fn operator_image(k8s: &Kubernetes) -> String {
    let layout = operator_image_layout(&release_binary())
        .unwrap_or_else(|e| panic!("build the operator image: {e:#}"));
    let names = k8s
        .import_images(&layout)
        .unwrap_or_else(|e| panic!("import the operator image: {e:#}"));
    names
        .into_iter()
        .find(|n| n.contains("/pinot-operator:"))
        .expect("the layout holds the operator image")
}

fn helm(k8s: &Kubernetes) -> Command {
    let bin = component_dir("helm", "HELM_VERSION").join("bin/helm");
    assert!(
        bin.exists(),
        "{} is missing: run tools/build-helm.sh",
        bin.display()
    );
    let mut command = Command::new(bin);
    command.env("KUBECONFIG", k8s.kubeconfig_path());
    command
}

/// `helm install` of the chart: 2 replicas on the real node, watching `watched`.
pub fn install(k8s: &Kubernetes, image: &str, watched: &str, resync_seconds: u32) {
    let (repository, tag) = image
        .rsplit_once(':')
        .expect("an image reference with a tag");
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../charts/pinot-operator");
    let output = helm(k8s)
        .args(["install", RELEASE])
        .arg(chart)
        .args([
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--wait",
            "--timeout",
            "5m",
        ])
        .args(["--set", &format!("image.repository={repository}")])
        .args(["--set", &format!("image.tag={tag}")])
        .args(["--set", "replicaCount=2"])
        .args(["--set", &format!("watchNamespaces={{{watched}}}")])
        .args(["--set", &format!("resyncSeconds={resync_seconds}")])
        .args(["--set", "nodeSelector.type=real"])
        .args(["--set", "logFormat=text"])
        .output()
        .expect("run helm");
    assert!(
        output.status.success(),
        "helm install failed:\n{}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        k8s.kubectl_output(&["get", "pods,events", "-n", NAMESPACE, "-o", "wide"])
    );
}

/// The Lease the replicas elect a leader with (the chart's default name).
const LEASE: &str = "pinot-operator-leader";

/// Deletes the pod holding the leader Lease (as a node drain or `kubectl delete`
/// would); returns its name.
pub async fn delete_leader(k8s: &Kubernetes) -> String {
    let client = k8s.client().await;
    let lease = Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .get(LEASE)
        .await
        .expect("the leader Lease exists");
    let leader = lease
        .spec
        .and_then(|s| s.holder_identity)
        .expect("the Lease has a holder");
    Api::<Pod>::namespaced(client, NAMESPACE)
        .delete(&leader, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete the leading operator pod {leader}: {e}"));
    leader
}

/// The counter of external-view reads in the operator's metrics: one per Pinot pool
/// per reconcile that asked Pinot whether a pool is healthy.
const GATE_CALLS: &str = r#"pinot_operator_pinot_api_calls_total{endpoint="GET /tables/{name}/externalview",outcome="ok"}"#;
/// The counter of broker routing-table reads: asked before server pods restart.
const ROUTING_CALLS: &str = r#"pinot_operator_pinot_api_calls_total{endpoint="GET /debug/routingTable/{table}",outcome="ok"}"#;

/// What the operator asked Pinot during a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Consulted {
    /// External views read (the rollout's health gates).
    pub views: u64,
    /// Broker routing tables read (servers taken out of routing before a restart).
    pub routes: u64,
}

/// Samples every operator pod's [`GATE_CALLS`] and [`ROUTING_CALLS`] every 2 s over a
/// window (pods may come and go in it), so the test can tell what the operator asked.
pub struct PinotCalls {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Consulted>,
}

impl PinotCalls {
    pub fn start(k8s: &'static Kubernetes) -> PinotCalls {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let client = k8s.client().await;
            let pods: Api<Pod> = Api::namespaced(client, NAMESPACE);
            // Per pod and counter: the first and last value seen.
            let mut seen: BTreeMap<(String, &str), (u64, u64)> = BTreeMap::new();
            loop {
                let last_round = flag.load(Ordering::Relaxed);
                for (key, value) in sample(&pods).await {
                    let entry = seen.entry(key).or_insert((value, value));
                    entry.1 = value;
                }
                if last_round {
                    let grown = |counter: &str| -> u64 {
                        (seen.iter())
                            .filter(|((_, c), _)| *c == counter)
                            .map(|(_, (first, last))| last - first)
                            .sum()
                    };
                    return Consulted {
                        views: grown(GATE_CALLS),
                        routes: grown(ROUTING_CALLS),
                    };
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
        PinotCalls { stop, task }
    }

    /// What the operator asked during the window.
    pub async fn stop(self) -> Consulted {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the sampler does not panic")
    }
}

/// `((pod, counter), value)` of every operator pod that answers.
async fn sample(pods: &Api<Pod>) -> Vec<((String, &'static str), u64)> {
    let list = pods.list(&ListParams::default().labels(POD_SELECTOR)).await;
    let mut out = vec![];
    for pod in list.map(|l| l.items).unwrap_or_default() {
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
            continue;
        };
        let url = format!("http://{ip}:8080/metrics");
        let Ok(response) = reqwest::get(&url).await else {
            continue;
        };
        let text = response.text().await.unwrap_or_default();
        for counter in [GATE_CALLS, ROUTING_CALLS] {
            let value = (text.lines())
                .find(|l| l.starts_with(counter))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0);
            out.push(((pod.name_any(), counter), value));
        }
    }
    out
}

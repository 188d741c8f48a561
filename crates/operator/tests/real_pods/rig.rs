//! What the real-pod tests share: the environment with a real node, the namespace, the
//! deployed cluster's Pinot reached through its Services' ClusterIPs (as a client in
//! the cluster would), and waits that say what they saw when they time out.

use std::future::Future;
use std::time::{Duration, Instant};

use api::PinotCluster;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use pinot_client::{Auth, ClientConfig, PinotClient};
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;

pub const ADMIN_PASSWORD: &str = "admin-secret";
pub const READER_PASSWORD: &str = "reader-secret";

pub struct Rig {
    pub k8s: &'static Kubernetes,
    pub client: Client,
    pub ns: String,
    pub cluster: String,
}

impl Rig {
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Server-side applies `object` (a full manifest) in the rig's namespace.
    pub async fn apply(&self, object: Value) {
        crate::common::apply(&self.client, &self.ns, object).await;
    }

    /// Merges `patch` into the PinotCluster's spec.
    pub async fn patch_cluster(&self, patch: Value) {
        self.api::<PinotCluster>()
            .patch(
                &self.cluster,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": patch })),
            )
            .await
            .unwrap_or_else(|e| panic!("patch PinotCluster {}: {e}", self.cluster));
    }

    pub async fn cluster(&self) -> PinotCluster {
        self.api::<PinotCluster>().get(&self.cluster).await.unwrap()
    }

    /// `http://<ClusterIP>:<port>` of Service `name`.
    pub async fn service_url(&self, name: &str, port: u16) -> String {
        let service = self.api::<Service>().get(name).await.unwrap();
        let ip = service
            .spec
            .and_then(|s| s.cluster_ip)
            .unwrap_or_else(|| panic!("Service {name} has no ClusterIP"));
        format!("http://{ip}:{port}")
    }

    /// The deployed cluster's controller, as its admin, through its client Service.
    pub async fn pinot(&self) -> PinotClient {
        let url = self
            .service_url(&format!("{}-controller", self.cluster), 9000)
            .await;
        let mut config = ClientConfig::new(url.parse().unwrap());
        config.timeout = Duration::from_secs(30);
        config.auth = Some(Auth::Basic {
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
        });
        PinotClient::new(config).unwrap()
    }

    /// `http://<broker Service ClusterIP>:8099`.
    pub async fn broker_url(&self) -> String {
        self.service_url(&format!("{}-broker", self.cluster), 8099)
            .await
    }

    pub async fn pods(&self) -> Vec<Pod> {
        let selector = format!("pinot.operator.dev/cluster={}", self.cluster);
        let params = ListParams::default().labels(&selector);
        self.api::<Pod>().list(&params).await.unwrap().items
    }

    /// What a person would look at when a wait times out.
    pub fn diagnostics(&self) -> String {
        let kubectl = |args: &[&str]| self.k8s.kubectl_output(args);
        format!(
            "--- pods\n{}\n--- PinotCluster\n{}\n--- events\n{}\n--- operator\n{}",
            kubectl(&["get", "pods", "-n", &self.ns, "-o", "wide"]),
            kubectl(&["get", "pinotcluster", "-n", &self.ns, "-o", "yaml"]),
            kubectl(&["get", "events", "-n", &self.ns, "--sort-by=.lastTimestamp"]),
            kubectl(&[
                "logs",
                "-n",
                crate::install::NAMESPACE,
                "-l",
                crate::install::POD_SELECTOR,
                "--tail=40",
                "--prefix",
            ]),
        )
    }

    /// Polls `check` every second until it yields, for up to `limit`; panics with
    /// [`Rig::diagnostics`].
    pub async fn wait_for<T, F, Fut>(&self, what: &str, limit: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n{}",
                    self.diagnostics()
                );
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Waits until the cluster reports the current generation rolled out and available.
    pub async fn wait_settled(&self, limit: Duration) -> PinotCluster {
        self.wait_for("the rollout to complete", limit, || async {
            let cluster = self.cluster().await;
            settled(&cluster).then_some(cluster)
        })
        .await
    }
}

/// Available, not progressing, for the current generation.
pub fn settled(cluster: &PinotCluster) -> bool {
    let Some(status) = &cluster.status else {
        return false;
    };
    let current = status.observed_generation == cluster.metadata.generation;
    let is = |type_: &str, value: &str| {
        status
            .conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == value)
    };
    current && is("Available", "True") && is("Progressing", "False")
}

/// `Basic <base64>` of a user.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// The name of pod `ordinal` of a pool's StatefulSet.
pub fn pod_name(cluster: &str, role: &str, pool: &str, ordinal: u32) -> String {
    format!("{cluster}-{role}-{pool}-{ordinal}")
}

/// Names of the pods among `pods` in state `ready`.
pub fn ready(pods: &[Pod]) -> Vec<String> {
    pods.iter()
        .filter(|p| {
            (p.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .map(|p| p.name_any())
        .collect()
}

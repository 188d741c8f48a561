//! A real Kubernetes control plane on loopback: etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler as built by `tools/build-kubernetes.sh`,
//! plus KWOK playing kubelet for four fake nodes, and a small hostPath provisioner so
//! PersistentVolumeClaims bind.
//!
//! Nothing is mocked: workloads go through the real admission chain, controllers and
//! scheduler; only the kubelet is simulated (KWOK marks scheduled pods Running and
//! Ready — after the delay in a pod's [`READY_DELAY_ANNOTATION`], if it has one — and
//! finishes deletions at once). Tests share one environment per test binary
//! ([`Kubernetes::shared`]) and isolate themselves by namespace
//! ([`Kubernetes::create_namespace`]).
//!
//! Nodes `kwok-node-0..3` are labelled `type=kwok`, `kubernetes.io/hostname=<name>`,
//! `topology.kubernetes.io/zone=zone-a|zone-b` (alternating) and
//! `pinot.operator.dev/disk=nvme` (0, 1) or `hdd` (2, 3); 32 CPUs, 256Gi, 110 pods each,
//! no taints. StorageClasses `standard` (default), `nvme`, `hdd` and `offline` bind
//! immediately; `offline` volumes finish growing only when a new pod mounts them.
//!
//! Everything lives in a temporary directory removed on teardown; set `TESTENV_KEEP=1`
//! to keep it (logs are under `logs/`). A failed start always keeps it.
//!
//! [`Kubernetes::start_with`] with [`KubernetesOptions::real_node`] (or
//! [`Kubernetes::shared_with_real_node`]) adds one real node, `real-node-0`
//! (`type=real`, `pinot.operator.dev/node=real`): containerd, kubelet, kube-proxy and
//! CoreDNS running real pods from images built here. Pods choose it by node selector;
//! see [`real_node`] and `docs/test-environment.md`. Addresses are in [`network`].

mod cluster;
mod control_plane;
mod kubeconfig;
pub mod network;
mod pki;
mod provisioner;
pub mod real_node;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use tempfile::TempDir;

use crate::process::{free_port, port_open};
use crate::shared::{self, Environment, Shared, lock};
use crate::wait::on_own_runtime;
use cluster::wait_until;
use control_plane::{Binaries, EtcdPorts, Layout, Processes};
use pki::Pki;
use provisioner::Provisioner;
use real_node::RealNode;

pub use cluster::{DISK_LABEL, KWOK_NODE_LABEL, NODE_COUNT, STORAGE_CLASSES, node_name};
pub use control_plane::READY_DELAY_ANNOTATION;
pub use provisioner::PROVISIONER;
pub use real_node::{
    REAL_NODE_LABEL, REAL_NODE_NAME, REAL_NODE_TYPE_LABEL, operator_image_layout, pinot_image,
    pinot_next_image, zookeeper_image,
};

/// Generous bounds: a cold page cache or a loaded 2-core machine slows every step.
const ETCD_TIMEOUT: Duration = Duration::from_secs(30);
const APISERVER_TIMEOUT: Duration = Duration::from_secs(90);
const CONTROLLERS_TIMEOUT: Duration = Duration::from_secs(60);
const LOG_TAIL_LINES: usize = 25;

/// A running Kubernetes test environment; everything stops when it is dropped.
pub struct Kubernetes {
    kubeconfig: PathBuf,
    startup: Duration,
    namespaces: AtomicU64,
    // Teardown order: provisioner (a client of the apiserver), the real node (its
    // containers first), then the processes in reverse start order, then the directory
    // they wrote to.
    provisioner: Mutex<Option<Provisioner>>,
    real_node: Mutex<Option<RealNode>>,
    processes: Mutex<Processes>,
    dir: Mutex<Option<TempDir>>,
}

/// What [`Kubernetes::start_with`] starts besides the control plane and KWOK nodes.
#[derive(Debug, Clone, Copy, Default)]
pub struct KubernetesOptions {
    /// One real node (`real-node-0`) that runs pods: needs root, cgroup v1, containerd
    /// and the images from `tools/build-images.sh`; fails (never skips) without them.
    /// One per machine at a time.
    pub real_node: bool,
}

static SHARED: Shared<Kubernetes> = Shared::new();
static SHARED_REAL_NODE: Shared<Kubernetes> = Shared::new();

impl Kubernetes {
    /// Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK on
    /// free loopback ports and waits until nodes are Ready and the `default`
    /// ServiceAccount exists. Blocking; safe to call from inside a tokio runtime (the
    /// async work runs on a thread of its own).
    pub fn start() -> anyhow::Result<Kubernetes> {
        Kubernetes::start_with(KubernetesOptions::default())
    }

    /// [`Kubernetes::start`], plus what `options` asks for. With a real node the
    /// apiserver listens on the node's bridge address (pods reach it through the
    /// `kubernetes` Service), and the wait includes the node being Ready.
    pub fn start_with(options: KubernetesOptions) -> anyhow::Result<Kubernetes> {
        let started = Instant::now();
        let bins = Binaries::locate()?;
        let mut real_node = options.real_node.then(RealNode::prepare).transpose()?;
        let dir = tempfile::Builder::new()
            .prefix("testenv-kubernetes-")
            .tempdir()?;
        let layout = Layout::create(dir.path())?;
        let mut processes = Processes::default();
        let booted = on_own_runtime(|| boot(&bins, &layout, &mut processes, real_node.as_mut()));
        if let Err(e) = booted {
            let mut tails = processes.log_tails(LOG_TAIL_LINES);
            if let Some(node) = &real_node {
                tails.push('\n');
                tails.push_str(&node.log_tails(LOG_TAIL_LINES));
            }
            drop(real_node);
            drop(processes);
            let kept = dir.keep();
            anyhow::bail!(
                "Kubernetes test environment failed to start: {e:#}\n(files kept in {})\n{tails}",
                kept.display()
            );
        }
        let provisioner =
            Provisioner::start(layout.admin_kubeconfig.clone(), layout.volumes.clone())?;
        Ok(Kubernetes {
            kubeconfig: layout.admin_kubeconfig,
            startup: started.elapsed(),
            namespaces: AtomicU64::new(0),
            provisioner: Mutex::new(Some(provisioner)),
            real_node: Mutex::new(real_node),
            processes: Mutex::new(processes),
            dir: Mutex::new(Some(dir)),
        })
    }

    /// The environment of this test binary, started on first use. Panics with the
    /// reason and the components' log tails if it cannot start; every later caller
    /// gets the same panic rather than a second slow attempt.
    pub fn shared() -> &'static Kubernetes {
        shared_in(&SHARED, KubernetesOptions::default())
    }

    /// Like [`Kubernetes::shared`], with a real node. A test binary uses one or the
    /// other: a real node is a machine-wide resource, and one environment per binary is
    /// what keeps start-up cost down.
    pub fn shared_with_real_node() -> &'static Kubernetes {
        let options = KubernetesOptions { real_node: true };
        shared_in(&SHARED_REAL_NODE, options)
    }

    /// Whether this environment has a real node.
    pub fn has_real_node(&self) -> bool {
        lock(&self.real_node).is_some()
    }

    /// `command`, run so that it resolves cluster names (`<svc>.<ns>.svc.cluster.local`,
    /// `<svc>.<ns>.svc`) through the real node's CoreDNS: in a private mount namespace
    /// whose `/etc/resolv.conf` points there, sharing the host's network (pod IPs and
    /// ClusterIPs are reachable from the host). Program, arguments, environment and
    /// working directory are kept. Panics without a real node.
    pub fn with_cluster_dns(&self, command: Command) -> Command {
        lock(&self.real_node)
            .as_ref()
            .expect("with_cluster_dns needs an environment with a real node")
            .with_cluster_dns(command)
    }

    /// Imports the images of the OCI layout in `dir` (e.g. [`operator_image_layout`])
    /// into the real node, which can never pull; returns their names. Fails without a
    /// real node.
    pub fn import_images(&self, dir: &Path) -> anyhow::Result<Vec<String>> {
        match lock(&self.real_node).as_ref() {
            Some(node) => node.import_layout(dir),
            None => anyhow::bail!("importing images needs an environment with a real node"),
        }
    }

    /// The admin kubeconfig (user in `system:masters`), usable by `kubectl --kubeconfig`.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// How long [`Kubernetes::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// A new admin client. Each call builds its own, because a client is bound to the
    /// runtime it was created on and every `#[tokio::test]` has its own runtime.
    pub async fn client(&self) -> Client {
        client_from(&self.kubeconfig)
            .await
            .expect("build a client for the Kubernetes test environment")
    }

    /// `kubectl` with `--kubeconfig` set to the admin kubeconfig.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new("kubectl");
        command.arg(format!("--kubeconfig={}", self.kubeconfig.display()));
        command
    }

    /// The stdout of `kubectl <args>` (empty if it fails), for failure
    /// messages: "timed out" alone never explains a scheduling or binding problem.
    pub fn kubectl_output(&self, args: &[&str]) -> String {
        self.kubectl()
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Creates a namespace named `<prefix>-<n>`, unique within this environment, and
    /// waits for its `default` ServiceAccount (pods are rejected until it exists).
    pub async fn create_namespace(&self, prefix: &str) -> String {
        let name = format!(
            "{prefix}-{}",
            self.namespaces.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.client().await;
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        let deadline = Instant::now() + CONTROLLERS_TIMEOUT;
        while !cluster::default_service_account_exists(&client, &name)
            .await
            .unwrap_or(false)
        {
            assert!(
                Instant::now() < deadline,
                "namespace {name} got no default ServiceAccount: is kube-controller-manager running?"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        name
    }

    /// Restarts kube-apiserver the way an upgrade or a crash-loop does: SIGTERM (SIGKILL
    /// after 15 s), `down` without an apiserver, then the same command line again, so it
    /// comes back on the same port with the same certificates and etcd keeps every
    /// object; clients reconnect on their own. Blocks until `/readyz` answers again and
    /// returns how long the API was unavailable. Safe to call inside a tokio runtime.
    pub fn restart_apiserver(&self, down: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut processes = lock(&self.processes);
        processes.restart("kube-apiserver", Duration::from_secs(15), down)?;
        let kubeconfig = self.kubeconfig.clone();
        let processes = &mut *processes;
        on_own_runtime(|| async move {
            let client = client_from(&kubeconfig).await?;
            wait_until(
                "kube-apiserver /readyz after a restart",
                APISERVER_TIMEOUT,
                processes,
                || cluster::apiserver_ready(&client),
            )
            .await
        })?;
        Ok(started.elapsed())
    }

    /// Simulates a SIGKILL of the test binary, for cleanup tests: every process of the
    /// environment is SIGKILLed and nothing is cleaned up (the directory is kept); only
    /// what outlives a killed binary lives on (a real node's containers and shims).
    #[doc(hidden)]
    pub fn abandon(self) {
        drop(lock(&self.provisioner).take());
        if let Some(node) = lock(&self.real_node).take() {
            node.abandon();
        }
        lock(&self.processes).kill_all();
        let _ = lock(&self.dir).take().map(TempDir::keep);
        std::mem::forget(self);
    }
}

impl Environment for Kubernetes {
    /// Stops everything and removes the directory (unless `TESTENV_KEEP` is set).
    fn teardown(&self) {
        drop(lock(&self.provisioner).take());
        drop(lock(&self.real_node).take());
        lock(&self.processes).kill_all();
        shared::remove_dir(&self.dir);
    }
}

impl Drop for Kubernetes {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// The environment in `cell`, started with `options` on first use.
fn shared_in(cell: &'static Shared<Kubernetes>, options: KubernetesOptions) -> &'static Kubernetes {
    cell.get_or_start(|| {
        let kubernetes = Kubernetes::start_with(options)?;
        eprintln!(
            "testenv: Kubernetes ready in {:.1?} (kubeconfig {})",
            kubernetes.startup,
            kubernetes.kubeconfig.display()
        );
        Ok(kubernetes)
    })
}

/// A client for the cluster in `kubeconfig`.
pub(crate) async fn client_from(kubeconfig: &Path) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// Starts every process in dependency order and waits until the cluster (and the real
/// node, if any) is usable.
async fn boot(
    bins: &Binaries,
    layout: &Layout,
    processes: &mut Processes,
    real_node: Option<&mut RealNode>,
) -> anyhow::Result<()> {
    let pki = Pki::generate(&layout.pki).context("generate certificates")?;
    let apiserver_port = free_port();
    let etcd_ports = EtcdPorts::pick(apiserver_port);
    let host = if real_node.is_some() {
        network::BRIDGE_IP
    } else {
        Ipv4Addr::LOCALHOST
    };
    let server = format!("https://{host}:{apiserver_port}");
    write_kubeconfigs(layout, &pki, &server)?;

    processes.spawn(
        "etcd",
        control_plane::etcd(bins, layout, &etcd_ports),
        layout,
    )?;
    wait_until("etcd to listen", ETCD_TIMEOUT, processes, || async {
        Ok(port_open(etcd_ports.client))
    })
    .await?;

    let apiserver = control_plane::kube_apiserver(
        bins,
        layout,
        &pki,
        etcd_ports.client,
        apiserver_port,
        real_node.is_some(),
    );
    processes.spawn("kube-apiserver", apiserver, layout)?;
    let client = client_from(&layout.admin_kubeconfig).await?;
    wait_until(
        "kube-apiserver /readyz",
        APISERVER_TIMEOUT,
        processes,
        || cluster::apiserver_ready(&client),
    )
    .await?;

    let controller_manager = control_plane::kube_controller_manager(bins, layout, &pki);
    processes.spawn("kube-controller-manager", controller_manager, layout)?;
    let scheduler = control_plane::kube_scheduler(bins, layout);
    processes.spawn("kube-scheduler", scheduler, layout)?;
    processes.spawn("kwok", control_plane::kwok(bins, layout)?, layout)?;

    cluster::create_objects(&client).await?;
    wait_until("KWOK nodes Ready", CONTROLLERS_TIMEOUT, processes, || {
        cluster::nodes_ready(&client)
    })
    .await?;
    wait_until(
        "the default ServiceAccount",
        CONTROLLERS_TIMEOUT,
        processes,
        || cluster::default_service_account_exists(&client, "default"),
    )
    .await?;
    match real_node {
        Some(node) => node.start(layout, &pki, &server, &client).await,
        None => Ok(()),
    }
}

fn write_kubeconfigs(layout: &Layout, pki: &Pki, server: &str) -> anyhow::Result<()> {
    let ca = &pki.ca.cert;
    kubeconfig::write(&layout.admin_kubeconfig, server, ca, "admin", &pki.admin)?;
    kubeconfig::write(
        &layout.controller_manager_kubeconfig,
        server,
        ca,
        "kube-controller-manager",
        &pki.controller_manager,
    )?;
    kubeconfig::write(
        &layout.scheduler_kubeconfig,
        server,
        ca,
        "kube-scheduler",
        &pki.scheduler,
    )
}

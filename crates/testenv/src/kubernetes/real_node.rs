//! One real node next to the KWOK nodes: our own containerd, a kubelet, kube-proxy and
//! CoreDNS on this machine, running real pods from images built here
//! (`tools/build-images.sh`). See `docs/test-environment.md` for what it takes from the
//! machine (root, cgroup v1, bridge netfilter) and how it cleans up.
//!
//! Start order: [`RealNode::prepare`] before the control plane (it owns the bridge the
//! apiserver listens on), [`RealNode::start`] once the apiserver answers. Dropping it
//! removes everything it made; a crashed run's leftovers go at the next `prepare`.

mod cgroups;
mod cleanup;
mod containerd;
mod coredns;
mod host;
mod images;
mod iptables;
mod kube_proxy;
mod kubelet;
mod lock;
mod network;
mod paths;
mod preflight;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::Api;

use super::control_plane::{Layout, Processes};
use super::kubeconfig;
use super::pki::Pki;
use crate::process::free_port;
use crate::versions::component_dir;
use crate::wait::wait_until;
use images::ImageLayout;
use lock::MachineLock;
use paths::HostPaths;

pub use images::{REGISTRY, operator_image_layout, pinot_image, pinot_next_image, zookeeper_image};
pub use paths::{BRIDGE, CGROUP_ROOT, GUARD_CHAIN};

/// Where the real node keeps containerd's root (images survive teardown), its
/// runtime state and the kubelet's files: for tests checking that nothing is left.
pub fn host_directories() -> (PathBuf, PathBuf, PathBuf) {
    let paths = HostPaths::new();
    (paths.containerd_root, paths.run, paths.lib)
}

/// The real node's name (also its kubelet's client-certificate identity).
pub const REAL_NODE_NAME: &str = "real-node-0";
/// Label telling the real node apart from KWOK's `type=kwok` nodes.
pub const REAL_NODE_TYPE_LABEL: (&str, &str) = ("type", "real");
/// The project's own label for the real node.
pub const REAL_NODE_LABEL: (&str, &str) = ("pinot.operator.dev/node", "real");
const REAL_NODE_LABELS: [(&str, &str); 2] = [REAL_NODE_TYPE_LABEL, REAL_NODE_LABEL];

/// containerd starts in well under a second; a cold page cache makes it slower.
const CONTAINERD_TIMEOUT: Duration = Duration::from_secs(30);
/// Registration, the first CNI setup and the node lifecycle controller lifting the
/// not-ready taint.
const NODE_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(200);

/// The binaries `tools/build-kubernetes.sh` builds for the node.
struct NodeBinaries {
    kubelet: PathBuf,
    kube_proxy: PathBuf,
    coredns: PathBuf,
}

impl NodeBinaries {
    fn locate() -> NodeBinaries {
        let k8s = component_dir("kubernetes-node", "KUBERNETES_VERSION").join("bin");
        NodeBinaries {
            kubelet: k8s.join("kubelet"),
            kube_proxy: k8s.join("kube-proxy"),
            coredns: component_dir("coredns", "COREDNS_VERSION").join("bin/coredns"),
        }
    }
}

/// The running node; dropping it tears it down.
pub struct RealNode {
    paths: HostPaths,
    bins: NodeBinaries,
    images: ImageLayout,
    processes: Processes,
    startup: Duration,
    // Dropped after `Drop::drop` has cleaned up: the next environment may start then.
    lock: Option<MachineLock>,
}

impl RealNode {
    /// Checks the machine, takes the machine-wide lock, removes what a crashed run left
    /// and sets up the bridge and routes. Fails with what is missing and how to get it.
    pub fn prepare() -> anyhow::Result<RealNode> {
        let started = Instant::now();
        let bins = NodeBinaries::locate();
        preflight::check(&[&bins.kubelet, &bins.kube_proxy, &bins.coredns])?;
        let images = ImageLayout::locate()?;
        let paths = HostPaths::new();
        let lock = MachineLock::acquire(&paths.lock)?;
        cleanup::remove_leftovers(&paths);
        for dir in [&paths.run, &paths.lib, &paths.containerd_root] {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        // From here on, dropping `node` undoes whatever was done.
        let mut node = RealNode {
            paths,
            bins,
            images,
            processes: Processes::default(),
            startup: Duration::ZERO,
            lock: Some(lock),
        };
        network::set_up(&node.paths).context("set up the real node's network")?;
        cgroups::create_root().context("create the pods' cgroup root")?;
        node.startup = started.elapsed();
        Ok(node)
    }

    /// Starts containerd (importing the images if needed), the kubelet, kube-proxy and
    /// CoreDNS against the apiserver at `server`, and waits until the node is Ready and
    /// schedulable, Services are programmed and CoreDNS has synced.
    pub async fn start(
        &mut self,
        layout: &Layout,
        pki: &Pki,
        server: &str,
        client: &Client,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let dir = layout.real_node.clone();
        std::fs::create_dir_all(&dir)?;
        self.start_containerd(layout).await?;
        self.start_kubelet(layout, pki, server, &dir)?;
        self.start_kube_proxy(layout, pki, server, &dir)?;
        let ready_port = self.start_coredns(layout, &dir)?;
        self.wait_until_usable(client, ready_port).await?;
        self.startup += started.elapsed();
        Ok(())
    }

    /// How long preparing and starting the node took (image import included).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The resolv.conf pointing host processes at CoreDNS.
    pub fn cluster_resolv_conf(&self) -> PathBuf {
        self.paths.cluster_resolv_conf()
    }

    /// `command` resolving cluster names through CoreDNS (see [`coredns::with_resolv_conf`]).
    pub fn with_cluster_dns(&self, command: Command) -> Command {
        coredns::with_resolv_conf(command, &self.paths.cluster_resolv_conf())
    }

    /// Imports the OCI layout in `dir` into the node's containerd unless it has every
    /// image already; returns the images' names.
    pub fn import_layout(&self, dir: &Path) -> anyhow::Result<Vec<String>> {
        let layout = ImageLayout::at(dir.to_owned())?;
        layout.import_if_needed(&self.paths.containerd_socket())?;
        Ok(layout.names())
    }

    /// The end of each node component's log, for error messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.processes.log_tails(lines)
    }

    async fn start_containerd(&mut self, layout: &Layout) -> anyhow::Result<()> {
        let sandbox_image = self.images.sandbox_image()?.to_owned();
        std::fs::write(
            self.paths.containerd_config(),
            containerd::config(&self.paths, &sandbox_image),
        )?;
        self.processes
            .spawn("containerd", containerd::command(&self.paths), layout)?;
        self.wait_for_containerd().await?;
        // Containers a crashed run left in containerd's metadata: delete them, then
        // restart so the CRI plugin does not keep them in its own state.
        let socket = self.paths.containerd_socket();
        if containerd::remove_all_containers(&socket)? > 0 {
            self.processes
                .restart("containerd", Duration::from_secs(5), Duration::ZERO)?;
            self.wait_for_containerd().await?;
        }
        let import = Instant::now();
        if self.images.import_if_needed(&socket)? {
            tracing::info!(
                "imported the real node's images in {:.1?}",
                import.elapsed()
            );
        }
        Ok(())
    }

    async fn wait_for_containerd(&mut self) -> anyhow::Result<()> {
        let socket = self.paths.containerd_socket();
        wait_until(
            "containerd",
            CONTAINERD_TIMEOUT,
            POLL,
            &mut self.processes,
            || {
                let answers = containerd::answers(&socket);
                async move { Ok(answers) }
            },
        )
        .await
    }

    fn start_kubelet(
        &mut self,
        layout: &Layout,
        pki: &Pki,
        server: &str,
        dir: &Path,
    ) -> anyhow::Result<()> {
        let config = dir.join("kubelet.json");
        let kubeconfig = dir.join("kubelet.kubeconfig");
        kubelet::write_config(&config, &self.paths, &pki.ca.cert)?;
        kubeconfig::write(
            &kubeconfig,
            server,
            &pki.ca.cert,
            REAL_NODE_NAME,
            &pki.kubelet,
        )?;
        let containerd_pid = self
            .processes
            .pid("containerd")
            .context("containerd is not running")?;
        let command = kubelet::command(
            &self.bins.kubelet,
            &config,
            &kubeconfig,
            containerd_pid,
            &self.paths,
        );
        self.processes.spawn("kubelet", command, layout)
    }

    fn start_kube_proxy(
        &mut self,
        layout: &Layout,
        pki: &Pki,
        server: &str,
        dir: &Path,
    ) -> anyhow::Result<()> {
        let config = dir.join("kube-proxy.json");
        let kubeconfig = dir.join("kube-proxy.kubeconfig");
        kubeconfig::write(
            &kubeconfig,
            server,
            &pki.ca.cert,
            "kube-proxy",
            &pki.kube_proxy,
        )?;
        kube_proxy::write_config(&config, &kubeconfig)?;
        let command = kube_proxy::command(&self.bins.kube_proxy, &config);
        self.processes.spawn("kube-proxy", command, layout)
    }

    /// CoreDNS reads Services with the admin credentials: it is a test fixture on the
    /// host, not a workload, and this spares an RBAC role for it.
    fn start_coredns(&mut self, layout: &Layout, dir: &Path) -> anyhow::Result<u16> {
        let corefile = dir.join("Corefile");
        let ready_port = free_port();
        coredns::write_corefile(&corefile, &layout.admin_kubeconfig, ready_port)?;
        coredns::write_resolv_conf(&self.paths.cluster_resolv_conf())?;
        let command = coredns::command(&self.bins.coredns, &corefile);
        self.processes.spawn("coredns", command, layout)?;
        Ok(ready_port)
    }

    async fn wait_until_usable(&mut self, client: &Client, ready_port: u16) -> anyhow::Result<()> {
        let nodes: Api<Node> = Api::all(client.clone());
        wait_until(
            "the real node Ready and schedulable",
            NODE_TIMEOUT,
            POLL,
            &mut self.processes,
            || {
                let nodes = nodes.clone();
                async move {
                    let node = nodes.get_opt(REAL_NODE_NAME).await?;
                    Ok(node.is_some_and(|n| super::cluster::node_schedulable(&n)))
                }
            },
        )
        .await?;
        wait_until(
            "kube-proxy to program Services",
            NODE_TIMEOUT,
            POLL,
            &mut self.processes,
            || async {
                Ok(host::run("iptables-save", &["-t", "nat"])
                    .is_ok_and(|rules| rules.contains("default/kubernetes:https")))
            },
        )
        .await?;
        let ready = format!("http://127.0.0.1:{ready_port}/ready");
        wait_until(
            "CoreDNS to sync with the apiserver",
            NODE_TIMEOUT,
            POLL,
            &mut self.processes,
            || {
                let ready = ready.clone();
                async move { Ok(reqwest::get(&ready).await?.status().is_success()) }
            },
        )
        .await
    }

    /// What a SIGKILL of the test binary does: the node's own processes die, nothing is
    /// cleaned up, the containers and shims live on. Only the machine lock is let go
    /// (the kernel would drop it with the process), so the next start can clean up.
    pub fn abandon(mut self) {
        self.processes.kill_all();
        drop(self.lock.take());
        std::mem::forget(self);
    }

    /// Stops the node components, deletes every container from containerd, stops it,
    /// and removes what is left on the host. Never panics.
    fn teardown(&mut self) {
        for name in ["coredns", "kube-proxy", "kubelet"] {
            self.processes.kill(name);
        }
        if self.processes.pid("containerd").is_some()
            && let Err(e) = containerd::remove_all_containers(&self.paths.containerd_socket())
        {
            tracing::warn!("delete the real node's containers: {e:#}");
        }
        self.processes.kill_all();
        cleanup::remove_leftovers(&self.paths);
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.teardown();
    }
}

//! Our own containerd: own configuration, socket and state under the fixed run
//! directory, root (content and snapshots) in the cache so imported images persist.
//!
//! It starts in a new private mount namespace (`unshare --mount`), and the kubelet joins
//! that namespace (see `kubelet`): container root filesystems, volume mounts and the
//! pods' network-namespace mounts then exist only there and disappear with the node's
//! last process, so even a SIGKILLed run leaves no mount on the host.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::host::run;
use super::paths::HostPaths;

/// The CRI namespace the kubelet's containers and images live in.
pub const NAMESPACE: &str = "k8s.io";

/// containerd's configuration (format version 2, containerd 1.6).
pub fn config(paths: &HostPaths, sandbox_image: &str) -> String {
    let socket = paths.containerd_socket();
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
# Plugins that would write outside our directories or that nothing here uses.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # Root here lacks CAP_SYS_RESOURCE in its bounding set: runc cannot set a negative
  # oom_score_adj ("can't get final child's PID from pipe") unless CRI clamps it.
  restrict_oom_score_adj = true
  # Pods' network namespaces under our state directory, not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
"#,
        root = paths.containerd_root.display(),
        state = paths.containerd_state().display(),
        socket = socket.display(),
        cni_conf = paths.cni_conf_dir().display(),
    )
}

/// `containerd --config <file>` in a new private mount namespace.
pub fn command(paths: &HostPaths) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "--"])
        .arg("/usr/bin/containerd")
        .arg("--config")
        .arg(paths.containerd_config());
    cmd
}

/// `ctr` against our socket in the CRI namespace; returns stdout.
pub fn ctr(socket: &Path, args: &[&str]) -> anyhow::Result<String> {
    let address = socket.to_str().context("socket path is not UTF-8")?;
    let mut all = vec!["--address", address, "--namespace", NAMESPACE];
    all.extend_from_slice(args);
    run("ctr", &all)
}

/// True once containerd answers on its socket.
pub fn answers(socket: &Path) -> bool {
    socket.exists() && ctr(socket, &["version"]).is_ok()
}

/// Deletes every task and container in the CRI namespace (with their snapshots);
/// returns how many containers there were.
pub fn remove_all_containers(socket: &Path) -> anyhow::Result<usize> {
    let tasks = ctr(socket, &["tasks", "ls", "--quiet"])?;
    for task in tasks.lines().filter(|l| !l.is_empty()) {
        let _ = ctr(socket, &["tasks", "kill", "--signal", "SIGKILL", task]);
        let _ = ctr(socket, &["tasks", "delete", "--force", task]);
    }
    let containers = ctr(socket, &["containers", "ls", "--quiet"])?;
    let ids: Vec<&str> = containers.lines().filter(|l| !l.is_empty()).collect();
    for id in &ids {
        ctr(socket, &["containers", "delete", id])?;
    }
    Ok(ids.len())
}

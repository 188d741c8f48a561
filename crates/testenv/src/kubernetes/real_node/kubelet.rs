//! The real node's kubelet: cgroup v1 with the cgroupfs driver (this machine has no
//! systemd), client-certificate identity from the environment's CA, x509 + webhook
//! authentication for the apiserver's logs/exec/port-forward calls, DNS pointing at our
//! CoreDNS, and no image garbage collection (images cannot be pulled back).

use std::path::Path;
use std::process::Command;

use super::paths::{CGROUP_ROOT, HostPaths};
use super::{REAL_NODE_LABELS, REAL_NODE_NAME};
use crate::kubernetes::network::BRIDGE_IP;

/// Writes the KubeletConfiguration (JSON, which the kubelet reads like YAML).
pub fn write_config(path: &Path, paths: &HostPaths, client_ca: &Path) -> anyhow::Result<()> {
    let config = serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        // Kubernetes 1.31+ refuses cgroup v1 unless told; this machine has only v1.
        "failCgroupV1": false,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": format!("/{CGROUP_ROOT}"),
        "containerRuntimeEndpoint": format!("unix://{}", paths.containerd_socket().display()),
        "address": BRIDGE_IP.to_string(),
        "healthzBindAddress": "127.0.0.1",
        "readOnlyPort": 0,
        "authentication": {
            "anonymous": { "enabled": false },
            "webhook": { "enabled": true },
            "x509": { "clientCAFile": client_ca },
        },
        "authorization": { "mode": "Webhook" },
        "clusterDomain": "cluster.local",
        "clusterDNS": [BRIDGE_IP.to_string()],
        // No host resolver for pods: names outside the cluster must not resolve (or leave).
        "resolvConf": "",
        "podLogsDir": paths.pod_logs(),
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
        "failSwapOn": false,
        "serializeImagePulls": false,
        "maxPods": 110,
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// The kubelet inside containerd's mount namespace (see `containerd`), so the volume
/// mounts it makes are the ones containerd's containers see.
pub fn command(
    binary: &Path,
    config: &Path,
    kubeconfig: &Path,
    containerd_pid: u32,
    paths: &HostPaths,
) -> Command {
    let labels = REAL_NODE_LABELS
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--mount=/proc/{containerd_pid}/ns/mnt"))
        .arg("--")
        .arg(binary)
        .arg(format!("--config={}", config.display()))
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg(format!("--root-dir={}", paths.kubelet_root().display()))
        .arg(format!("--hostname-override={REAL_NODE_NAME}"))
        .arg(format!("--node-ip={BRIDGE_IP}"))
        .arg(format!("--node-labels={labels}"))
        .arg("--v=1");
    cmd
}

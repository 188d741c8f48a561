//! kube-proxy in iptables mode: ClusterIPs work from pods and from the host. Its ports
//! stay on loopback, NodePorts only on the bridge address (so it never sets
//! `route_localnet`), and it leaves the machine's conntrack sysctls alone.

use std::path::Path;
use std::process::Command;

use super::REAL_NODE_NAME;
use crate::kubernetes::network::{BRIDGE_IP, REAL_NODE_POD_CIDR};
use crate::process::free_port;

/// Writes the KubeProxyConfiguration.
pub fn write_config(path: &Path, kubeconfig: &Path) -> anyhow::Result<()> {
    let config = serde_json::json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": { "kubeconfig": kubeconfig },
        "hostnameOverride": REAL_NODE_NAME,
        "bindAddress": BRIDGE_IP.to_string(),
        "clusterCIDR": REAL_NODE_POD_CIDR,
        "healthzBindAddress": format!("127.0.0.1:{}", free_port()),
        "metricsBindAddress": format!("127.0.0.1:{}", free_port()),
        "nodePortAddresses": [format!("{BRIDGE_IP}/32")],
        "conntrack": { "maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s" },
        "iptables": { "localhostNodePorts": false, "syncPeriod": "30s", "minSyncPeriod": "0s" },
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

pub fn command(binary: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg(format!("--config={}", config.display()));
    cmd
}

//! The node's network on the host: a bridge holding 198.18.0.1/24, routes that keep the
//! whole test range on this machine, forwarding for pod-to-Service traffic, and the CNI
//! configuration containerd hands to the bridge plugin.
//!
//! Pods get an address on the bridge and a default route to the host (198.18.0.1), as in
//! any cluster: Pinot finds its own address by "connecting" a UDP socket to a public IP,
//! which fails with "Network is unreachable" without one. No masquerade. The host routes
//! the Service range to the bridge with 198.18.0.1 as source (so a pod's reply to a host
//! connection comes back on-link), and the rest of 198.18.0.0/15 nowhere
//! (`unreachable`), so a ClusterIP without rules or a KWOK pod IP fails at once instead
//! of taking the host's default route out. A FORWARD guard drops anything crossing
//! between the bridge and another interface: what a pod sends beyond the machine's test
//! range is dropped on the host, never sent.

use super::host::{read_sysctl, run, run_quietly, write_sysctl};
use super::paths::{BRIDGE, CNI_NETWORK, GUARD_CHAIN, HostPaths};
use crate::kubernetes::network::{
    BRIDGE_IP, BRIDGE_PREFIX, REAL_NODE_POD_CIDR, SERVICE_CIDR, TEST_NET,
};

/// Pod-to-Service traffic is routed (pod, host, pod); off by default on this machine.
const IP_FORWARD: &str = "net/ipv4/ip_forward";

/// Sets up forwarding, the bridge, the routes and the guard, and writes the CNI config.
pub fn set_up(paths: &HostPaths) -> anyhow::Result<()> {
    save_and_enable_forwarding(paths)?;
    // Bridged pod-to-pod replies must pass conntrack, or Service DNAT is not undone.
    write_sysctl("net/bridge/bridge-nf-call-iptables", "1")?;
    let address = format!("{BRIDGE_IP}/{BRIDGE_PREFIX}");
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run("ip", &["addr", "add", &address, "dev", BRIDGE])?;
    run("ip", &["link", "set", BRIDGE, "up"])?;
    let source = BRIDGE_IP.to_string();
    run("ip", &["route", "add", "unreachable", TEST_NET])?;
    run(
        "ip",
        &["route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", &source],
    )?;
    add_guard()?;
    write_cni_config(paths)
}

/// Undoes [`set_up`] (also what a crashed run left): every step is tolerant of finding
/// nothing to undo. The bridge's own routes go with it.
pub fn tear_down(paths: &HostPaths) {
    run_quietly("ip", &["link", "del", BRIDGE]);
    run_quietly("ip", &["route", "del", "unreachable", TEST_NET]);
    if let Ok(saved) = std::fs::read_to_string(paths.saved_ip_forward()) {
        let _ = write_sysctl(IP_FORWARD, saved.trim());
    }
}

/// Records the original `ip_forward` once: after a crash the saved value (from before
/// the crashed run) is kept, not the `1` that run left.
fn save_and_enable_forwarding(paths: &HostPaths) -> anyhow::Result<()> {
    let saved = paths.saved_ip_forward();
    if !saved.exists() {
        std::fs::write(&saved, read_sysctl(IP_FORWARD)?)?;
    }
    write_sysctl(IP_FORWARD, "1")
}

fn add_guard() -> anyhow::Result<()> {
    run("iptables", &["-N", GUARD_CHAIN])?;
    for rule in [
        ["-i", BRIDGE, "!", "-o", BRIDGE],
        ["-o", BRIDGE, "!", "-i", BRIDGE],
    ] {
        let mut args = vec!["-A", GUARD_CHAIN];
        args.extend(rule);
        args.extend([
            "-m",
            "comment",
            "--comment",
            "pinot-operator testenv: stay local",
            "-j",
            "DROP",
        ]);
        run("iptables", &args)?;
    }
    run("iptables", &["-I", "FORWARD", "1", "-j", GUARD_CHAIN])?;
    Ok(())
}

/// The bridge plugin with host-local IPAM (leases under our state directory) and the
/// default route via the bridge; containerd adds loopback itself.
fn write_cni_config(paths: &HostPaths) -> anyhow::Result<()> {
    let config = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [{
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": true,
            "isDefaultGateway": true,
            "ipMasq": false,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{ "subnet": REAL_NODE_POD_CIDR, "gateway": BRIDGE_IP.to_string() }]],
                "dataDir": paths.cni_ipam_dir(),
            },
        }],
    });
    let dir = paths.cni_conf_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("10-pinot-testenv.conflist"),
        serde_json::to_vec_pretty(&config)?,
    )?;
    Ok(())
}

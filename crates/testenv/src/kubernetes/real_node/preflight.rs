//! Can this machine run containers? Checked before anything is touched, so a machine
//! that cannot fails with one message listing every missing piece and the command that
//! provides it, never with a half-started node or a silent skip.

use std::path::Path;

use anyhow::bail;

/// Debian's paths for what `scripts/setup.sh` installs.
const HOST_TOOLS: [&str; 12] = [
    "/usr/bin/containerd",
    "/usr/bin/containerd-shim-runc-v2",
    "/usr/bin/ctr",
    "/usr/sbin/runc",
    "/usr/lib/cni/bridge",
    "/usr/lib/cni/host-local",
    "/usr/lib/cni/loopback",
    "/usr/sbin/iptables",
    "/usr/sbin/iptables-restore",
    "/usr/sbin/conntrack",
    "/usr/bin/unshare",
    "/usr/bin/nsenter",
];
/// The cgroup v1 hierarchies the kubelet (cgroupfs driver) and runc use.
const CGROUP_CONTROLLERS: [&str; 6] = ["cpu", "cpuacct", "cpuset", "memory", "pids", "devices"];

/// Every reason this machine cannot run the real node, or Ok.
pub fn check(binaries: &[&Path]) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        problems.push("it needs root (bridges, iptables, mounts, cgroups)".to_owned());
    }
    for tool in HOST_TOOLS
        .iter()
        .map(Path::new)
        .chain(binaries.iter().copied())
    {
        if !tool.exists() {
            problems.push(format!("{} is missing", tool.display()));
        }
    }
    for controller in CGROUP_CONTROLLERS {
        if !Path::new("/sys/fs/cgroup")
            .join(controller)
            .join("tasks")
            .exists()
        {
            problems.push(format!("no cgroup v1 hierarchy for {controller}"));
        }
    }
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems.contains("overlay") {
        problems.push("the kernel has no overlayfs".to_owned());
    }
    if !Path::new("/proc/sys/net/bridge/bridge-nf-call-iptables").exists() {
        problems.push("the kernel has no bridge netfilter (br_netfilter)".to_owned());
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "this machine cannot run the test environment's real node: {}. Run scripts/setup.sh \
         (apt-get install containerd runc containernetworking-plugins iptables conntrack \
         debootstrap; tools/build-kubernetes.sh; tools/build-images.sh)",
        problems.join("; ")
    )
}

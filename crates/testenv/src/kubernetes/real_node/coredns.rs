//! CoreDNS as a host process answering `cluster.local` from the apiserver, on the
//! bridge address (where pods reach it and where the kubelet's `clusterDNS` points).
//! It forwards nothing: names outside the cluster get REFUSED, never an upstream query.
//! Its `ready` endpoint says when the Service and EndpointSlice caches are synced.

use std::path::Path;
use std::process::Command;

use crate::kubernetes::network::BRIDGE_IP;

/// The search path pods of namespace `default` get, for host processes too.
const SEARCH: &str = "default.svc.cluster.local svc.cluster.local cluster.local";

/// Writes the Corefile; `ready_port` serves `/ready` on loopback.
pub fn write_corefile(path: &Path, kubeconfig: &Path, ready_port: u16) -> anyhow::Result<()> {
    let corefile = format!(
        "cluster.local:53 in-addr.arpa:53 {{
    bind {BRIDGE_IP}
    errors
    ready 127.0.0.1:{ready_port}
    kubernetes cluster.local in-addr.arpa {{
        kubeconfig {kubeconfig} testenv
        pods insecure
        ttl 5
    }}
    cache 5
}}
",
        kubeconfig = kubeconfig.display()
    );
    std::fs::write(path, corefile)?;
    Ok(())
}

pub fn command(binary: &Path, corefile: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg("-conf").arg(corefile);
    cmd
}

/// A resolv.conf for host processes: our CoreDNS with the cluster's search domains,
/// so `<svc>.<ns>.svc.cluster.local` and `<svc>.<ns>.svc` both resolve.
pub fn write_resolv_conf(path: &Path) -> anyhow::Result<()> {
    std::fs::write(
        path,
        format!("nameserver {BRIDGE_IP}\nsearch {SEARCH}\noptions ndots:5 timeout:2 attempts:2\n"),
    )?;
    Ok(())
}

/// `command` run in a private mount namespace whose `/etc/resolv.conf` is `resolv`,
/// sharing everything else (network included) with the host: program, arguments,
/// environment and working directory are carried over.
pub fn with_resolv_conf(command: Command, resolv: &Path) -> Command {
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/resolv.conf && exec "$@""#)
        .arg(resolv)
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

//! Where the real node keeps its state. Every name is fixed, not per run: after a
//! SIGKILLed run the next start must find what the dead one left (see `cleanup`), and
//! only one real node runs on a machine at a time (see `lock`).

use std::path::PathBuf;

use crate::versions::cache_root;

/// The Linux bridge the pods hang off (at most 15 characters).
pub const BRIDGE: &str = "pinot-tenv0";
/// The CNI network name (and host-local IPAM's directory name).
pub const CNI_NETWORK: &str = "pinot-testenv";
/// The kubelet's `cgroupRoot`: every pod cgroup lives under it, in every hierarchy.
pub const CGROUP_ROOT: &str = "pinot-operator-testenv";
/// Our own iptables chain (filter table), jumped to from FORWARD.
pub const GUARD_CHAIN: &str = "PINOT-TESTENV-GUARD";
/// What the lock file is called, under `/run/lock`.
const LOCK_FILE: &str = "/run/lock/pinot-operator-testenv.lock";

/// The real node's fixed directories and files.
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// Runtime state, wiped at every start and teardown: containerd's state and socket,
    /// CNI configuration and IPAM leases, the host's DNS file.
    pub run: PathBuf,
    /// The kubelet's root directory and pod logs (on disk: emptyDirs can be large).
    pub lib: PathBuf,
    /// containerd's root (content and snapshots), kept between runs so the images
    /// are imported once per machine, not per run.
    pub containerd_root: PathBuf,
    pub lock: PathBuf,
}

impl HostPaths {
    pub fn new() -> HostPaths {
        HostPaths {
            run: PathBuf::from("/run/pinot-operator-testenv"),
            lib: PathBuf::from("/var/lib/pinot-operator-testenv"),
            containerd_root: cache_root().join("containerd"),
            lock: PathBuf::from(LOCK_FILE),
        }
    }

    pub fn containerd_state(&self) -> PathBuf {
        self.run.join("containerd")
    }

    pub fn containerd_socket(&self) -> PathBuf {
        self.run.join("containerd.sock")
    }

    pub fn containerd_config(&self) -> PathBuf {
        self.run.join("containerd.toml")
    }

    pub fn cni_conf_dir(&self) -> PathBuf {
        self.run.join("cni")
    }

    pub fn cni_ipam_dir(&self) -> PathBuf {
        self.run.join("ipam")
    }

    pub fn kubelet_root(&self) -> PathBuf {
        self.lib.join("kubelet")
    }

    pub fn pod_logs(&self) -> PathBuf {
        self.lib.join("pod-logs")
    }

    /// `/etc/resolv.conf` for host processes that resolve cluster names.
    pub fn cluster_resolv_conf(&self) -> PathBuf {
        self.run.join("cluster-resolv.conf")
    }

    /// The value `net.ipv4.ip_forward` had before the first start, restored on teardown.
    pub fn saved_ip_forward(&self) -> PathBuf {
        self.run.join("ip_forward.orig")
    }
}

//! The environment's address plan, all inside 198.18.0.0/15 (RFC 2544's benchmarking
//! range): no real host lives there, so nothing a test dials can leave the machine by
//! mistake, and the real node's bridge never shadows a route the machine uses.
//!
//! | range            | what                                                   |
//! |------------------|--------------------------------------------------------|
//! | 198.18.0.0/24    | the real node's pods; the bridge (and node) is .1      |
//! | 198.18.128.0/17  | KWOK's pod IPs (never routed: no process answers them) |
//! | 198.19.0.0/16    | Service ClusterIPs; `kubernetes` is 198.19.0.1         |

use std::net::Ipv4Addr;

/// The whole plan: the real node routes it nowhere but to its bridge.
pub const TEST_NET: &str = "198.18.0.0/15";
/// `--service-cluster-ip-range`; its first address is the `kubernetes` Service.
pub const SERVICE_CIDR: &str = "198.19.0.0/16";
/// The in-cluster `kubernetes` Service (in the apiserver's certificate).
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// KWOK's `--cidr`: its first pod address and the prefix length.
pub const KWOK_POD_CIDR: &str = "198.18.128.1/17";
/// The real node's pod subnet (CNI host-local IPAM) and kube-proxy's cluster CIDR.
pub const REAL_NODE_POD_CIDR: &str = "198.18.0.0/24";
/// The real node's bridge address: the pods' gateway, the node's InternalIP, where the
/// apiserver and CoreDNS listen when a real node runs.
pub const BRIDGE_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Prefix length of [`REAL_NODE_POD_CIDR`], for the bridge's address.
pub const BRIDGE_PREFIX: u8 = 24;

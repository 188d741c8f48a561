//! Real components for tests and the sandbox: a Kubernetes control plane with KWOK
//! nodes, and an Apache Pinot cluster, all as local processes on loopback ports.
//!
//! Each test binary shares one environment (started on first use) and isolates its
//! tests by namespace or by Pinot object name. Child processes die with the test
//! binary (see [`process`]), so a crashed run leaves nothing behind.

pub mod kubernetes;
pub mod pinot;
pub mod process;
pub mod versions;
pub mod wait;

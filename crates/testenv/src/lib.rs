//! Real components for tests and the sandbox: a Kubernetes control plane with KWOK
//! nodes (and, on request, one real node running pods: see
//! [`kubernetes::real_node`]), and an Apache Pinot cluster, all as local processes.
//!
//! Each test binary shares one environment (started on first use) and isolates its
//! tests by namespace or by Pinot object name. Child processes die with the test
//! binary (see [`process`]), so a crashed run leaves nothing behind.

pub mod kubernetes;
pub mod lag;
pub mod load;
pub mod pinot;
pub mod process;
pub mod produce;
mod shared;
pub mod versions;
pub mod wait;

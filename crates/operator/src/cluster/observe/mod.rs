//! What is running: the cluster's StatefulSets and pods ([`workloads`]), and what
//! Pinot says about its instances and segments ([`pinot`]), and, before servers
//! restart, what the brokers route ([`routing`]), and, before ZooKeeper members
//! restart, which one leads ([`zookeeper`]). Reading is the only I/O of this stage;
//! turning it into decisions is [`super::plan`]'s.

pub mod pinot;
pub mod routing;
pub mod workloads;
pub mod zookeeper;

//! The `PinotCluster` controller: deploys ZooKeeper and the Pinot roles as
//! StatefulSets, and rolls changes out in order, one pool at a time.
//!
//! One reconcile is read → plan → one step → status:
//!
//! - [`build`] (pure): spec → every object of every pool, with content hashes;
//!   [`merge`], [`config`], [`jvm`], [`names`] and [`component`] are its parts,
//!   [`validate`] what admission cannot check.
//! - [`observe`]: the StatefulSets and pods that run; [`pinot`] reads Pinot through
//!   the controller Service when it answers, [`health`] (pure) turns that into a
//!   verdict per pool.
//! - [`rollout`] (pure): observed state → the single next step. No state is kept
//!   anywhere, so an operator restart resumes exactly where the cluster is.
//! - [`controller`] takes the step ([`apply`]: server-side apply and pod deletes;
//!   [`pinot`]/[`drain`]: tags and the drain before a server scale-down), then
//!   [`status`] (pure) and [`events`] report it.

pub mod additions;
pub mod apply;
pub mod auth;
pub mod build;
pub mod component;
pub mod config;
#[cfg(test)]
mod config_proptest;
pub mod controller;
pub mod deep_storage;
pub mod drain;
pub mod error;
pub mod events;
pub mod health;
pub mod jvm;
pub mod merge;
pub mod names;
pub mod observe;
pub mod pinot;
pub mod plugins;
pub mod rollout;
pub mod secrets;
pub mod status;
pub mod tls;
pub mod validate;

pub use controller::run;

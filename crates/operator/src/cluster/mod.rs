//! The `PinotCluster` controller: deploys ZooKeeper and the Pinot roles as
//! StatefulSets, and rolls changes out in order, one pool at a time.
//!
//! One reconcile runs the folders in order, and keeps no state between reconciles
//! (an operator restart resumes exactly where the cluster is):
//!
//! - [`desired`] (pure): spec → every object of every pool, with content hashes.
//! - [`observe`]: the StatefulSets and pods that run (from the watched stores) and,
//!   when it answers, Pinot's instances, ideal states and external views.
//! - [`plan`] (pure): observed state → everything this reconcile does, as data: the
//!   rollout step, the Pinot upkeep, the status notes and when to look again.
//! - [`act`]: carries the plan out (server-side apply, pod deletes, Pinot calls).
//! - `report` (pure): the status and the Events that say what happened.
//!
//! `controller` is the shell that wires them together; [`component`] and `names`
//! are the vocabulary every stage shares.

pub mod act;
pub mod component;
pub(crate) mod controller;
pub mod desired;
pub(crate) mod error;
pub(crate) mod names;
pub mod observe;
pub mod plan;
pub(crate) mod report;

pub use controller::run;

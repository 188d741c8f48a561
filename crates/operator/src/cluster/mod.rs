//! The `PinotCluster` controller: deploys ZooKeeper and the Pinot roles as
//! StatefulSets, and rolls changes out in order, one pool at a time.

pub mod apply;
pub mod build;
pub mod component;
pub mod config;
pub mod controller;
pub mod drain;
pub mod error;
pub mod events;
pub mod health;
pub mod jvm;
pub mod merge;
pub mod names;
pub mod observe;
pub mod pinot;
pub mod rollout;
pub mod status;
pub mod validate;

pub use controller::run;

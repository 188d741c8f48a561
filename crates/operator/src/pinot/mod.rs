//! How the operator reaches a cluster's Pinot, for every controller: [`access`]
//! works out the URL, credentials and CA of a deployed or external cluster, and
//! [`clients`] holds the one client per cluster that every reconcile shares.

pub mod access;
pub mod clients;

pub use access::AccessError;
pub use clients::{PinotClients, Profile};

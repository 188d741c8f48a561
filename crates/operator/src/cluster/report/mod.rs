//! What a reconcile tells users: the `PinotCluster` status ([`status`], pure) and
//! the Events for the conditions that changed ([`events`]).

pub mod events;
pub mod status;

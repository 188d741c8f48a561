//! pinot-operator as a library: the controllers and their pure building blocks, so
//! integration tests and the sandbox run exactly what the binary runs.

pub(crate) mod cache;
pub mod cluster;
pub(crate) mod conditions;
pub(crate) mod content;
pub mod context;
pub mod crd;
pub(crate) mod hash;
pub(crate) mod http;
pub mod metrics;
#[cfg(test)]
pub mod mock_apiserver;
pub(crate) mod pinot;
pub mod rbac;
pub mod run;
pub mod secrets;
pub(crate) mod status;
pub(crate) mod stores;

/// The one field manager every server-side apply of the operator uses.
pub const FIELD_MANAGER: &str = "pinot-operator";

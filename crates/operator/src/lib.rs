//! pinot-operator as a library: the controllers and their pure building blocks, so
//! integration tests and the sandbox run exactly what the binary runs.

pub mod cache;
pub mod cluster;
pub mod conditions;
pub mod content;
pub mod context;
pub mod crd;
pub mod http;
pub mod metrics;
#[cfg(test)]
pub mod mock_apiserver;
pub mod pinot;
pub mod rbac;
pub mod run;
pub mod secrets;
pub mod status;
pub mod stores;

/// The one field manager every server-side apply of the operator uses.
pub const FIELD_MANAGER: &str = "pinot-operator";

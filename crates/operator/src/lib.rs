//! pinot-operator as a library: the controllers and their pure building blocks, so
//! integration tests and the sandbox run exactly what the binary runs.

pub mod cache;
pub mod cluster;
pub mod conditions;
pub mod content;
pub mod context;
pub mod crd;
pub mod hash;
pub mod http;
pub mod metrics;
pub mod rbac;
pub mod run;

/// The one field manager every server-side apply of the operator uses.
pub const FIELD_MANAGER: &str = "pinot-operator";

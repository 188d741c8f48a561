//! Typed async client for the Apache Pinot controller REST API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pinot_client::Error> {
//! use pinot_client::{ClientConfig, PinotClient, TableType};
//! let client = PinotClient::new(ClientConfig::new("http://localhost:9000".parse().unwrap()))?;
//! client.health().await?;
//! if client.get_table("events", TableType::Offline).await?.is_none() {
//!     // create it ...
//! }
//! # Ok(()) }
//! ```
//!
//! Pinot documents (schemas, table configs) are passed as [`serde_json::Value`]: the
//! operator stores them verbatim in its custom resources, and Pinot adds fields across
//! releases, so a typed model would drop or reject what it does not know.
//!
//! Errors keep Pinot's own message ([`Error::Http`]) and classify the status
//! ([`Error::is_not_found`], [`Error::is_conflict`], [`Error::is_unreachable`]). Reads of
//! a single object return `Ok(None)` when it is missing. Credentials never appear in
//! `Debug` output, errors or logs. Retries: see [`PinotClient`].
//!
//! # Pinot behaviour this client relies on (checked against a real 0.11.0 controller)
//!
//! QUIRKS_PLACEHOLDER

mod client;
mod cluster;
mod config;
mod error;
mod instances;
mod observer;
mod rebalance;
mod request;
mod retry;
mod schemas;
mod segments;
mod tables;
mod tenants;
mod types;
mod version;
mod views;

pub use client::PinotClient;
pub use config::{Auth, ClientConfig, MAX_BACKOFF, TlsConfig};
pub use error::Error;
pub use instances::{Instance, InstanceKind};
pub use observer::{CallObserver, CallOutcome};
pub use rebalance::{RebalanceOptions, RebalanceResult, RebalanceStatus};
pub use schemas::SchemaUpdate;
pub use tenants::{Tenant, Tenants};
pub use types::{TableType, TenantRole};
pub use version::PinotVersion;
pub use views::SegmentStates;

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
//! # Pinot behaviour this client relies on
//!
//! Observed with `tests/pinot.rs` against a real Pinot **0.11.0** cluster, and read in
//! its REST resources' source (`PinotSchemaRestletResource`, `PinotTableRestletResource`,
//! `PinotTenantRestletResource`, `PinotInstanceRestletResource`, `TableViews`). Later
//! releases differ where noted; the client accepts both forms.
//!
//! **Errors.** Pinot's own errors are `{"code": N, "error": "..."}`; failures inside
//! Jersey/Jackson (a malformed body, an unknown enum value, a response that cannot be
//! serialised) come back as *plain text*, usually with 400. [`Error::Http`] keeps either.
//!
//! **Schemas.**
//! - `POST /schemas?override=false` on an existing name: 409 "Schema: x already exists".
//! - `PUT /schemas/{n}` with a backward-incompatible change (type change, dropped
//!   column): 400 "Backward incompatible schema x. Only allow adding new columns".
//!   0.11 has no `force` anywhere (1.x has it on `POST /schemas`); a forced update
//!   through `POST ...&force=true` is refused with 400 as well.
//! - Path/body name mismatch: 400. Missing schema: 404 on GET, PUT and DELETE.
//! - `DELETE /schemas/{n}` refuses (409) only while a **REALTIME** table uses the
//!   schema. A schema used by an OFFLINE table is deleted without complaint (still so
//!   in 1.5): the operator must check OFFLINE tables itself.
//!
//! **Tables.**
//! - `GET /tables/{n}?type=T` for a missing table: `200 {}` (404 from 1.4); the config
//!   comes wrapped as `{"OFFLINE": {...}}`, with `tableName` suffixed (`x_OFFLINE`)
//!   and defaults filled in (so compare configs semantically, not byte for byte).
//! - `POST /tables` accepts an OFFLINE table whose schema does not exist (no error at
//!   all), while `POST /tables/validate` reports it (400 "Got empty schema"). Create
//!   (or validate) the schema first. Existing table: 409.
//! - `PUT /tables/{n}` / `DELETE /tables/{n}?type=T` of a missing table: 404.
//! - The ideal state and external view of a new table exist at once (empty); the
//!   external view of a deleted table lingers until the servers dropped its segments.
//!   Views of an unknown table: 404 "Table not found".
//!
//! **Consumption (REALTIME).** `POST /tables/{n}/pauseConsumption` sets the pause flag
//! and answers at once, while the servers still commit their CONSUMING segments
//! (`description`: "Consuming segments are being committed"); `GET .../pauseStatus`
//! lists them until they are ONLINE. Consumed rows stay queryable; nothing more is
//! consumed. `POST .../resumeConsumption` clears the flag and creates new consuming
//! segments that continue from the committed offsets. Both are no-ops when repeated;
//! all three take the raw name or `x_REALTIME` and answer 404 "Table x_REALTIME not
//! found!" for a missing or OFFLINE-only table. 1.x names `description` `comment`.
//!
//! **Rebalance.** The result has `status`, `description`, `instanceAssignment`,
//! `segmentAssignment` and no `jobId` (1.x adds it and `GET /rebalanceStatus/{id}`,
//! which is a 404 on 0.11). `reassignInstances` defaults to false (true from 1.4): the
//! client always sends every switch. Missing table: 404. Deployment trap: with
//! `paranamer` 2.3 on the controller's classpath (what Maven resolves for a flat
//! 0.11.0 classpath) every rebalance answer fails to serialise and comes back as a
//! plain-text 400 "Index ... out of bounds ... RebalanceResult["instanceAssignment"]";
//! paranamer 2.8 (what jackson-module-scala expects) fixes it.
//!
//! **Tenants.** A tenant is only instance tags: `GET /tenants` lists tenants that some
//! instance is tagged with, `GET /tenants/{n}?type=` answers 404 when none is.
//! `tenantRole` must be upper case (lower case: plain-text 400, despite Pinot's own
//! doc comment). Creating or growing a tenant needs enough *untagged* instances, and
//! without them Pinot answers a bare 500 "Failed to create tenant" / "Failed to update
//! tenant" (the reason is only in the controller log). `DELETE /tenants/{n}?type=` of
//! an unknown tenant succeeds; without `type` it is a 500.
//!
//! **Instances.** `GET /instances/{id}`: `port` is a JSON *string*, unset ports are
//! `-1`, `pools` is `null` when unset, there is no `shutdownInProgress` (1.5+).
//! Enable/disable (`POST /instances/{id}/state`, text body) waits up to 10 s for the
//! instance's segments and answers 500 "... failed, timeout" when they do not settle
//! (e.g. enabling a stopped server; the flag is set anyway). Dropping a live instance,
//! or one still in an ideal state: 409. Unknown instance: 404 everywhere.
//!
//! **Cluster.** `GET /health` answers text `OK` (503 while starting). `GET /version`
//! maps every Pinot jar to its version; the controller's reads `0.11.0-<git sha>`.

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
pub use tables::PauseStatus;
pub use tenants::{Tenant, Tenants};
pub use types::{TableType, TenantRole};
pub use version::PinotVersion;
pub use views::SegmentStates;

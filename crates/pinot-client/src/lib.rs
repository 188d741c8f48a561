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
//! Observed with `tests/pinot.rs` against a real Pinot **0.11.0** cluster (CI), and on
//! a real **1.5.1** cluster outside CI (recorded in `docs/pinot-versions.md`); read in
//! Pinot's REST resources (`PinotSchemaRestletResource`, `PinotTableRestletResource`,
//! `PinotTenantRestletResource`, `PinotInstanceRestletResource`, `TableViews`). The
//! client accepts both releases' forms; where the meaning differs it says so.
//!
//! **Errors.** Pinot's own errors are `{"code": N, "error": "..."}`; failures inside
//! Jersey/Jackson (a malformed body, an unknown enum value, a response that cannot be
//! serialised) come back as *plain text*, usually with 400. [`Error::Http`] keeps either.
//! Refused credentials: 403 on 0.11, 401 on 1.5.1.
//!
//! **Schemas.**
//! - `POST /schemas?override=false` on an existing name: 409 "Schema: x already exists".
//! - `PUT /schemas/{n}` with a backward-incompatible change (type change, dropped
//!   column): 400 "Backward incompatible schema x. Only allow adding new columns".
//!   0.11 has no `force` anywhere: a forced update through `POST ...&force=true` is
//!   refused with 400 as well. 1.5.1 applies a forced update.
//! - `PUT /schemas/{n}?reload=true` of a schema no table is named after updates it,
//!   then answers 404 "Failed to find table x to reload" (0.11 and 1.5.1):
//!   [`Reload::NoTable`].
//! - Path/body name mismatch: 400. Missing schema: 404 on GET, PUT and DELETE.
//! - `DELETE /schemas/{n}` while a table uses it: 0.11 refuses (409) only for a
//!   **REALTIME** table and deletes the schema of an OFFLINE table without complaint;
//!   1.5.1 refuses for both (409 "Cannot delete schema x, as it is associated with
//!   table x_OFFLINE").
//! - 1.5.1 adds `fieldType` (per column) and `enableColumnBasedNullHandling` to the
//!   schemas it returns: compare semantically.
//!
//! **Tables.**
//! - `GET /tables/{n}?type=T` for a missing table: `200 {}` up to 1.3, 404 from 1.4
//!   (both `None` here); the config comes wrapped as `{"OFFLINE": {...}}`, with
//!   `tableName` suffixed (`x_OFFLINE`) and defaults filled in (so compare configs
//!   semantically, not byte for byte).
//! - `segmentsConfig.schemaName`: 0.11 stores and returns it; 1.5.1 accepts it as an
//!   unrecognised property, never returns it, and finds a table's schema by the raw
//!   table name only.
//! - `POST /tables` of an OFFLINE table whose schema does not exist: 0.11 accepts it
//!   (no error at all, while `POST /tables/validate` reports it: 400 "Got empty
//!   schema"); 1.5.1 refuses it (400). Create the schema first. Existing table: 409.
//! - `PUT /tables/{n}` / `DELETE /tables/{n}?type=T` of a missing table: 404.
//! - `POST /segments/{n}/reload` of a table with no loaded segments: 0.11 answers 200,
//!   1.5.1 404 "Failed to find any segments in table: x on every instance"
//!   ([`Reload::NoSegments`]). A missing table is a 404 too, and an error.
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
//! which is a 404 on 0.11, and on 1.5.1 for a NO_OP rebalance). `reassignInstances`
//! defaults to false (true from 1.4): the client always sends every switch. Missing
//! table: 404. Deployment trap: with `paranamer` 2.3 on the controller's classpath
//! (what Maven resolves for a flat 0.11.0 classpath) every rebalance answer fails to
//! serialise and comes back as a plain-text 400 "Index ... out of bounds ...
//! RebalanceResult["instanceAssignment"]"; paranamer 2.8 (what jackson-module-scala
//! expects) fixes it.
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
//! `-1`, `pools` is `null` when unset; `shutdownInProgress` exists from 1.5.0 (absent
//! on 0.11). Enable/disable (`POST /instances/{id}/state`, text body) waits up to 10 s
//! for the instance's segments and answers 500 "... failed, timeout" when they do not
//! settle (e.g. enabling a stopped server; the flag is set anyway). Dropping a live
//! instance, or one still in an ideal state: 409. Unknown instance: 404 everywhere.
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
mod routing;
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
pub use instances::{Instance, InstanceChange, InstanceKind};
pub use observer::{CallObserver, CallOutcome};
pub use rebalance::{RebalanceOptions, RebalanceResult, RebalanceStatus};
pub use routing::Routes;
pub use schemas::SchemaUpdate;
pub use segments::Reload;
pub use tables::PauseStatus;
pub use tenants::{Tenant, Tenants};
pub use types::{TableType, TenantRole};
pub use version::PinotVersion;
pub use views::SegmentStates;

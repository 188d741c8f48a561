//! Controllers for what lives inside Pinot: schemas, tables and tenants.
//!
//! Each kind implements [`ContentResource`]: a pure-ish `sync` that reads what
//! Pinot has and creates or updates it (CreateOrUpdate from observed state), and a
//! `remove` used only when the spec's `deletionPolicy` is `Delete`. The shared
//! [`reconciler`] wraps them with the finalizer, status conditions and Events.

pub mod compare;
#[cfg(test)]
mod compare_proptest;
pub mod error;
pub mod follow_up;
pub mod ignore;
pub mod known;
#[cfg(test)]
mod pinot_1_5_tests;
pub mod reconciler;
pub mod schema;
pub mod status;
pub mod table;
pub mod tenant;
pub mod validate;

use std::fmt::Debug;
use std::future::Future;

use api::{ContentStatus, DeletionPolicy, FollowUp, PinotSchema};
use kube::core::NamespaceResourceScope;
use kube::runtime::reflector::Store;
use kube::{Client, Resource};
use pinot_client::PinotClient;
use serde::Serialize;
use serde::de::DeserializeOwned;

use error::SyncError;

/// What a sync talks to.
pub struct SyncContext<'a> {
    pub pinot: &'a PinotClient,
    /// For what is not in a store (a miss is confirmed with a GET).
    pub kube: &'a Client,
    /// The watched `PinotSchema`s (tables check their schemaRef there).
    pub schemas: &'a Store<PinotSchema>,
    pub namespace: &'a str,
    /// Hash of the document applied last time (from status), to notice fields the
    /// user removed, which a coverage comparison cannot see.
    pub applied_hash: Option<&'a str>,
    /// Follow-ups of an earlier applied change that have not succeeded yet (from status).
    pub pending_follow_ups: &'a [FollowUp],
    /// The last sync failed in a way that may have met another Pinot than the one
    /// remembered (status says `Synced=False`, for a reason [`error::doubts_memory`]):
    /// nothing remembered of Pinot is trusted, every check asks Pinot.
    pub last_failed: bool,
    /// What is remembered of Pinot between syncs.
    pub known: &'a known::Known,
    /// The cluster's key in [`known::TenantCache`]: `namespace/name controller-url`.
    pub cluster: &'a str,
    /// The resync interval: remembered configs not refreshed for a few go.
    pub resync: std::time::Duration,
}

/// What a successful sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    InSync,
}

/// A successful sync: what happened, and notes for the status message (e.g. a
/// rebalance the spec did not allow the operator to start). Pinot matches the spec
/// afterwards, even when a follow-up of the change failed: the change is recorded as
/// applied and only the follow-up is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub outcome: Outcome,
    pub notes: Vec<String>,
    /// Follow-ups that failed, to retry at the next sync.
    pub pending: Vec<FollowUp>,
    /// Why the first of `pending` failed.
    pub follow_up_failure: Option<FollowUpFailure>,
}

/// A follow-up that failed after its change was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpFailure {
    pub message: String,
    /// Worth retrying soon (Pinot unreachable) rather than at the next resync.
    pub retry_soon: bool,
}

impl Synced {
    pub fn new(outcome: Outcome) -> Self {
        Synced {
            outcome,
            notes: vec![],
            pending: vec![],
            follow_up_failure: None,
        }
    }
}

impl SyncContext<'_> {
    /// Whether to create before reading: a document never applied (no hash in status)
    /// is almost always new to Pinot, so one create replaces a read and a create. When
    /// Pinot does have it, it answers 409 and the sync compares as usual.
    pub fn creates_first(&self) -> bool {
        self.applied_hash.is_none()
    }

    /// Whether to trust what is remembered of Pinot rather than ask it.
    pub fn trusts_memory(&self) -> bool {
        !self.last_failed
    }
}

/// The result of a create-first attempt: `None` when Pinot already had the object.
pub fn created(result: Result<(), pinot_client::Error>) -> Result<Option<Synced>, SyncError> {
    match result {
        Ok(()) => Ok(Some(Synced::new(Outcome::Created))),
        Err(e) if e.is_conflict() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A custom resource whose content is kept in sync with Pinot.
pub trait ContentResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The controller's name in metrics, e.g. `pinottable`.
    const CONTROLLER: &'static str;
    /// Name of the referenced `PinotCluster`.
    fn cluster_name(&self) -> &str;
    /// Whether objects of this kind wait for PinotSchemas ([`Self::schema_ref`]); only
    /// then does the controller watch them.
    const FOLLOWS_SCHEMAS: bool = false;
    /// Name of the `PinotSchema` this object waits for, if any: it is synced again as
    /// soon as that schema's `Synced` condition changes.
    fn schema_ref(&self) -> Option<&str> {
        None
    }
    fn deletion_policy(&self) -> DeletionPolicy;
    fn content_status(&self) -> Option<&ContentStatus>;
    /// Human name of the Pinot object, e.g. `table events_OFFLINE`.
    fn pinot_object(&self) -> String;
    /// Hash of the desired document, stored in status after a successful sync.
    fn desired_hash(&self) -> String;
    /// Brings Pinot in line with the spec.
    fn sync(&self, cx: &SyncContext<'_>) -> impl Future<Output = Result<Synced, SyncError>> + Send;
    /// Deletes the object from Pinot (only called with `deletionPolicy: Delete`).
    fn remove(&self, cx: &SyncContext<'_>) -> impl Future<Output = Result<(), SyncError>> + Send;
}

/// Runs the schema, table and tenant controllers until `shutdown` is cancelled.
pub async fn run_all(
    ctx: std::sync::Arc<crate::context::Context>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use api::{PinotSchema, PinotTable, PinotTenant};
    tokio::join!(
        reconciler::run::<PinotSchema>(ctx.clone(), ctx.api(), shutdown.clone().cancelled_owned()),
        reconciler::run::<PinotTable>(ctx.clone(), ctx.api(), shutdown.clone().cancelled_owned()),
        reconciler::run::<PinotTenant>(ctx.clone(), ctx.api(), shutdown.cancelled_owned()),
    );
}

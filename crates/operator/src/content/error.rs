//! Why a content resource is not in sync. Each variant's name is the condition
//! `reason` and the Event reason users see, so they read as short sentences.

use pinot_client::Error as PinotError;

use crate::pinot::AccessError;

#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum SyncError {
    /// The document in the spec is invalid; nothing is sent to Pinot until it is fixed.
    #[error("{0}")]
    InvalidSchema(String),
    #[error("{0}")]
    InvalidTable(String),
    /// The table names a schema that is not the one its schemaRef points at.
    #[error("{0}")]
    SchemaMismatch(String),
    /// Waiting on another object; not a failure, retried soon.
    #[error("PinotCluster {0} not found in this namespace")]
    ClusterNotFound(String),
    #[error("{0}")]
    ClusterNotReady(String),
    #[error("{0}")]
    CredentialsUnavailable(String),
    #[error("schema {0} does not exist in Pinot yet")]
    SchemaNotFound(String),
    /// The table's PinotSchema exists but has not reached Pinot yet; the table waits
    /// for it without asking Pinot.
    #[error("PinotSchema {0} has not synced to Pinot yet; the table waits for it")]
    SchemaNotSynced(String),
    /// Waiting a moment on an object applied together with this one (a schema not yet
    /// reconciled): not written to status or an Event, which would only say "failed"
    /// for a second during a bulk apply; retried soon, and woken when the schema syncs.
    #[error("{0}")]
    Waiting(String),
    #[error("{0}")]
    TenantNotFound(String),
    /// Pinot refused a schema change as backward-incompatible and the spec does not allow force.
    #[error(
        "Pinot refused the schema update as backward-incompatible (set spec.updatePolicy.force to apply it): {0}"
    )]
    IncompatibleSchemaChange(String),
    /// Deletion waits: Pinot will not delete a schema that a table still uses.
    #[error("schema is still used by a table; deletion waits: {0}")]
    SchemaInUse(String),
    /// Pinot refused the operator's credentials (HTTP 401/403).
    #[error("Pinot refused the operator's credentials (check the cluster's auth Secret): {0}")]
    AccessDenied(String),
    #[error("Pinot is unreachable: {0}")]
    PinotUnreachable(String),
    /// Pinot answered with an error; its message is kept verbatim.
    #[error("Pinot rejected the request: {0}")]
    PinotRejected(String),
    #[error("Kubernetes API error: {0}")]
    #[strum(serialize = "KubernetesError")]
    Kubernetes(#[from] kube::Error),
}

impl SyncError {
    /// The condition/Event reason: the variant name.
    pub fn reason(&self) -> &'static str {
        self.into()
    }

    /// Errors the user must fix in the spec: retrying sooner than the resync interval helps nobody.
    pub fn needs_spec_change(&self) -> bool {
        matches!(
            self,
            SyncError::InvalidSchema(_)
                | SyncError::InvalidTable(_)
                | SyncError::SchemaMismatch(_)
                | SyncError::IncompatibleSchemaChange(_)
                | SyncError::PinotRejected(_)
                | SyncError::AccessDenied(_)
        )
    }
}

impl SyncError {
    /// Pinot answered with a failure (or not at all): what the operator remembers of
    /// it may be stale.
    pub fn doubts_pinot(&self) -> bool {
        matches!(
            self,
            SyncError::PinotRejected(_)
                | SyncError::PinotUnreachable(_)
                | SyncError::AccessDenied(_)
        )
    }
}

/// Whether a sync that failed with `reason` may have met a Pinot other than the one the
/// operator remembers: every failure but those found before asking Pinot anything (the
/// spec, or another Kubernetes object, was the matter).
pub fn doubts_memory(reason: &str) -> bool {
    const FOUND_BEFORE_ASKING_PINOT: [&str; 7] = [
        "InvalidSchema",
        "InvalidTable",
        "SchemaMismatch",
        "SchemaNotSynced",
        "ClusterNotFound",
        "ClusterNotReady",
        "CredentialsUnavailable",
    ];
    !FOUND_BEFORE_ASKING_PINOT.contains(&reason)
}

impl From<AccessError> for SyncError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::CredentialsUnavailable(why) => SyncError::CredentialsUnavailable(why),
            AccessError::InvalidUrl { .. } => SyncError::ClusterNotReady(e.to_string()),
            AccessError::Kubernetes(e) => SyncError::Kubernetes(e),
        }
    }
}

impl From<PinotError> for SyncError {
    fn from(e: PinotError) -> Self {
        if e.is_unreachable() {
            SyncError::PinotUnreachable(e.to_string())
        } else if matches!(e.status(), Some(401 | 403)) {
            SyncError::AccessDenied(e.to_string())
        } else {
            SyncError::PinotRejected(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_found_before_asking_pinot_leave_memory_trusted() {
        let before_pinot = [
            SyncError::InvalidSchema(String::new()),
            SyncError::InvalidTable(String::new()),
            SyncError::SchemaMismatch(String::new()),
            SyncError::SchemaNotSynced(String::new()),
            SyncError::ClusterNotFound(String::new()),
            SyncError::ClusterNotReady(String::new()),
            SyncError::CredentialsUnavailable(String::new()),
        ];
        assert!(before_pinot.iter().all(|e| !doubts_memory(e.reason())));
        let from_pinot = [
            SyncError::SchemaNotFound(String::new()),
            SyncError::TenantNotFound(String::new()),
            SyncError::PinotRejected(String::new()),
            SyncError::PinotUnreachable(String::new()),
            SyncError::AccessDenied(String::new()),
        ];
        assert!(from_pinot.iter().all(|e| doubts_memory(e.reason())));
    }
}

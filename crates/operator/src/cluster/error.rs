//! Why a cluster reconcile could not do what it wanted. The variant name is the
//! condition `reason` and the Event reason, so variants read as short sentences.

#[derive(Debug, thiserror::Error, strum::IntoStaticStr)]
pub enum ClusterError {
    /// The spec cannot be deployed as written; nothing is changed until it is fixed.
    #[error("{0}")]
    InvalidSpec(String),
    /// A Secret key the spec references (password, storage credentials) cannot be
    /// read; nothing is changed until it can.
    #[error("{0}")]
    CredentialsUnavailable(String),
    /// The apiserver refused an object (e.g. a change to an immutable field).
    #[error("applying {object} failed: {source}")]
    ApplyFailed {
        object: String,
        #[source]
        source: kube::Error,
    },
    /// Shrinking a server pool waits until Pinot has moved its segments away, which
    /// needs a reachable Pinot controller.
    #[error("{0}")]
    ScaleDownBlocked(String),
    /// A pool's data volumes cannot change as the spec asks (a smaller size, another
    /// StorageClass); nothing of that pool is applied until the spec is put back.
    #[error("{0}")]
    StorageChangeRefused(String),
    /// Pinot refused to take servers out of query routing before their restart.
    #[error("taking servers out of query routing failed: {0}")]
    QuiesceFailed(String),
    /// Pinot refused a step of draining servers before a scale-down.
    #[error("draining servers failed: {0}")]
    DrainFailed(String),
    #[error("Kubernetes API error: {0}")]
    #[strum(serialize = "KubernetesError")]
    Kubernetes(#[from] kube::Error),
}

impl From<crate::secrets::SecretError> for ClusterError {
    fn from(e: crate::secrets::SecretError) -> Self {
        match e {
            crate::secrets::SecretError::Unavailable(why) => {
                ClusterError::CredentialsUnavailable(why)
            }
            crate::secrets::SecretError::Kubernetes(e) => ClusterError::Kubernetes(e),
        }
    }
}

impl ClusterError {
    /// The condition/Event reason: the variant name.
    pub fn reason(&self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_variant_names() {
        assert_eq!(
            ClusterError::InvalidSpec("x".into()).reason(),
            "InvalidSpec"
        );
        assert_eq!(
            ClusterError::ScaleDownBlocked("x".into()).reason(),
            "ScaleDownBlocked"
        );
    }
}

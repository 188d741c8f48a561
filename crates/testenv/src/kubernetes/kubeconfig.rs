//! Kubeconfig files for the admin user and each control-plane component.

use std::path::Path;

use anyhow::Context;

use super::pki::CertFiles;

/// Writes a kubeconfig with one cluster, one client-certificate user and one context.
///
/// It is written as JSON, which every YAML reader (kubectl, client-go, kube-rs) accepts,
/// so no YAML serializer is needed. Certificates are referenced by absolute path.
pub fn write(
    path: &Path,
    server: &str,
    ca_cert: &Path,
    user: &str,
    cert: &CertFiles,
) -> anyhow::Result<()> {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "testenv",
            "cluster": { "server": server, "certificate-authority": ca_cert },
        }],
        "users": [{
            "name": user,
            "user": { "client-certificate": cert.cert, "client-key": cert.key },
        }],
        "contexts": [{
            "name": "testenv",
            "context": { "cluster": "testenv", "user": user, "namespace": "default" },
        }],
        "current-context": "testenv",
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config)?)
        .with_context(|| format!("write {}", path.display()))
}

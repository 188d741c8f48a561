//! `pinot-operator crd`: the CustomResourceDefinitions as YAML, generated from the
//! Rust types. `deploy/crds/` holds the same output; a test fails when they drift.

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// File name under `deploy/crds/` for a CRD, e.g. `pinotclusters.pinot.operator.dev.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// One CRD as a YAML document.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    serde_yaml::to_string(crd).expect("a CRD serializes to YAML")
}

/// All CRDs as one multi-document YAML stream.
pub fn all_yaml() -> String {
    api::crds()
        .iter()
        .map(|crd| format!("---\n{}", to_yaml(crd)))
        .collect()
}

/// Writes one file per CRD into `dir` (regenerates `deploy/crds/`).
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for crd in api::crds() {
        std::fs::write(dir.join(file_name(&crd)), to_yaml(&crd))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deploy/crds` for kubectl users, and the Helm chart's `crds/`.
    const GENERATED_DIRS: &[&str] = &["deploy/crds", "charts/pinot-operator/crds"];

    #[test]
    fn generated_crd_files_match_the_code() {
        for dir in GENERATED_DIRS {
            let dir_path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(dir);
            for crd in api::crds() {
                let path = dir_path.join(file_name(&crd));
                let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(
                    on_disk == to_yaml(&crd),
                    "{} is out of date: run `cargo run -p pinot-operator -- crd --write {dir}`",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn every_kind_has_status_and_a_short_name() {
        for crd in api::crds() {
            let version = &crd.spec.versions[0];
            assert!(
                version
                    .subresources
                    .as_ref()
                    .and_then(|s| s.status.as_ref())
                    .is_some()
            );
            assert!(
                crd.spec
                    .names
                    .short_names
                    .as_ref()
                    .is_some_and(|n| !n.is_empty())
            );
        }
    }
}

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
    serde_norway::to_string(crd).expect("a CRD serializes to YAML")
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

#[cfg(test)]
mod explain_tests {
    use serde_json::Value;

    /// Paths of properties under `schema` that have no description.
    fn undocumented(schema: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if prop
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    out.push(here.clone());
                }
                undocumented(prop, &here, out);
            }
        }
        if let Some(items) = schema.get("items") {
            undocumented(items, &format!("{path}[]"), out);
        }
    }

    /// `kubectl explain <kind>.spec` must describe every field a user can set. Embedded
    /// core Kubernetes types (resources, quantities) carry their own upstream docs.
    #[test]
    fn every_spec_field_is_documented() {
        for crd in api::crds() {
            let version = &crd.spec.versions[0];
            let schema =
                serde_json::to_value(&version.schema.as_ref().unwrap().open_api_v3_schema).unwrap();
            let mut missing = vec![];
            undocumented(&schema["properties"]["spec"], "spec", &mut missing);
            missing.retain(|p| !p.contains(".resources.") && !p.contains(".claims"));
            assert!(
                missing.is_empty(),
                "{}: undocumented fields: {missing:#?}",
                crd.spec.names.kind
            );
        }
    }
}

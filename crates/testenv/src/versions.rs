//! Component versions, read from `tools/versions.env` so the build scripts and the
//! Rust code can never disagree, and the cache directories keyed by them.

use std::path::PathBuf;

const VERSIONS_ENV: &str = include_str!("../../../tools/versions.env");

/// The value of `KEY=value` in `tools/versions.env`.
pub fn version(key: &str) -> &'static str {
    VERSIONS_ENV
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .unwrap_or_else(|| panic!("tools/versions.env has no {key}"))
}

/// `~/.cache/pinot-operator`, or `$PINOT_OPERATOR_CACHE`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PINOT_OPERATOR_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    PathBuf::from(home).join(".cache/pinot-operator")
}

/// `<cache>/<component>-<version>`, e.g. `kubernetes-1.34.4`.
pub fn component_dir(component: &str, version_key: &str) -> PathBuf {
    cache_root().join(format!("{component}-{}", version(version_key)))
}

/// The repository root (for scripts under `tools/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_pinned_version() {
        for key in [
            "KUBERNETES_VERSION",
            "ETCD_VERSION",
            "KWOK_VERSION",
            "PINOT_VERSION",
        ] {
            assert!(
                version(key).chars().next().unwrap().is_ascii_digit(),
                "{key}"
            );
        }
    }
}

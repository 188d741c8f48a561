//! Which Pinot the test clusters run, and what differs between releases for starting
//! one.
//!
//! By default: the release `tools/fetch-pinot.sh` fetched from Maven Central
//! (`PINOT_VERSION` in `tools/versions.env`, 0.11.0: the newest release whose role
//! artefacts are all on the reachable mirror). To run the suite against another Pinot,
//! point two environment variables at it:
//!
//! - `PINOT_OPERATOR_PINOT_LIB`: a directory holding a complete Pinot runtime classpath,
//!   e.g. a binary distribution's `lib/` with the plugins the tests use (the Kafka 3
//!   stream plugin, the JSON input format) copied next to it. Every directory under it
//!   that holds jars joins the classpath, so a distribution's root (with `lib/` and
//!   `plugins/`) works too. Nothing in this project builds or fetches it.
//! - `PINOT_OPERATOR_PINOT_VERSION`: its release, e.g. `1.5.1`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::versions::{component_dir, version};

pub const LIB_VAR: &str = "PINOT_OPERATOR_PINOT_LIB";
pub const VERSION_VAR: &str = "PINOT_OPERATOR_PINOT_VERSION";

/// A Pinot release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release(pub u32, pub u32, pub u32);

impl Release {
    /// Parses `1.5.1` (a suffix such as `-SNAPSHOT` is ignored).
    pub fn parse(text: &str) -> Option<Release> {
        let numeric = text.trim().split(['-', '+']).next()?;
        let mut parts = numeric.split('.').map(|p| p.parse().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        Some(Release(major, minor, patch))
    }

    /// 1.x added the multi-stage query engine, whose servers and brokers each listen on
    /// ports of their own (two servers on one host collide on the defaults).
    pub fn has_multi_stage_engine(self) -> bool {
        self >= Release(1, 0, 0)
    }

    /// The Kafka stream plugin's consumer factory: `kafka20` up to 0.x (what 0.11's
    /// pinot-tools brings), `kafka30` from 1.x (1.5.1 has no `kafka20`).
    pub fn kafka_consumer_factory(self) -> &'static str {
        if self >= Release(1, 0, 0) {
            "org.apache.pinot.plugin.stream.kafka30.KafkaConsumerFactory"
        } else {
            "org.apache.pinot.plugin.stream.kafka20.KafkaConsumerFactory"
        }
    }
}

/// The controller's release in a `GET /version` answer, which maps each Pinot jar's
/// title to its version (`"pinot-controller": "0.11.0-<sha>"`); a shaded distribution
/// may list other titles only.
pub fn controller_release(answer: &serde_json::Value) -> Option<Release> {
    let known = ["pinot-controller", "pinot-common", "pinot-spi"];
    let by_title = known.iter().filter_map(|t| answer.get(*t));
    let any = answer.as_object().into_iter().flat_map(|m| m.values());
    by_title
        .chain(any)
        .find_map(|v| v.as_str().and_then(Release::parse))
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The Pinot to run: its classpath directories and release.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub classpath: Vec<PathBuf>,
    pub release: Release,
}

impl Runtime {
    /// The Pinot the environment variables name, else the fetched one. Fails saying how
    /// to fix it, never skips.
    pub fn locate() -> anyhow::Result<Runtime> {
        match std::env::var_os(LIB_VAR) {
            Some(lib) => Runtime::supplied(Path::new(&lib)),
            None => Runtime::fetched(),
        }
    }

    fn fetched() -> anyhow::Result<Runtime> {
        let dir = component_dir("pinot", "PINOT_VERSION");
        // fetch-pinot.sh writes the marker last and renames the directory into place.
        if !dir.join(".complete").is_file() {
            bail!(
                "{} is missing: run tools/fetch-pinot.sh (needs Maven and Java 11+) to fetch \
                 Apache Pinot {} from Maven Central",
                dir.display(),
                version("PINOT_VERSION"),
            );
        }
        let release = Release::parse(version("PINOT_VERSION"))
            .context("tools/versions.env: PINOT_VERSION is not a release number")?;
        Ok(Runtime {
            classpath: vec![dir.join("lib")],
            release,
        })
    }

    fn supplied(lib: &Path) -> anyhow::Result<Runtime> {
        let text = std::env::var(VERSION_VAR)
            .with_context(|| format!("{LIB_VAR} is set: set {VERSION_VAR} to its release too"))?;
        let release = Release::parse(&text)
            .with_context(|| format!("{VERSION_VAR}={text:?} is not a release like 1.5.1"))?;
        let mut classpath = vec![];
        jar_dirs(lib, &mut classpath).with_context(|| format!("{LIB_VAR}={}", lib.display()))?;
        if classpath.is_empty() {
            bail!("{LIB_VAR}={} holds no jars", lib.display());
        }
        Ok(Runtime { classpath, release })
    }
}

/// `dir` and every directory below it that holds a `.jar`, in a stable order.
fn jar_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    if entries
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "jar"))
    {
        found.push(dir.to_owned());
    }
    for sub in entries.iter().filter(|p| p.is_dir()) {
        jar_dirs(sub, found)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_and_order() {
        assert_eq!(Release::parse("0.11.0"), Some(Release(0, 11, 0)));
        assert_eq!(Release::parse("1.5.1-SNAPSHOT"), Some(Release(1, 5, 1)));
        assert_eq!(Release::parse("1.4"), Some(Release(1, 4, 0)));
        assert_eq!(Release::parse("latest"), None);
        assert!(Release(0, 11, 0) < Release(1, 5, 1));
        assert_eq!(Release(1, 5, 1).to_string(), "1.5.1");
    }

    #[test]
    fn the_controller_s_release_from_get_version() {
        let answer =
            serde_json::json!({"pinot-broker": "0.11.0-abc", "pinot-controller": "0.11.0-def"});
        assert_eq!(controller_release(&answer), Some(Release(0, 11, 0)));
        let shaded = serde_json::json!({"pinot-all": "UNKNOWN", "pinot-x": "1.5.1"});
        assert_eq!(controller_release(&shaded), Some(Release(1, 5, 1)));
        assert_eq!(controller_release(&serde_json::json!({})), None);
    }

    #[test]
    fn what_differs_between_releases() {
        let (old, new) = (Release(0, 11, 0), Release(1, 5, 1));
        assert!(!old.has_multi_stage_engine() && new.has_multi_stage_engine());
        assert!(old.kafka_consumer_factory().contains(".kafka20."));
        assert!(new.kafka_consumer_factory().contains(".kafka30."));
    }

    #[test]
    fn every_directory_with_jars_joins_the_classpath() {
        let root = tempfile::tempdir().unwrap();
        let lib = root.path().join("lib");
        let plugin = root.path().join("plugins/stream/kafka-3.0");
        let empty = root.path().join("plugins/empty");
        for dir in [&lib, &plugin, &empty] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(lib.join("pinot-all.jar"), b"").unwrap();
        std::fs::write(plugin.join("kafka.jar"), b"").unwrap();
        std::fs::write(empty.join("README"), b"").unwrap();
        let mut found = vec![];
        jar_dirs(root.path(), &mut found).unwrap();
        assert_eq!(found, vec![lib, plugin]);
    }
}

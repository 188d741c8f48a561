//! Pinot release numbers, for behaviour that differs between releases.

use std::collections::BTreeMap;
use std::fmt;

/// A Pinot release such as `0.11.0` or `1.5.1`. Ordered, so callers can write
/// `v >= PinotVersion::new(1, 4, 0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PinotVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl PinotVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        PinotVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses the leading `X.Y[.Z]` of strings like `0.11.0-1b4d6b6b0a27…` (what a
    /// 0.11.0 controller reports) or `1.5.1-SNAPSHOT`. `None` for `UNKNOWN` etc.
    pub fn parse(text: &str) -> Option<Self> {
        let numeric = text.trim().split(['-', '+', ' ']).next()?;
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        Some(PinotVersion::new(major, minor, patch))
    }
}

impl fmt::Display for PinotVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Picks the controller's version out of `GET /version`, which maps each Pinot jar's
/// `Implementation-Title` to its `Implementation-Version` (e.g. `"pinot-controller":
/// "0.11.0-<sha>"`). Shaded distributions may list only other titles.
pub(crate) fn controller_version(components: &BTreeMap<String, String>) -> Option<String> {
    let usable = |v: &&String| !v.is_empty() && !v.eq_ignore_ascii_case("unknown");
    ["pinot-controller", "pinot-common", "pinot-spi"]
        .iter()
        .find_map(|key| components.get(*key).filter(usable))
        .or_else(|| components.values().find(usable))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        assert_eq!(
            PinotVersion::parse("0.11.0-1b4d6b6b0a27422c1552ea1a936ad145056f7033"),
            Some(PinotVersion::new(0, 11, 0))
        );
        assert_eq!(
            PinotVersion::parse("1.5.1"),
            Some(PinotVersion::new(1, 5, 1))
        );
        assert_eq!(
            PinotVersion::parse("1.4-SNAPSHOT"),
            Some(PinotVersion::new(1, 4, 0))
        );
        assert_eq!(PinotVersion::parse("UNKNOWN"), None);
        assert_eq!(PinotVersion::parse(""), None);
        assert!(PinotVersion::new(0, 11, 0) < PinotVersion::new(1, 4, 0));
        assert_eq!(PinotVersion::new(1, 4, 0).to_string(), "1.4.0");
    }

    #[test]
    fn picks_the_controller_component() {
        let mut components = BTreeMap::new();
        components.insert("pinot-broker".to_string(), "0.11.0-abc".to_string());
        components.insert("pinot-controller".to_string(), "0.11.0-def".to_string());
        assert_eq!(
            controller_version(&components).as_deref(),
            Some("0.11.0-def")
        );

        let shaded = BTreeMap::from([
            ("pinot-all".to_string(), "UNKNOWN".to_string()),
            ("pinot-x".to_string(), "1.5.1".to_string()),
        ]);
        assert_eq!(controller_version(&shaded).as_deref(), Some("1.5.1"));
        assert_eq!(controller_version(&BTreeMap::new()), None);
    }
}

//! Small enums shared by several endpoints.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Pinot table type. Serialised and displayed as Pinot spells it: `OFFLINE`/`REALTIME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TableType {
    Offline,
    Realtime,
}

impl TableType {
    pub fn as_str(self) -> &'static str {
        match self {
            TableType::Offline => "OFFLINE",
            TableType::Realtime => "REALTIME",
        }
    }

    /// Pinot's physical table name: `events` -> `events_OFFLINE`. Idempotent.
    pub fn table_name_with_type(self, raw_name: &str) -> String {
        let suffix = format!("_{}", self.as_str());
        if raw_name.ends_with(&suffix) {
            raw_name.to_owned()
        } else {
            format!("{raw_name}{suffix}")
        }
    }
}

impl fmt::Display for TableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of instances a tenant groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TenantRole {
    Server,
    Broker,
}

impl TenantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantRole::Server => "SERVER",
            TenantRole::Broker => "BROKER",
        }
    }
}

impl fmt::Display for TenantRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_like_pinot() {
        assert_eq!(TableType::Offline.to_string(), "OFFLINE");
        assert_eq!(
            serde_json::to_string(&TableType::Realtime).unwrap(),
            "\"REALTIME\""
        );
        assert_eq!(
            serde_json::from_str::<TableType>("\"OFFLINE\"").unwrap(),
            TableType::Offline
        );
        assert_eq!(TenantRole::Broker.to_string(), "BROKER");
        assert_eq!(
            serde_json::to_string(&TenantRole::Server).unwrap(),
            "\"SERVER\""
        );
    }

    #[test]
    fn physical_table_names() {
        assert_eq!(
            TableType::Offline.table_name_with_type("events"),
            "events_OFFLINE"
        );
        assert_eq!(
            TableType::Offline.table_name_with_type("events_OFFLINE"),
            "events_OFFLINE"
        );
        assert_eq!(
            TableType::Realtime.table_name_with_type("events"),
            "events_REALTIME"
        );
    }
}

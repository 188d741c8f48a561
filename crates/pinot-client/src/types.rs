//! Small enums shared by several endpoints.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Pinot table type: the CRD crate's, which already spells it as Pinot does, so the
/// operator passes a `PinotTable`'s type straight through.
pub use api::table::TableType;

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

/// The CRD's role (`Server`/`Broker`, Kubernetes enum style) as Pinot's (`SERVER`/
/// `BROKER`). Two types rather than one because their serialised spellings differ.
impl From<api::tenant::TenantRole> for TenantRole {
    fn from(role: api::tenant::TenantRole) -> TenantRole {
        match role {
            api::tenant::TenantRole::Server => TenantRole::Server,
            api::tenant::TenantRole::Broker => TenantRole::Broker,
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

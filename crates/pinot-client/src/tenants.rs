//! Tenants: `/tenants`. A tenant is only a tag on instances (`<name>_OFFLINE`,
//! `<name>_REALTIME`, `<name>_BROKER`); Pinot has no tenant object of its own.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::types::TenantRole;

/// A tenant to create or resize. For a broker tenant only `number_of_instances`
/// counts. For a server tenant, `offline_instances + realtime_instances >
/// number_of_instances` makes Pinot co-locate both tags on the same servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub role: TenantRole,
    pub name: String,
    pub number_of_instances: u32,
    pub offline_instances: u32,
    pub realtime_instances: u32,
}

/// Tenant names found on instance tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tenants {
    pub server_tenants: Vec<String>,
    pub broker_tenants: Vec<String>,
}

#[derive(Deserialize)]
struct TenantList {
    #[serde(rename = "SERVER_TENANTS", default)]
    server: Option<BTreeSet<String>>,
    #[serde(rename = "BROKER_TENANTS", default)]
    broker: Option<BTreeSet<String>>,
}

#[derive(Deserialize, Default)]
struct TenantInstances {
    #[serde(rename = "ServerInstances", default)]
    server: Option<BTreeSet<String>>,
    #[serde(rename = "BrokerInstances", default)]
    broker: Option<BTreeSet<String>>,
}

impl PinotClient {
    /// `GET /tenants`: every tenant some live-or-not instance is tagged with.
    pub async fn list_tenants(&self) -> Result<Tenants, Error> {
        let list: TenantList = self.json(Request::new("GET /tenants", ["tenants"])).await?;
        Ok(Tenants {
            server_tenants: list.server.unwrap_or_default().into_iter().collect(),
            broker_tenants: list.broker.unwrap_or_default().into_iter().collect(),
        })
    }

    /// `GET /tenants/{name}?type=..`: instances tagged for the tenant (sorted; for a
    /// server tenant both its OFFLINE and REALTIME instances). Pinot answers 404 when no
    /// instance carries the tag; that is an empty list here.
    pub async fn tenant_instances(
        &self,
        name: &str,
        role: TenantRole,
    ) -> Result<Vec<String>, Error> {
        let request = Request::new("GET /tenants/{name}", ["tenants", name]).query("type", role);
        let found: Option<TenantInstances> = none_if_not_found(self.json(request).await)?;
        let found = found.unwrap_or_default();
        let instances = match role {
            TenantRole::Server => found.server,
            TenantRole::Broker => found.broker,
        };
        Ok(instances.unwrap_or_default().into_iter().collect())
    }

    /// `POST /tenants`: tags that many *untagged* instances (`server_untagged` /
    /// `broker_untagged`) for the tenant. Pinot answers a bare 500 "Failed to create
    /// tenant" (reason only in the controller log) when there are not enough untagged
    /// instances. Not retried once sent: a repeat would tag more instances.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), Error> {
        let body = tenant_body(tenant);
        self.execute(Request::new("POST /tenants", ["tenants"]).json(&body))
            .await?;
        Ok(())
    }

    /// `PUT /tenants`: grows or shrinks the tenant to the given counts (500 on failure,
    /// e.g. not enough untagged instances, or a change of co-location).
    pub async fn update_tenant(&self, tenant: &Tenant) -> Result<(), Error> {
        let body = tenant_body(tenant);
        self.execute(Request::new("PUT /tenants", ["tenants"]).json(&body))
            .await?;
        Ok(())
    }

    /// `DELETE /tenants/{name}?type=..`: untags the tenant's instances. 400 while a
    /// table's segments are on them (server) or the brokers serve a table (broker).
    pub async fn delete_tenant(&self, name: &str, role: TenantRole) -> Result<(), Error> {
        let request = Request::new("DELETE /tenants/{name}", ["tenants", name]).query("type", role);
        self.execute(request).await?;
        Ok(())
    }
}

/// Pinot's `Tenant` JSON. Roles are upper case: Pinot deserialises the enum strictly.
fn tenant_body(tenant: &Tenant) -> Value {
    json!({
        "tenantRole": tenant.role.as_str(),
        "tenantName": tenant.name,
        "numberOfInstances": tenant.number_of_instances,
        "offlineInstances": tenant.offline_instances,
        "realtimeInstances": tenant.realtime_instances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_json_matches_pinot() {
        let body = tenant_body(&Tenant {
            role: TenantRole::Server,
            name: "analytics".into(),
            number_of_instances: 2,
            offline_instances: 1,
            realtime_instances: 1,
        });
        assert_eq!(
            body,
            json!({"tenantRole": "SERVER", "tenantName": "analytics", "numberOfInstances": 2,
                   "offlineInstances": 1, "realtimeInstances": 1})
        );
    }

    #[test]
    fn tenant_lists_tolerate_missing_halves() {
        let list: TenantList =
            serde_json::from_str(r#"{"SERVER_TENANTS":["b","a"],"BROKER_TENANTS":null}"#).unwrap();
        assert_eq!(
            list.server.unwrap().into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(list.broker.is_none());
    }
}

//! `PinotTenant` → Pinot tenant (instance tags), through Pinot's tenant API.

use api::tenant::TenantRole as SpecRole;
use api::{ContentStatus, DeletionPolicy, PinotTenant};
use pinot_client::{Tenant, TenantRole};
use serde_json::json;

use super::compare::hash;
use super::error::SyncError;
use super::{ContentResource, Outcome, SyncContext, Synced};

/// Pure: the tenant Pinot should have, from the spec.
pub fn desired_tenant(tenant: &PinotTenant) -> Tenant {
    let spec = &tenant.spec;
    let count = |v: Option<i32>| u32::try_from(v.unwrap_or(0)).unwrap_or(0);
    match spec.role {
        SpecRole::Broker => Tenant {
            role: TenantRole::Broker,
            name: spec.name.clone(),
            number_of_instances: count(spec.instances),
            offline_instances: 0,
            realtime_instances: 0,
        },
        SpecRole::Server => {
            let (offline, realtime) = (
                count(spec.offline_instances),
                count(spec.realtime_instances),
            );
            Tenant {
                role: TenantRole::Server,
                name: spec.name.clone(),
                // Dedicated servers per table type unless the spec asks for fewer, which
                // makes Pinot co-locate both tags.
                number_of_instances: spec
                    .instances
                    .map_or(offline + realtime, |n| count(Some(n))),
                offline_instances: offline,
                realtime_instances: realtime,
            }
        }
    }
}

impl ContentResource for PinotTenant {
    const CONTROLLER: &'static str = "pinottenant";

    fn cluster_name(&self) -> &str {
        &self.spec.cluster_ref.name
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn content_status(&self) -> Option<&ContentStatus> {
        self.status.as_ref()
    }

    fn pinot_object(&self) -> String {
        let role = match self.spec.role {
            SpecRole::Server => "server",
            SpecRole::Broker => "broker",
        };
        format!("{role} tenant {}", self.spec.name)
    }

    fn desired_hash(&self) -> String {
        let s = &self.spec;
        hash(&json!([
            s.role,
            s.name,
            s.instances,
            s.offline_instances,
            s.realtime_instances
        ]))
    }

    async fn sync(&self, cx: &SyncContext<'_>) -> Result<Synced, SyncError> {
        let desired = desired_tenant(self);
        let known = cx.pinot.list_tenants().await?;
        let names = match desired.role {
            TenantRole::Server => &known.server_tenants,
            TenantRole::Broker => &known.broker_tenants,
        };
        let exists = names.contains(&desired.name);
        cx.known.tenants.put(cx.cluster, known.clone());
        if !exists {
            if desired.number_of_instances == 0 {
                return Ok(Synced::new(Outcome::InSync));
            }
            // Tables naming the tenant read the list again once it exists.
            cx.known.tenants.forget(cx.cluster);
            cx.pinot.create_tenant(&desired).await?;
            return Ok(Synced::new(Outcome::Created));
        }
        let instances = cx
            .pinot
            .tenant_instances(&desired.name, desired.role)
            .await?;
        if instances.len() as u32 == desired.number_of_instances {
            return Ok(Synced::new(Outcome::InSync));
        }
        cx.known.tenants.forget(cx.cluster);
        cx.pinot.update_tenant(&desired).await?;
        Ok(Synced::new(Outcome::Updated))
    }

    async fn remove(&self, cx: &SyncContext<'_>) -> Result<(), SyncError> {
        let role = TenantRole::from(self.spec.role);
        cx.known.tenants.forget(cx.cluster);
        let deleted = cx.pinot.delete_tenant(&self.spec.name, role).await;
        // A listing that ran during the delete may have put the tenant back.
        cx.known.tenants.forget(cx.cluster);
        match deleted {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(yaml: &str) -> PinotTenant {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn server_tenants_get_dedicated_instances_per_type() {
        let t = tenant(
            "apiVersion: pinot.operator.dev/v1alpha1\nkind: PinotTenant\nmetadata: {name: a}\n\
             spec: {clusterRef: {name: c}, role: Server, name: analytics, offlineInstances: 2, realtimeInstances: 1}",
        );
        let d = desired_tenant(&t);
        assert_eq!(
            (
                d.number_of_instances,
                d.offline_instances,
                d.realtime_instances
            ),
            (3, 2, 1)
        );
    }

    #[test]
    fn broker_tenants_use_instances() {
        let t = tenant(
            "apiVersion: pinot.operator.dev/v1alpha1\nkind: PinotTenant\nmetadata: {name: a}\n\
             spec: {clusterRef: {name: c}, role: Broker, name: analytics, instances: 1}",
        );
        assert_eq!(desired_tenant(&t).number_of_instances, 1);
    }
}

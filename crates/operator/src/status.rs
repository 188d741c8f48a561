//! Writing a custom resource's status, the same way for every controller: one
//! server-side apply of the whole status with the operator's field manager, and no
//! write at all when nothing changed (a steady resync costs no write).

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Applies `new` as `obj`'s status unless it equals `current`; returns whether it wrote.
pub async fn patch<K, S>(
    client: &Client,
    obj: &K,
    current: Option<&S>,
    new: S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
    S: Serialize + PartialEq,
{
    if current == Some(&new) {
        return Ok(false);
    }
    let api: Api<K> = Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    let params = PatchParams::apply(crate::FIELD_MANAGER).force();
    api.patch_status(&obj.name_any(), &params, &Patch::Apply(&patch))
        .await?;
    Ok(true)
}

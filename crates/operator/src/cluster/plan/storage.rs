//! Data volumes whose size changes on an existing pool, decided purely.
//!
//! A StatefulSet's `volumeClaimTemplates` cannot be changed, so a larger
//! `storage.size` cannot simply be applied (the apiserver refuses it). Instead:
//!
//! 1. every claim of the pool is expanded in place (its `spec.resources.requests`;
//!    the StorageClass must allow expansion, and its driver grows the volume);
//! 2. the StatefulSet is deleted with orphan propagation: its pods and claims stay,
//!    and keep serving;
//! 3. the next reconcile finds no StatefulSet and creates it with the new templates;
//!    it adopts the running pods. The pod template did not change, so neither did the
//!    revision, and no pod restarts, unless the driver grows the file system only on
//!    the next mount (the claim's `FileSystemResizePending`): then that pod restarts
//!    like an outdated one (`observe::workloads::awaits_resize`).
//!
//! A claim template added or removed (`kubernetes.volumeClaims`, or a minion's
//! `storage`) takes the same re-creation, with nothing to expand; the pod template
//! changed too (a mount), so the rollout then restarts the pods, and each restarted
//! pod gets its new claim. A removed template's claims stay, with their data.
//!
//! A smaller size, or another StorageClass, cannot be done to a bound volume: the
//! change is refused with a condition naming the pool and what it has.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::cluster::desired::DesiredPool;
use crate::cluster::desired::jvm::quantity_bytes;
use crate::cluster::observe::workloads::{ObservedClaim, ObservedSet};

/// One claim to grow: `<template>-<workload>-<ordinal>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Grow {
    pub claim: String,
    pub size: Quantity,
}

/// What a pool update does to its data volumes, when it is more than a plain update.
#[derive(Debug, Clone, PartialEq)]
pub enum Resize {
    /// Expand these claims (maybe none), then re-create the StatefulSet.
    Recreate(Vec<Grow>),
    /// The change cannot be made (why).
    Refused(String),
}

/// What updating `pool`, whose StatefulSet is `set`, does to its volumes; `None`: the
/// templates are as applied, a plain update.
pub fn resize(pool: &DesiredPool, set: &ObservedSet) -> Option<Resize> {
    let wanted = templates(pool);
    let mut grown = vec![];
    for (name, want) in &wanted {
        let Some(has) = set.claims.get(name) else {
            continue;
        };
        if want.storage_class != has.storage_class {
            return Some(Resize::Refused(format!(
                "{}: storageClassName of volume {name} cannot change on an existing pool (it is {}); \
                 create a new pool instead",
                pool.id,
                has.storage_class.as_deref().unwrap_or("the default")
            )));
        }
        match compare(&want.size, &has.size) {
            Some(std::cmp::Ordering::Less) => {
                return Some(Resize::Refused(format!(
                    "{}: volume {name} cannot shrink from {} to {} (Kubernetes does not shrink volumes); \
                     set storage.size back to at least {}",
                    pool.id,
                    show(&has.size),
                    show(&want.size),
                    show(&has.size)
                )));
            }
            Some(std::cmp::Ordering::Greater) => {
                grown.extend(want.size.clone().map(|s| (name.clone(), s)))
            }
            _ => {}
        }
    }
    let reshaped = wanted.keys().ne(set.claims.keys());
    if grown.is_empty() && !reshaped {
        return None;
    }
    let ordinals = 0..set.replicas.max(pool.replicas);
    let workload = pool.workload();
    let claims = ordinals.flat_map(|i| {
        grown.iter().map(move |(name, size)| Grow {
            claim: format!("{name}-{workload}-{i}"),
            size: size.clone(),
        })
    });
    Some(Resize::Recreate(claims.collect()))
}

/// The pool's claim templates, by name.
fn templates(pool: &DesiredPool) -> BTreeMap<String, ObservedClaim> {
    let spec = pool.statefulset.spec.as_ref();
    let claims = spec.and_then(|s| s.volume_claim_templates.as_ref());
    claims
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                ObservedClaim::of(c),
            )
        })
        .collect()
}

fn compare(want: &Option<Quantity>, has: &Option<Quantity>) -> Option<std::cmp::Ordering> {
    let (want, has) = (
        quantity_bytes(want.as_ref()?)?,
        quantity_bytes(has.as_ref()?)?,
    );
    want.partial_cmp(&has)
}

fn show(size: &Option<Quantity>) -> &str {
    size.as_ref().map_or("no size", |q| q.0.as_str())
}

#[cfg(test)]
mod tests;

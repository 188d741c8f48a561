//! How the `pinot:` and `kubernetes:` blocks of the cluster, a role and a pool
//! combine into the settings of one pool.
//!
//! Levels are applied from least to most specific — cluster, then role, then pool —
//! and the rules follow the field docs in `api::settings`:
//!
//! | field | rule |
//! |---|---|
//! | `pinot.properties` | merged key by key; the most specific level that sets a key wins |
//! | `pinot.jvmOptions` | the most specific level that sets it wins (no concatenation); unset everywhere: heap derived from the memory limit |
//! | `kubernetes.resources` | replaced as a whole by the most specific level that sets it (requests and limits are one decision) |
//! | `kubernetes.storage.size`, `.storageClassName` | each merged separately; most specific wins |
//! | `kubernetes.volumeClaims` | merged by name; a more specific level replaces an entry in place, new names are appended |
//! | `kubernetes.nodeSelector`, `podLabels`, `podAnnotations` | merged key by key; most specific wins (labels the operator sets are applied after, so they cannot be overridden) |
//! | `kubernetes.tolerations`, `affinity`, `imagePullSecrets` | replaced as a whole by the most specific level that sets any |
//! | `kubernetes.env` | merged by variable name; a more specific level replaces a variable of the same name in place, new names are appended |
//! | `kubernetes.serviceAccountName`, `terminationGracePeriodSeconds` | most specific wins |
//! | `kubernetes.podOverrides` | not merged here: each level patches the built pod template in turn ([`super::overrides`]) |
//!
//! The managed ZooKeeper ensemble does not inherit the cluster-level `kubernetes:`
//! block (its own `zookeeper.managed.kubernetes` is its only level).

use std::collections::BTreeMap;

use api::settings::{KubernetesSettings, PinotSettings, StorageSettings, VolumeClaimSettings};
use k8s_openapi::api::core::v1::EnvVar;

/// The settings of one pool after merging its levels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolSettings {
    pub pinot: PinotSettings,
    pub kubernetes: KubernetesSettings,
}

/// Merges cluster, role and pool levels (least specific first).
pub fn pool_settings(pinot: &[&PinotSettings], kubernetes: &[&KubernetesSettings]) -> PoolSettings {
    PoolSettings {
        pinot: pinot.iter().fold(PinotSettings::default(), |acc, level| {
            merge_pinot(acc, level)
        }),
        kubernetes: kubernetes
            .iter()
            .fold(KubernetesSettings::default(), |acc, level| {
                merge_kubernetes(acc, level)
            }),
    }
}

/// `over` applied on top of `base`.
pub fn merge_pinot(mut base: PinotSettings, over: &PinotSettings) -> PinotSettings {
    extend(&mut base.properties, &over.properties);
    base.jvm_options = over.jvm_options.clone().or(base.jvm_options);
    base
}

/// `over` applied on top of `base`.
pub fn merge_kubernetes(
    mut base: KubernetesSettings,
    over: &KubernetesSettings,
) -> KubernetesSettings {
    base.resources = over.resources.clone().or(base.resources);
    base.storage = merge_storage(base.storage, over.storage.as_ref());
    merge_claims(&mut base.volume_claims, &over.volume_claims);
    extend(&mut base.node_selector, &over.node_selector);
    base.tolerations = over.tolerations.clone().or(base.tolerations);
    base.affinity = over.affinity.clone().or(base.affinity);
    extend(&mut base.pod_labels, &over.pod_labels);
    extend(&mut base.pod_annotations, &over.pod_annotations);
    base.env = merge_env(base.env, over.env.as_deref());
    base.service_account_name = over
        .service_account_name
        .clone()
        .or(base.service_account_name);
    base.image_pull_secrets = over.image_pull_secrets.clone().or(base.image_pull_secrets);
    base.termination_grace_period_seconds = over
        .termination_grace_period_seconds
        .or(base.termination_grace_period_seconds);
    base
}

fn extend(base: &mut BTreeMap<String, String>, over: &BTreeMap<String, String>) {
    base.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
}

fn merge_storage(
    base: Option<StorageSettings>,
    over: Option<&StorageSettings>,
) -> Option<StorageSettings> {
    let Some(over) = over else { return base };
    let base = base.unwrap_or_default();
    Some(StorageSettings {
        size: over.size.clone().or(base.size),
        storage_class_name: over.storage_class_name.clone().or(base.storage_class_name),
    })
}

fn merge_claims(base: &mut Vec<VolumeClaimSettings>, over: &[VolumeClaimSettings]) {
    for claim in over {
        match base.iter_mut().find(|c| c.name == claim.name) {
            Some(same) => *same = claim.clone(),
            None => base.push(claim.clone()),
        }
    }
}

fn merge_env(base: Option<Vec<EnvVar>>, over: Option<&[EnvVar]>) -> Option<Vec<EnvVar>> {
    let Some(over) = over else { return base };
    let mut merged = base.unwrap_or_default();
    override_env(&mut merged, over);
    Some(merged)
}

/// Environment variables merged by name: each of `over` replaces the variable of the
/// same name in `vars` where it stands, or is appended. Both the pool-over-role merge
/// and the user-over-operator merge of pod variables.
pub(crate) fn override_env<'a>(vars: &mut Vec<EnvVar>, over: impl IntoIterator<Item = &'a EnvVar>) {
    for var in over {
        match vars.iter_mut().find(|v| v.name == var.name) {
            Some(existing) => *existing = var.clone(),
            None => vars.push(var.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;

    fn props(pairs: &[(&str, &str)]) -> PinotSettings {
        PinotSettings {
            properties: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            jvm_options: None,
        }
    }

    fn env(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }

    #[test]
    fn properties_merge_key_by_key_pool_wins() {
        let cluster = props(&[("a", "cluster"), ("b", "cluster")]);
        let role = props(&[("b", "role"), ("c", "role")]);
        let pool = props(&[("c", "pool")]);
        let merged = pool_settings(&[&cluster, &role, &pool], &[])
            .pinot
            .properties;
        assert_eq!(merged["a"], "cluster");
        assert_eq!(merged["b"], "role");
        assert_eq!(merged["c"], "pool");
    }

    #[test]
    fn jvm_options_most_specific_wins_and_unset_levels_do_not_clear() {
        let cluster = PinotSettings {
            jvm_options: Some("-Xmx1g".into()),
            ..Default::default()
        };
        let role = PinotSettings::default();
        let pool = PinotSettings::default();
        let merged = pool_settings(&[&cluster, &role, &pool], &[]).pinot;
        assert_eq!(merged.jvm_options.as_deref(), Some("-Xmx1g"));
        let pool = PinotSettings {
            jvm_options: Some("-Xmx4g".into()),
            ..Default::default()
        };
        let merged = pool_settings(&[&cluster, &role, &pool], &[]).pinot;
        assert_eq!(merged.jvm_options.as_deref(), Some("-Xmx4g"));
    }

    #[test]
    fn volume_claims_merge_by_name() {
        let claim = |name: &str, size: &str| VolumeClaimSettings {
            name: name.into(),
            mount_path: format!("/mnt/{name}"),
            size: Quantity(size.into()),
            storage_class_name: None,
        };
        let cluster = KubernetesSettings {
            volume_claims: vec![claim("logs", "1Gi"), claim("cache", "5Gi")],
            ..KubernetesSettings::default()
        };
        let pool = KubernetesSettings {
            volume_claims: vec![claim("cache", "50Gi"), claim("spill", "2Gi")],
            ..KubernetesSettings::default()
        };
        let merged = pool_settings(&[], &[&cluster, &pool])
            .kubernetes
            .volume_claims;
        assert_eq!(
            merged,
            [
                claim("logs", "1Gi"),
                claim("cache", "50Gi"),
                claim("spill", "2Gi")
            ]
        );
    }

    #[test]
    fn storage_size_and_class_merge_separately() {
        let cluster = KubernetesSettings {
            storage: Some(StorageSettings {
                size: Some(Quantity("10Gi".into())),
                storage_class_name: Some("standard".into()),
            }),
            ..Default::default()
        };
        let pool = KubernetesSettings {
            storage: Some(StorageSettings {
                size: None,
                storage_class_name: Some("nvme".into()),
            }),
            ..Default::default()
        };
        let storage = pool_settings(&[], &[&cluster, &pool])
            .kubernetes
            .storage
            .unwrap();
        assert_eq!(storage.size, Some(Quantity("10Gi".into())));
        assert_eq!(storage.storage_class_name.as_deref(), Some("nvme"));
    }

    #[test]
    fn resources_are_replaced_as_a_whole() {
        let with = |cpu: Option<&str>, memory: Option<&str>| KubernetesSettings {
            resources: Some(ResourceRequirements {
                limits: Some(
                    cpu.map(|c| ("cpu".to_string(), Quantity(c.into())))
                        .into_iter()
                        .chain(memory.map(|m| ("memory".to_string(), Quantity(m.into()))))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let role = with(Some("2"), Some("4Gi"));
        let pool = with(None, Some("8Gi"));
        let limits = pool_settings(&[], &[&role, &pool])
            .kubernetes
            .resources
            .unwrap()
            .limits
            .unwrap();
        assert_eq!(limits.len(), 1, "the role's cpu limit must not leak in");
        assert_eq!(limits["memory"], Quantity("8Gi".into()));
    }

    #[test]
    fn node_selector_and_labels_merge_key_by_key() {
        let cluster = KubernetesSettings {
            node_selector: BTreeMap::from([
                ("zone".into(), "a".into()),
                ("disk".into(), "any".into()),
            ]),
            pod_labels: BTreeMap::from([("team".into(), "data".into())]),
            ..Default::default()
        };
        let pool = KubernetesSettings {
            node_selector: BTreeMap::from([("disk".into(), "nvme".into())]),
            pod_labels: BTreeMap::from([("tier".into(), "hot".into())]),
            ..Default::default()
        };
        let merged = pool_settings(&[], &[&cluster, &pool]).kubernetes;
        assert_eq!(merged.node_selector["zone"], "a");
        assert_eq!(merged.node_selector["disk"], "nvme");
        assert_eq!(merged.pod_labels.len(), 2);
    }

    #[test]
    fn tolerations_are_replaced_by_the_most_specific_level() {
        let toleration = |key: &str| Toleration {
            key: Some(key.into()),
            ..Default::default()
        };
        let cluster = KubernetesSettings {
            tolerations: Some(vec![toleration("a"), toleration("b")]),
            ..Default::default()
        };
        let pool = KubernetesSettings {
            tolerations: Some(vec![toleration("c")]),
            ..Default::default()
        };
        let merged = pool_settings(&[], &[&cluster, &KubernetesSettings::default(), &pool]);
        assert_eq!(merged.kubernetes.tolerations, Some(vec![toleration("c")]));
    }

    #[test]
    fn env_merges_by_name_in_place() {
        let cluster = KubernetesSettings {
            env: Some(vec![env("A", "1"), env("B", "1")]),
            ..Default::default()
        };
        let pool = KubernetesSettings {
            env: Some(vec![env("B", "2"), env("C", "2")]),
            ..Default::default()
        };
        let merged = pool_settings(&[], &[&cluster, &pool])
            .kubernetes
            .env
            .unwrap();
        assert_eq!(merged, vec![env("A", "1"), env("B", "2"), env("C", "2")]);
    }

    #[test]
    fn scalars_most_specific_wins() {
        let cluster = KubernetesSettings {
            service_account_name: Some("pinot".into()),
            termination_grace_period_seconds: Some(100),
            ..Default::default()
        };
        let pool = KubernetesSettings {
            termination_grace_period_seconds: Some(600),
            ..Default::default()
        };
        let merged = pool_settings(&[], &[&cluster, &pool]).kubernetes;
        assert_eq!(merged.service_account_name.as_deref(), Some("pinot"));
        assert_eq!(merged.termination_grace_period_seconds, Some(600));
    }
}

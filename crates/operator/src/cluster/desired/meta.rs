//! Object metadata every generated object shares, and the content hash.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Metadata of a generated object: name, namespace, labels and the owner reference
/// to the `PinotCluster` (so deleting the cluster garbage-collects it).
pub fn object_meta(
    name: String,
    namespace: &str,
    labels: BTreeMap<String, String>,
    owner: &OwnerReference,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        owner_references: Some(vec![owner.clone()]),
        ..ObjectMeta::default()
    }
}

/// Short hex SHA-256 of a value's JSON: the config and spec hashes stamped on
/// generated objects.
pub use crate::hash::hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_short() {
        let a = hash(&BTreeMap::from([("b", 1), ("a", 2)]));
        let b = hash(&BTreeMap::from([("a", 2), ("b", 1)]));
        assert_eq!(a, b);
        assert_eq!(a.len(), 16);
        assert_ne!(a, hash(&BTreeMap::from([("a", 3)])));
    }
}

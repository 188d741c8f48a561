//! Object metadata every generated object shares, and the content hash.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// Short hex SHA-256 of a value's JSON. Maps are `BTreeMap`s and structs serialize in
/// declaration order, so equal values always hash equal.
pub fn hash<T: Serialize + ?Sized>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("generated objects serialize");
    let digest = Sha256::digest(&json);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

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

use super::*;
use crate::cluster::desired::tests::desired;
use crate::cluster::observe::workloads::running;

/// The hot server pool as desired, and its StatefulSet holding `size` of `class`.
fn hot_with(size: &str, class: Option<&str>) -> (DesiredPool, ObservedSet) {
    let d = desired();
    let pool = d.pools.iter().find(|p| p.id.pool == "hot").unwrap().clone();
    let observed = running(&d, "x");
    let mut set = observed.pools["analytics-server-hot"].set.clone().unwrap();
    let claim = ObservedClaim {
        size: Some(Quantity(size.into())),
        storage_class: class.map(str::to_owned),
    };
    set.claims = BTreeMap::from([("data".to_owned(), claim)]);
    (pool, set)
}

/// The hot pool's template: its size and class, as the fixture spec gives them.
fn wanted() -> ObservedClaim {
    templates(desired().pools.iter().find(|p| p.id.pool == "hot").unwrap())["data"].clone()
}

#[test]
fn the_same_volumes_are_a_plain_update() {
    let want = wanted();
    let (pool, set) = hot_with(&want.size.unwrap().0, want.storage_class.as_deref());
    assert_eq!(resize(&pool, &set), None);
}

#[test]
fn a_larger_size_expands_every_claim_of_the_pool() {
    let want = wanted();
    let (pool, mut set) = hot_with("1Gi", want.storage_class.as_deref());
    set.replicas = pool.replicas + 1;
    let Some(Resize::Recreate(claims)) = resize(&pool, &set) else {
        panic!("{:?}", resize(&pool, &set))
    };
    let names: Vec<&str> = claims.iter().map(|c| c.claim.as_str()).collect();
    let expected: Vec<String> = (0..set.replicas)
        .map(|i| format!("data-analytics-server-hot-{i}"))
        .collect();
    assert_eq!(names, expected);
    assert!(claims.iter().all(|c| Some(&c.size) == want.size.as_ref()));
}

#[test]
fn a_smaller_size_or_another_class_is_refused() {
    let want = wanted();
    let (pool, set) = hot_with("100Ti", want.storage_class.as_deref());
    let Some(Resize::Refused(why)) = resize(&pool, &set) else {
        panic!("a shrink must be refused")
    };
    assert!(why.contains("cannot shrink from 100Ti"), "{why}");
    let (pool, set) = hot_with(&want.size.unwrap().0, Some("other-class"));
    let Some(Resize::Refused(why)) = resize(&pool, &set) else {
        panic!("a class change must be refused")
    };
    assert!(
        why.contains("storageClassName of volume data cannot change"),
        "{why}"
    );
}

#[test]
fn an_added_or_removed_claim_template_recreates_the_set_expanding_nothing() {
    let want = wanted();
    let (pool, mut set) = hot_with(&want.size.clone().unwrap().0, want.storage_class.as_deref());
    let old = ObservedClaim {
        size: Some(Quantity("1Gi".into())),
        storage_class: None,
    };
    set.claims.insert("logs".into(), old);
    assert_eq!(resize(&pool, &set), Some(Resize::Recreate(vec![])));
    set.claims.remove("logs");
    set.claims.remove("data");
    assert_eq!(resize(&pool, &set), Some(Resize::Recreate(vec![])));
}

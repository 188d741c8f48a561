//! The work a table config change needs after it is applied (a rebalance, a segment
//! reload), decided without I/O. A follow-up that fails stays pending in status and is
//! retried at the next sync on its own: the change itself is never applied again for it.

use std::collections::BTreeSet;

use api::FollowUp;
use api::table::TableChangePolicy;
use serde_json::Value;

use super::compare::{covers, hash};

/// Top-level TableConfig keys whose change moves segments between instances.
const REBALANCE_KEYS: &[&str] = &[
    "tenants",
    "instanceAssignmentConfigMap",
    "tierConfigs",
    "instancePartitionsMap",
];
/// Keys whose change needs existing segments reloaded to take effect.
const RELOAD_KEYS: &[&str] = &["tableIndexConfig", "fieldConfigList", "ingestionConfig"];

/// Pure: the follow-ups applying `desired` over `before` (the config Pinot had) needs.
pub fn needed(before: &Value, desired: &Value) -> BTreeSet<FollowUp> {
    let changed = |key: &str| match (before.get(key), desired.get(key)) {
        (_, None) => false,
        (None, Some(d)) => !d.is_null(),
        (Some(b), Some(d)) => !covers(b, d),
    };
    let replication_changed =
        REPLICATION
            .iter()
            .any(|path| match (before.pointer(path), desired.pointer(path)) {
                (Some(b), Some(d)) => !covers(b, d),
                (None, Some(_)) => true,
                _ => false,
            });
    let mut needed = BTreeSet::new();
    if replication_changed || REBALANCE_KEYS.iter().any(|k| changed(k)) {
        needed.insert(FollowUp::Rebalance);
    }
    if RELOAD_KEYS.iter().any(|k| changed(k)) {
        needed.insert(FollowUp::Reload);
    }
    needed
}

/// Pointers (below the top level) whose change also needs a rebalance.
const REPLICATION: &[&str] = &[
    "/segmentsConfig/replication",
    "/segmentsConfig/replicasPerPartition",
];

/// What of a table config decides its follow-ups, kept once it is applied so the next
/// change picks them without reading Pinot first: a hash of the parts a rebalance
/// follows and one of those a reload follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    rebalance: String,
    reload: String,
}

impl Fingerprint {
    pub fn of(doc: &Value) -> Fingerprint {
        let top = |keys: &[&str]| keys.iter().map(|k| doc.get(*k)).collect::<Vec<_>>();
        let replication = REPLICATION.iter().map(|p| doc.pointer(p));
        Fingerprint {
            rebalance: hash(&(top(REBALANCE_KEYS), replication.collect::<Vec<_>>())),
            reload: hash(&top(RELOAD_KEYS)),
        }
    }
}

/// Pure: the follow-ups applying `desired` over the config the operator applied last
/// (of fingerprint `before`) needs. Parts compare by equality, not coverage as in
/// [`needed`]: a setting removed from the spec counts as a change too.
pub fn needed_since(before: &Fingerprint, desired: &Value) -> BTreeSet<FollowUp> {
    let after = Fingerprint::of(desired);
    let mut needed = BTreeSet::new();
    if after.rebalance != before.rebalance {
        needed.insert(FollowUp::Rebalance);
    }
    if after.reload != before.reload {
        needed.insert(FollowUp::Reload);
    }
    needed
}

/// What one sync does about follow-ups.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Run now, in this order.
    pub run: Vec<FollowUp>,
    /// Needed, but the spec does not let the operator run them: said in status.
    pub notes: Vec<String>,
}

/// Pure: the follow-ups this change needs plus those still pending from an earlier
/// one, as far as `policy` lets the operator run them. A pending follow-up whose
/// switch was turned off since is dropped, as the user asked.
pub fn decide(
    needed: &BTreeSet<FollowUp>,
    pending: &[FollowUp],
    policy: &TableChangePolicy,
) -> Decision {
    let mut decision = Decision::default();
    for follow_up in needed.iter().chain(pending).collect::<BTreeSet<_>>() {
        if allowed(*follow_up, policy) {
            decision.run.push(*follow_up);
        } else if needed.contains(follow_up) {
            decision.notes.push(not_allowed_note(*follow_up).into());
        }
    }
    decision
}

fn allowed(follow_up: FollowUp, policy: &TableChangePolicy) -> bool {
    match follow_up {
        FollowUp::Rebalance => policy.rebalance,
        FollowUp::Reload => policy.reload,
    }
}

fn not_allowed_note(follow_up: FollowUp) -> &'static str {
    match follow_up {
        FollowUp::Rebalance => {
            "the change needs a rebalance (set spec.onChange.rebalance to let the operator run it)"
        }
        FollowUp::Reload => {
            "the change needs a segment reload (set spec.onChange.reload to let the operator run it)"
        }
    }
}

/// How a follow-up is named in status messages.
pub fn describe(follow_up: FollowUp) -> &'static str {
    match follow_up {
        FollowUp::Rebalance => "rebalance",
        FollowUp::Reload => "segment reload",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FollowUp::{Rebalance, Reload};
    use serde_json::json;

    fn events() -> Value {
        json!({"tableName": "events", "tableType": "OFFLINE",
            "segmentsConfig": {"replication": "1", "timeColumnName": "ts"},
            "tenants": {"server": "DefaultTenant", "broker": "DefaultTenant"},
            "tableIndexConfig": {"invertedIndexColumns": []}})
    }

    fn policy(rebalance: bool, reload: bool) -> TableChangePolicy {
        TableChangePolicy { rebalance, reload }
    }

    #[test]
    fn a_new_index_needs_a_reload_not_a_rebalance() {
        let mut desired = events();
        desired["tableIndexConfig"]["invertedIndexColumns"] = json!(["country"]);
        assert_eq!(needed(&events(), &desired), BTreeSet::from([Reload]));
    }

    #[test]
    fn a_tenant_or_replication_change_needs_a_rebalance() {
        let mut desired = events();
        desired["tenants"]["server"] = json!("analytics");
        assert!(needed(&events(), &desired).contains(&Rebalance));
        let mut desired = events();
        desired["segmentsConfig"]["replication"] = json!("2");
        assert_eq!(needed(&events(), &desired), BTreeSet::from([Rebalance]));
    }

    #[test]
    fn a_retention_change_needs_neither() {
        let mut desired = events();
        desired["segmentsConfig"]["retentionTimeValue"] = json!("30");
        assert!(needed(&events(), &desired).is_empty());
    }

    #[test]
    fn a_change_over_the_applied_fingerprint_needs_what_it_needs_over_pinot_s_config() {
        let applied = Fingerprint::of(&events());
        let mut index = events();
        index["tableIndexConfig"]["invertedIndexColumns"] = json!(["country"]);
        let mut tenant = events();
        tenant["tenants"]["server"] = json!("analytics");
        let mut replication = events();
        replication["segmentsConfig"]["replication"] = json!("2");
        let mut retention = events();
        retention["segmentsConfig"]["retentionTimeValue"] = json!("30");
        for desired in [index, tenant, replication, retention] {
            assert_eq!(
                needed_since(&applied, &desired),
                needed(&events(), &desired)
            );
        }
    }

    #[test]
    fn an_index_removed_since_the_last_apply_needs_a_reload() {
        let mut before = events();
        before["tableIndexConfig"]["invertedIndexColumns"] = json!(["country"]);
        let applied = Fingerprint::of(&before);
        assert_eq!(needed_since(&applied, &events()), BTreeSet::from([Reload]));
    }

    #[test]
    fn needed_follow_ups_run_when_allowed_and_are_noted_otherwise() {
        let both = BTreeSet::from([Rebalance, Reload]);
        let decision = decide(&both, &[], &policy(false, true));
        assert_eq!(decision.run, vec![Reload]);
        assert_eq!(decision.notes.len(), 1);
        assert!(decision.notes[0].contains("spec.onChange.rebalance"));
    }

    #[test]
    fn a_pending_follow_up_is_retried_without_a_new_change() {
        let decision = decide(&BTreeSet::new(), &[Reload], &policy(false, true));
        assert_eq!(
            decision,
            Decision {
                run: vec![Reload],
                notes: vec![]
            }
        );
    }

    #[test]
    fn a_pending_follow_up_switched_off_is_dropped_quietly() {
        assert_eq!(
            decide(&BTreeSet::new(), &[Reload], &policy(true, false)),
            Decision::default()
        );
    }

    #[test]
    fn pending_and_needed_run_once_each() {
        let decision = decide(
            &BTreeSet::from([Reload]),
            &[Reload, Rebalance],
            &policy(true, true),
        );
        assert_eq!(decision.run, vec![Rebalance, Reload]);
    }
}

//! A content object the operator leaves alone: annotation
//! `pinot.operator.dev/ignore: "true"` (the seed's `*.datainfra.io/reconcile`).
//!
//! While it is set the operator makes no Pinot call for the object: no read, no
//! write, and no delete when the object is deleted (the finalizer is released, the
//! Pinot side stays, as with `deletionPolicy: Retain`). Status says so: `Synced` and
//! `Ready` turn Unknown with reason `Ignored`, and an Event marks the switch. Removing
//! the annotation (or setting anything else) resumes syncing at once.

use api::ContentStatus;
use api::common::condition::{READY, SYNCED};
use kube::Resource;

use crate::conditions::{self, Desired, Status};

pub const IGNORE_ANNOTATION: &str = "pinot.operator.dev/ignore";
/// The condition reason while ignored.
pub const IGNORED: &str = "Ignored";

/// Whether the user asked the operator to leave `obj` alone.
pub fn ignored<K: Resource>(obj: &K) -> bool {
    let annotations = obj.meta().annotations.as_ref();
    annotations
        .and_then(|a| a.get(IGNORE_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// A watch predicate on the annotation: setting or clearing it is not a spec change
/// (no new generation), yet must reach the reconciler.
pub fn ignore_switch<K: Resource>(obj: &K) -> Option<u64> {
    Some(u64::from(ignored(obj)))
}

/// The status of an ignored object: the rest of `current` as it was.
pub fn ignored_status(
    current: Option<&ContentStatus>,
    generation: Option<i64>,
    object: &str,
) -> ContentStatus {
    let mut status = current.cloned().unwrap_or_default();
    let why = format!("annotation {IGNORE_ANNOTATION}=true");
    let desired = vec![
        Desired {
            type_: SYNCED,
            status: Status::Unknown,
            reason: IGNORED,
            message: format!("{why}: the operator leaves {object} in Pinot alone"),
        },
        Desired {
            type_: READY,
            status: Status::Unknown,
            reason: IGNORED,
            message: format!("{why}: {object} is not checked in Pinot"),
        },
    ];
    status.conditions = conditions::merge(&status.conditions, desired, generation);
    status.observed_generation = generation;
    status
}

#[cfg(test)]
mod tests {
    use api::PinotSchema;

    use super::*;

    fn schema(annotation: Option<&str>) -> PinotSchema {
        let mut schema = PinotSchema::new(
            "events",
            serde_json::from_value(serde_json::json!({
                "clusterRef": {"name": "c"}, "schema": {"schemaName": "events"}
            }))
            .unwrap(),
        );
        if let Some(value) = annotation {
            schema.metadata.annotations =
                Some([(IGNORE_ANNOTATION.to_owned(), value.to_owned())].into());
        }
        schema
    }

    #[test]
    fn only_true_ignores() {
        assert!(ignored(&schema(Some("true"))));
        for other in [None, Some("false"), Some("yes")] {
            assert!(!ignored(&schema(other)), "{other:?}");
        }
        assert_ne!(
            ignore_switch(&schema(Some("true"))),
            ignore_switch(&schema(None))
        );
        assert_eq!(
            ignore_switch(&schema(Some("no"))),
            ignore_switch(&schema(None))
        );
    }

    #[test]
    fn an_ignored_object_says_so_and_keeps_the_rest_of_its_status() {
        let current = ContentStatus {
            applied_hash: Some("h".into()),
            ..Default::default()
        };
        let status = ignored_status(Some(&current), Some(3), "schema events");
        assert_eq!(status.applied_hash.as_deref(), Some("h"));
        assert_eq!(status.observed_generation, Some(3));
        let synced = conditions::find(&status.conditions, SYNCED).unwrap();
        assert_eq!(
            (synced.status.as_str(), synced.reason.as_str()),
            ("Unknown", IGNORED)
        );
        assert!(
            synced.message.contains("pinot.operator.dev/ignore=true"),
            "{}",
            synced.message
        );
    }
}

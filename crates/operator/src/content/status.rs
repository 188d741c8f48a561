//! The status a sync leaves on a content resource, computed without I/O.

use std::time::Duration;

use api::ContentStatus;
use api::common::condition::{READY, SYNCED};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::error::SyncError;
use super::{ContentResource, Outcome, Synced};
use crate::conditions::{self, Desired, Status};

/// How stale `lastSyncedTime` may get while nothing else in the status changes.
/// Refreshing it on every resync would write every object every minute: at 2,000
/// objects, 33 status writes a second to etcd and to every watcher of these kinds.
pub const SYNCED_TIME_REFRESH: Duration = Duration::from_secs(600);

/// The object's `Synced` condition is `True` for its current spec.
pub fn in_sync<K: ContentResource>(obj: &K) -> bool {
    synced(obj)
        .is_some_and(|c| c.status == "True" && c.observed_generation == obj.meta().generation)
}

/// The object's last sync failed.
pub fn failed<K: ContentResource>(obj: &K) -> bool {
    synced(obj).is_some_and(|c| c.status == "False")
}

/// The object's `Synced` condition: none until a sync has reported.
pub fn synced<K: ContentResource>(obj: &K) -> Option<&Condition> {
    conditions::find(&obj.content_status()?.conditions, SYNCED)
}

/// What a content resource is being synced as.
pub struct Subject<'a> {
    pub current: Option<&'a ContentStatus>,
    pub generation: Option<i64>,
    /// Human name of the Pinot object, for condition messages.
    pub object: &'a str,
    pub desired_hash: String,
}

/// The status after a sync that ended in `result` at `now`; equal to the current one
/// when nothing needs writing.
pub fn next(
    subject: Subject<'_>,
    result: Result<&Synced, &SyncError>,
    now: Timestamp,
) -> ContentStatus {
    let current = subject.current.cloned().unwrap_or_default();
    let mut status = current.clone();
    status.observed_generation = subject.generation;
    status.conditions = conditions::merge(
        &current.conditions,
        sync_conditions(result, subject.object),
        subject.generation,
    );
    if let Ok(synced) = result {
        status.applied_hash = Some(subject.desired_hash);
        status.pending_follow_ups = synced.pending.clone();
        if status != current || refresh_due(current.last_synced_time.as_deref(), now) {
            status.last_synced_time = Some(now.to_string());
        }
    }
    status
}

/// Reason of the `Synced` condition (and Warning Event) while a follow-up of an
/// applied change fails.
pub const FOLLOW_UP_FAILED: &str = "FollowUpFailed";

/// Desired `Synced` and `Ready` conditions for a sync result.
pub fn sync_conditions(result: Result<&Synced, &SyncError>, object: &str) -> Vec<Desired<'static>> {
    match result {
        Ok(synced) => {
            let reason = match synced.outcome {
                Outcome::Created => "Created",
                Outcome::Updated => "Updated",
                Outcome::InSync => "InSync",
            };
            let mut message = format!("{object} matches the spec");
            for note in &synced.notes {
                message.push_str("; ");
                message.push_str(note);
            }
            let synced_condition = match &synced.follow_up_failure {
                None => Desired {
                    type_: SYNCED,
                    status: Status::True,
                    reason,
                    message,
                },
                Some(failure) => Desired {
                    type_: SYNCED,
                    status: Status::False,
                    reason: FOLLOW_UP_FAILED,
                    message: format!(
                        "{message}; {} (retried at every sync, the change itself is not applied again)",
                        failure.message
                    ),
                },
            };
            vec![
                synced_condition,
                Desired {
                    type_: READY,
                    status: Status::True,
                    reason: "Exists",
                    message: format!("{object} exists in Pinot"),
                },
            ]
        }
        Err(e) => vec![
            Desired {
                type_: SYNCED,
                status: Status::False,
                reason: e.reason(),
                message: e.to_string(),
            },
            // A failed sync did not confirm whether the object exists in Pinot.
            Desired {
                type_: READY,
                status: Status::Unknown,
                reason: e.reason(),
                message: format!("{object} is not confirmed in Pinot: {e}"),
            },
        ],
    }
}

/// Whether `lastSyncedTime` (absent or unreadable counts as due) is older than
/// [`SYNCED_TIME_REFRESH`].
fn refresh_due(last: Option<&str>, now: Timestamp) -> bool {
    let Some(last) = last.and_then(|t| t.parse::<Timestamp>().ok()) else {
        return true;
    };
    now.duration_since(last).unsigned_abs() >= SYNCED_TIME_REFRESH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn subject(current: Option<&ContentStatus>) -> Subject<'_> {
        Subject {
            current,
            generation: Some(1),
            object: "schema events",
            desired_hash: "h1".into(),
        }
    }

    fn in_sync() -> Synced {
        Synced::new(Outcome::InSync)
    }

    #[test]
    fn a_first_sync_records_hash_and_time() {
        let status = next(subject(None), Ok(&Synced::new(Outcome::Created)), at(0));
        assert_eq!(status.applied_hash.as_deref(), Some("h1"));
        assert_eq!(status.last_synced_time, Some(at(0).to_string()));
        assert_eq!(status.observed_generation, Some(1));
    }

    #[test]
    fn an_unchanged_resync_writes_nothing_until_the_time_is_stale() {
        let first = next(subject(None), Ok(&in_sync()), at(0));
        let settled = next(subject(Some(&first)), Ok(&in_sync()), at(60));
        assert_eq!(settled, first, "a minute later nothing changes");
        let later = next(subject(Some(&first)), Ok(&in_sync()), at(599));
        assert_eq!(later, first);
        let stale = next(subject(Some(&first)), Ok(&in_sync()), at(600));
        assert_eq!(stale.last_synced_time, Some(at(600).to_string()));
    }

    #[test]
    fn any_other_change_refreshes_the_time_with_it() {
        let first = next(subject(None), Ok(&Synced::new(Outcome::Created)), at(0));
        let in_sync = next(subject(Some(&first)), Ok(&in_sync()), at(60));
        assert_ne!(in_sync, first, "Created becomes InSync");
        assert_eq!(in_sync.last_synced_time, Some(at(60).to_string()));
    }

    #[test]
    fn a_failure_keeps_the_last_good_time_and_hash() {
        let first = next(subject(None), Ok(&in_sync()), at(0));
        let error = SyncError::PinotUnreachable("down".into());
        let failed = next(subject(Some(&first)), Err(&error), at(700));
        assert_eq!(failed.last_synced_time, first.last_synced_time);
        assert_eq!(failed.applied_hash, first.applied_hash);
        assert_ne!(failed.conditions, first.conditions);
    }

    #[test]
    fn a_failed_follow_up_records_the_change_and_keeps_the_follow_up_pending() {
        let mut updated = Synced::new(Outcome::Updated);
        updated.pending = vec![api::FollowUp::Reload];
        updated.follow_up_failure = Some(crate::content::FollowUpFailure {
            message: "segment reload failed: HTTP 500".into(),
            retry_soon: true,
        });
        let status = next(subject(None), Ok(&updated), at(0));
        assert_eq!(status.applied_hash.as_deref(), Some("h1"), "no re-apply");
        assert_eq!(status.pending_follow_ups, vec![api::FollowUp::Reload]);
        let synced = conditions::find(&status.conditions, SYNCED).unwrap();
        assert_eq!(
            (synced.status.as_str(), synced.reason.as_str()),
            ("False", FOLLOW_UP_FAILED)
        );
        assert!(synced.message.contains("HTTP 500"), "{}", synced.message);
        let ready = conditions::find(&status.conditions, READY).unwrap();
        assert_eq!(ready.status, "True");

        // The retry succeeds: nothing pending, Synced again.
        let done = next(subject(Some(&status)), Ok(&in_sync()), at(60));
        assert!(done.pending_follow_ups.is_empty());
        let synced = conditions::find(&done.conditions, SYNCED).unwrap();
        assert_eq!(synced.status, "True");
    }

    #[test]
    fn an_unreadable_time_is_refreshed() {
        assert!(refresh_due(Some("yesterday"), at(0)));
        assert!(refresh_due(None, at(0)));
        assert!(!refresh_due(Some(&at(0).to_string()), at(1)));
    }
}

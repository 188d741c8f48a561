//! Events for what changed between the previous status and the new one: each new
//! rollout step ("CreatingPool", "RollingPool", "WaitingForRole", ...), each pool
//! that finished updating ("PoolUpdated"), and each new failure. Repeating an
//! unchanged state every reconcile would only be noise.

use api::common::condition::{DEGRADED, PROGRESSING};
use api::{PinotCluster, PinotClusterStatus};
use kube::Resource;
use kube::runtime::events::{Event, EventType};

use crate::cluster::plan::Note;
use crate::conditions::find;
use crate::context::Context;

/// Events due between `old` and `new`.
pub fn events(old: Option<&PinotClusterStatus>, new: &PinotClusterStatus) -> Vec<Event> {
    let empty = PinotClusterStatus::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let changed = |type_: &str| {
        let before = find(&old.conditions, type_).map(|c| (&c.status, &c.reason, &c.message));
        let after = find(&new.conditions, type_).map(|c| (&c.status, &c.reason, &c.message));
        (before != after)
            .then(|| find(&new.conditions, type_))
            .flatten()
    };
    if let Some(c) = changed(PROGRESSING) {
        out.push(event(
            EventType::Normal,
            &c.reason,
            "Rollout",
            c.message.clone(),
        ));
    }
    for pool in &new.pools {
        let done = |p: &api::cluster::PoolStatus| {
            p.ready_replicas == p.replicas && p.updated_replicas == p.replicas
        };
        let was = old
            .pools
            .iter()
            .find(|p| p.role == pool.role && p.name == pool.name);
        if done(pool) && was.is_some_and(|p| !done(p)) {
            let note = format!(
                "{}/{}: {} pods updated and ready",
                pool.role, pool.name, pool.replicas
            );
            out.push(event(EventType::Normal, "PoolUpdated", "Rollout", note));
        }
    }
    if let Some(c) = changed(DEGRADED).filter(|c| c.status == "True") {
        out.push(event(
            EventType::Warning,
            &c.reason,
            "Reconcile",
            c.message.clone(),
        ));
    }
    out
}

/// Events for what a reconcile did besides its step: a segment reset is a Warning,
/// since Pinot failed to load the segment first.
pub fn note_events(notes: &[Note]) -> Vec<Event> {
    let reset = |n: &Note| match n {
        Note::SegmentsReset(_) => Some(event(
            EventType::Warning,
            "SegmentReset",
            "ResetSegment",
            n.to_string(),
        )),
        _ => None,
    };
    notes.iter().filter_map(reset).collect()
}

fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    }
}

/// Publishes the events due for `cluster` moving to `new`, after a reconcile that
/// noted `notes`.
pub async fn publish_events(
    ctx: &Context,
    cluster: &PinotCluster,
    new: &PinotClusterStatus,
    notes: &[Note],
) {
    let mut due = events(cluster.status.as_ref(), new);
    due.extend(note_events(notes));
    for event in due {
        ctx.publish(&event, &cluster.object_ref(&())).await;
    }
}

#[cfg(test)]
mod tests {
    use api::cluster::PoolStatus;

    use super::*;
    use crate::conditions::{Desired, Status, merge};

    fn status(
        reason: &'static str,
        message: &str,
        ready: i32,
        degraded: Option<&'static str>,
    ) -> PinotClusterStatus {
        let mut desired = vec![Desired {
            type_: PROGRESSING,
            status: Status::True,
            reason,
            message: message.into(),
        }];
        if let Some(reason) = degraded {
            desired.push(Desired {
                type_: DEGRADED,
                status: Status::True,
                reason,
                message: "boom".into(),
            });
        }
        PinotClusterStatus {
            conditions: merge(&[], desired, Some(1)),
            pools: vec![PoolStatus {
                role: "server".into(),
                name: "hot".into(),
                replicas: 3,
                ready_replicas: ready,
                updated_replicas: ready,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_new_step_and_a_finished_pool_are_announced_once() {
        let rolling = status("RollingPool", "restarting server/hot", 2, None);
        let done = status(
            "RolloutComplete",
            "every pool runs the desired spec",
            3,
            None,
        );
        let reasons: Vec<String> = events(Some(&rolling), &done)
            .into_iter()
            .map(|e| e.reason)
            .collect();
        assert_eq!(reasons, ["RolloutComplete", "PoolUpdated"]);
        assert!(
            events(Some(&done), &done).is_empty(),
            "nothing changed, nothing said"
        );
    }

    #[test]
    fn failures_are_warnings() {
        let ok = status("WaitingForRole", "w", 3, None);
        let failed = status("WaitingForRole", "w", 3, Some("ScaleDownBlocked"));
        let events = events(Some(&ok), &failed);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "ScaleDownBlocked");
        assert_eq!(events[0].type_, EventType::Warning);
    }

    #[test]
    fn a_segment_reset_is_a_warning() {
        let notes = [
            Note::Tagged(vec!["Server_a".into()]),
            Note::SegmentsReset(vec!["t_REALTIME segment s on Server_a".into()]),
        ];
        let events = note_events(&notes);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].type_, EventType::Warning);
        assert_eq!(events[0].reason, "SegmentReset");
        assert!(
            events[0]
                .note
                .as_ref()
                .unwrap()
                .contains("segment s on Server_a")
        );
    }
}

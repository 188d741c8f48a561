//! Force-committing the consuming segments of a server wave before it restarts,
//! decided purely.
//!
//! A restarted server consumes a CONSUMING segment again from the segment's start
//! offset: hours of stream on a busy table (apache/pinot#16435), during which the
//! other replica serves alone. Committing first makes the restart resume from where
//! the commit ended. The order is:
//!
//! 1. ask Pinot to force-commit every REALTIME table with a segment CONSUMING on the
//!    wave, and mark each such pod with the segments it was consuming;
//! 2. wait until none of those segments is CONSUMING on the wave any more (committed:
//!    ONLINE); the new consuming segments that follow are small and are not waited
//!    for;
//! 3. go on to take the wave out of query routing ([`super::quiesce`]).
//!
//! The mark is the only state, and it lives on the pods: annotation
//! [`crate::cluster::names::FORCE_COMMIT_ANNOTATION`], `<unix seconds> <segment> <segment> ...`. The pods
//! are deleted right after, so a mark never outlives its wave, and an operator
//! restarted in between finds it. A commit that has not finished after
//! [`PATIENCE`] is given up on (the restart goes on, and those segments are consumed
//! again, as without a commit): nothing is lost, and a stuck stream does not hold a
//! rollout forever.

use std::collections::BTreeSet;

use pinot_client::TableType;

use crate::cluster::observe::pinot::Snapshot;

/// How long a wave waits for its segments to commit, in seconds.
pub const PATIENCE: u64 = 300;

/// What a pod's annotation says: when the commit was asked, and what it was consuming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub at: u64,
    pub segments: BTreeSet<String>,
}

impl Mark {
    pub fn parse(text: &str) -> Option<Mark> {
        let mut words = text.split_whitespace();
        let at = words.next()?.parse().ok()?;
        Some(Mark {
            at,
            segments: words.map(str::to_owned).collect(),
        })
    }

    pub fn render(&self) -> String {
        let mut text = self.at.to_string();
        for segment in &self.segments {
            text.push(' ');
            text.push_str(segment);
        }
        text
    }
}

/// A pod of the wave: its name, Pinot instance and mark, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub pod: String,
    pub instance: String,
    pub mark: Option<Mark>,
}

/// What the wave may do about its consuming segments now.
#[derive(Debug, Clone, PartialEq)]
pub enum Commit {
    /// Nothing consuming on the wave, or it committed: go on.
    Go,
    /// Force-commit these tables (raw names), then mark these pods (pod, mark).
    Ask {
        tables: Vec<String>,
        marks: Vec<(String, String)>,
    },
    /// These segments are still consuming on the wave.
    Wait(Vec<String>),
    /// These segments did not commit within [`PATIENCE`]: go on without.
    GiveUp(Vec<String>),
}

/// The next move of a wave whose members are `wave`, at `now` (unix seconds).
pub fn commit(wave: &[Member], snapshot: &Snapshot, now: u64) -> Commit {
    let mut tables = BTreeSet::new();
    let mut marks = Vec::new();
    let mut pending = BTreeSet::new();
    let mut oldest = now;
    let instances: Vec<&str> = wave.iter().map(|m| m.instance.as_str()).collect();
    let consuming = consuming_on(snapshot, &instances);
    for member in wave {
        match &member.mark {
            None => {
                let mine = (consuming.iter()).filter(|(_, _, on)| *on == member.instance);
                let segments: BTreeSet<String> = mine.clone().map(|(_, s, _)| s.clone()).collect();
                if segments.is_empty() {
                    continue;
                }
                tables.extend(mine.map(|(table, _, _)| table.clone()));
                marks.push((member.pod.clone(), Mark { at: now, segments }.render()));
            }
            Some(mark) => {
                oldest = oldest.min(mark.at);
                let still = (consuming.iter()).map(|(_, segment, _)| segment);
                pending.extend(still.filter(|s| mark.segments.contains(*s)).cloned());
            }
        }
    }
    if !marks.is_empty() {
        return Commit::Ask {
            tables: tables.into_iter().collect(),
            marks,
        };
    }
    let pending: Vec<String> = pending.into_iter().collect();
    match () {
        _ if pending.is_empty() => Commit::Go,
        _ if now >= oldest + PATIENCE => Commit::GiveUp(pending),
        _ => Commit::Wait(pending),
    }
}

/// (raw table, segment, instance) of every segment CONSUMING on one of `instances`
/// in the external view.
fn consuming_on(snapshot: &Snapshot, instances: &[&str]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let realtime = (snapshot.tables.iter()).filter(|t| t.table_type == TableType::Realtime);
    for table in realtime {
        for (segment, placement) in &table.external {
            for (instance, state) in placement {
                if state == "CONSUMING" && instances.contains(&instance.as_str()) {
                    out.push((table.name.clone(), segment.clone(), instance.clone()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use pinot_client::SegmentStates;

    use super::*;
    use crate::cluster::observe::pinot::TableStates;

    const A: &str = "Server_a_8098";
    const B: &str = "Server_b_8098";

    /// REALTIME table `clicks`: `c__0__1` committed on a and b, then `states` of
    /// `c__0__2` per instance.
    fn snapshot(states: &[(&str, &str)]) -> Snapshot {
        let mut external = SegmentStates::new();
        for instance in [A, B] {
            (external.entry("c__0__1".into()).or_default())
                .insert(instance.into(), "ONLINE".into());
        }
        for (instance, state) in states {
            (external.entry("c__0__2".into()).or_default())
                .insert((*instance).into(), (*state).into());
        }
        Snapshot {
            instances: [A, B].map(String::from).into(),
            tables: vec![TableStates {
                name: "clicks".into(),
                table_type: TableType::Realtime,
                ideal: external.clone(),
                external,
            }],
        }
    }

    fn member(pod: &str, instance: &str, mark: Option<&str>) -> Member {
        Member {
            pod: pod.into(),
            instance: instance.into(),
            mark: mark.and_then(Mark::parse),
        }
    }

    #[test]
    fn a_wave_consuming_asks_for_a_commit_and_marks_what_it_consumed() {
        let view = snapshot(&[(A, "CONSUMING"), (B, "CONSUMING")]);
        let wave = [member("a-0", A, None)];
        let expect = Commit::Ask {
            tables: vec!["clicks".into()],
            marks: vec![("a-0".into(), "1000 c__0__2".into())],
        };
        assert_eq!(commit(&wave, &view, 1000), expect);
    }

    #[test]
    fn a_marked_wave_waits_until_its_segments_are_committed_then_goes() {
        let wave = [member("a-0", A, Some("1000 c__0__2"))];
        let consuming = snapshot(&[(A, "CONSUMING")]);
        assert_eq!(
            commit(&wave, &consuming, 1010),
            Commit::Wait(vec!["c__0__2".into()])
        );
        // Committed; the next consuming segment (c__0__3) is not waited for.
        let mut committed = snapshot(&[(A, "ONLINE")]);
        let next = (committed.tables[0].external.entry("c__0__3".into())).or_default();
        next.insert(A.into(), "CONSUMING".into());
        assert_eq!(commit(&wave, &committed, 1010), Commit::Go);
    }

    #[test]
    fn a_commit_that_never_finishes_is_given_up_after_the_patience() {
        let wave = [member("a-0", A, Some("1000 c__0__2"))];
        let stuck = snapshot(&[(A, "CONSUMING")]);
        assert_eq!(
            commit(&wave, &stuck, 1000 + PATIENCE),
            Commit::GiveUp(vec!["c__0__2".into()])
        );
    }

    #[test]
    fn nothing_consuming_goes_at_once_and_marks_round_trip() {
        let wave = [member("a-0", A, None)];
        assert_eq!(commit(&wave, &snapshot(&[(B, "CONSUMING")]), 5), Commit::Go);
        let mark = Mark::parse("7 s1 s2").unwrap();
        assert_eq!(mark.render(), "7 s1 s2");
        assert_eq!(Mark::parse("not a time s1"), None);
    }
}

//! Segments a restart would strand, decided purely.
//!
//! A segment strands when the ideal state gives it a replica both on the wave and
//! outside it, no replica outside serves it yet in the external view, and the wave's
//! does or is about to (not in the view yet: a new segment). It happens between a
//! pool's verdict and the next pool's restart: a consuming segment commits, its
//! successor starts CONSUMING on one replica first, and the other replica (restarted a
//! minute earlier, still catching up) follows later. Taking the one that serves out of
//! routing would leave the segment unavailable (the broker's 305, "segments
//! unavailable"), so the restart waits, and the wave keeps serving queries meanwhile.
//! A successor not in the view yet counts too: the wave's replica may come first.
//!
//! A segment whose ideal state has no replica outside the wave (replication 1, or a
//! table placed inside one pool) is unavailable whatever is done; it does not hold the
//! restart up ([`super::health`] turns such a whole-pool restart into one pod at a time).
//! Nor does one whose wave replica is in ERROR or OFFLINE: it serves nothing to lose.

use std::collections::BTreeMap;

use crate::cluster::observe::pinot::{Snapshot, serving};

/// One line per stranded segment: who serves it, and what the awaited replica is doing.
pub fn stranded(wave: &[String], snapshot: &Snapshot) -> Vec<String> {
    let mut lines = Vec::new();
    for table in &snapshot.tables {
        let name = table.table_type.table_name_with_type(&table.name);
        for (segment, ideal) in &table.ideal {
            let external = table.external.get(segment);
            if let Some(line) = strands(wave, ideal, external) {
                lines.push(format!("{name} segment {segment} {line}"));
            }
        }
    }
    lines
}

/// Why restarting `wave` strands a segment placed `ideal` and seen `external`, if it does.
fn strands(
    wave: &[String],
    ideal: &BTreeMap<String, String>,
    external: Option<&BTreeMap<String, String>>,
) -> Option<String> {
    let placed = |inside: bool| {
        (ideal.iter())
            .filter(move |(i, s)| wave.contains(i) == inside && serving(s))
            .map(|(i, _)| i)
    };
    let other = placed(false).next()?;
    let state_of = |i: &String| external.and_then(|e| e.get(i)).map(String::as_str);
    if placed(false).any(|i| state_of(i).is_some_and(serving)) {
        return None;
    }
    let state = state_of(other).unwrap_or("not in the external view");
    let mut serves = placed(true).filter(|i| state_of(i).is_some_and(serving));
    if let Some(first) = serves.next() {
        let servers: Vec<&str> = std::iter::once(first)
            .chain(serves)
            .map(String::as_str)
            .collect();
        return Some(format!(
            "is served only by {} while its replica on {other} is {state}",
            servers.join(", ")
        ));
    }
    let coming = placed(true).find(|i| state_of(i).is_none())?;
    Some(format!(
        "is new: {coming} may serve it first while its replica on {other} is {state}"
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pinot_client::{SegmentStates, TableType};

    use super::*;
    use crate::cluster::observe::pinot::TableStates;

    const A: &str = "Server_a_8098";
    const B: &str = "Server_b_8098";

    fn states(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        (entries.iter())
            .map(|(i, s)| (i.to_string(), s.to_string()))
            .collect()
    }

    fn snapshot(ideal: &[(&str, &str)], external: &[(&str, &str)]) -> Snapshot {
        let segment =
            |entries| SegmentStates::from([("clicks__0__12".to_string(), states(entries))]);
        Snapshot {
            instances: [A, B].map(String::from).into(),
            tables: vec![TableStates {
                name: "clicks".into(),
                table_type: TableType::Realtime,
                ideal: segment(ideal),
                external: segment(external),
            }],
        }
    }

    #[test]
    fn a_new_consuming_segment_served_only_by_the_wave_holds_it() {
        let both = [(A, "CONSUMING"), (B, "CONSUMING")];
        let lagging = snapshot(&both, &[(B, "CONSUMING"), (A, "OFFLINE")]);
        assert_eq!(
            stranded(&[B.into()], &lagging),
            [
                "clicks_REALTIME segment clicks__0__12 is served only by Server_b_8098 while its replica on Server_a_8098 is OFFLINE"
            ]
        );
        let missing = snapshot(&both, &[(B, "CONSUMING")]);
        assert!(stranded(&[B.into()], &missing)[0].ends_with("is not in the external view"));
    }

    #[test]
    fn a_new_segment_in_the_ideal_state_only_holds_it_too() {
        // The commit just landed: the successor is in the ideal state, in no view yet,
        // and the wave's replica may start CONSUMING first.
        let both = [(A, "CONSUMING"), (B, "CONSUMING")];
        let mut new = snapshot(&both, &[]);
        new.tables[0].external.clear();
        assert_eq!(
            stranded(&[B.into()], &new),
            [
                "clicks_REALTIME segment clicks__0__12 is new: Server_b_8098 may serve it first while its replica on Server_a_8098 is not in the external view"
            ]
        );
    }

    #[test]
    fn a_wave_replica_in_error_does_not() {
        let both = [(A, "ONLINE"), (B, "ONLINE")];
        let broken = snapshot(&both, &[(B, "ERROR"), (A, "OFFLINE")]);
        assert!(stranded(&[B.into()], &broken).is_empty());
    }

    #[test]
    fn a_segment_another_replica_serves_does_not() {
        let both = [(A, "CONSUMING"), (B, "CONSUMING")];
        let committing = snapshot(&both, &[(B, "CONSUMING"), (A, "ONLINE")]);
        assert!(stranded(&[B.into()], &committing).is_empty());
    }

    #[test]
    fn a_segment_with_no_replica_outside_the_wave_does_not() {
        let alone = snapshot(&[(B, "ONLINE")], &[(B, "ONLINE")]);
        assert!(stranded(&[B.into()], &alone).is_empty());
        // Both replicas restart together: nothing outside is awaited.
        let both = [(A, "ONLINE"), (B, "ONLINE")];
        assert!(stranded(&[A.into(), B.into()], &snapshot(&both, &[(B, "ONLINE")])).is_empty());
    }

    #[test]
    fn a_segment_the_wave_does_not_serve_does_not() {
        let both = [(A, "ONLINE"), (B, "ONLINE")];
        let elsewhere = snapshot(&both, &[(A, "ONLINE"), (B, "ERROR")]);
        assert!(stranded(&[B.into()], &elsewhere).is_empty());
    }
}

//! Segments a restart would strand, decided purely.
//!
//! A segment strands when, in the external view, only the wave serves it, although
//! the ideal state gives it a replica outside the wave: that replica is not serving
//! yet. It happens between a pool's verdict and the next pool's restart: a consuming
//! segment commits, its successor starts CONSUMING on one replica first, and the other
//! replica (restarted a minute earlier, still catching up) follows later. Restarting
//! the one that serves would leave the segment unavailable (the broker's 305, "segments
//! unavailable"), so the restart waits, and the wave keeps serving queries meanwhile.
//!
//! A segment whose ideal state has no replica outside the wave (replication 1, or a
//! table placed inside one pool) is unavailable whatever is done; it does not hold the
//! restart up ([`super::health`] turns such a whole-pool restart into one pod at a time).

use crate::cluster::observe::pinot::{Snapshot, serving};

/// One line per stranded segment: who serves it, and what the awaited replica is doing.
pub fn stranded(wave: &[String], snapshot: &Snapshot) -> Vec<String> {
    let in_wave = |instance: &String| wave.contains(instance);
    let mut lines = Vec::new();
    for table in &snapshot.tables {
        let name = table.table_type.table_name_with_type(&table.name);
        for (segment, placement) in &table.external {
            let (inside, outside): (Vec<_>, Vec<_>) = (placement.iter())
                .filter(|(_, s)| serving(s))
                .partition(|(i, _)| in_wave(i));
            if inside.is_empty() || !outside.is_empty() {
                continue;
            }
            let awaited: Vec<&String> = (table.ideal.get(segment).into_iter().flatten())
                .filter(|(i, s)| !in_wave(i) && serving(s))
                .map(|(i, _)| i)
                .collect();
            if let Some(other) = awaited.first() {
                let state = placement
                    .get(*other)
                    .map_or("not in the external view", String::as_str);
                let servers: Vec<&str> = inside.iter().map(|(i, _)| i.as_str()).collect();
                lines.push(format!(
                    "{name} segment {segment} is served only by {} while its replica on {other} is {state}",
                    servers.join(", ")
                ));
            }
        }
    }
    lines
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

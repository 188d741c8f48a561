//! Standard `metav1.Condition` handling: a condition's `lastTransitionTime` moves only
//! when its status changes, so `kubectl wait` and alerting see real transitions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// A condition's status. `Unknown` says the operator could not find out (e.g. whether
/// an object exists in a Pinot it could not reach), which `False` would misstate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

impl From<bool> for Status {
    fn from(value: bool) -> Self {
        if value { Status::True } else { Status::False }
    }
}

/// A condition as the operator wants it now.
pub struct Desired<'a> {
    pub type_: &'a str,
    pub status: Status,
    pub reason: &'a str,
    pub message: String,
}

/// Returns `current` with `desired` merged in, stamped with `generation`.
pub fn merge(
    current: &[Condition],
    desired: Vec<Desired<'_>>,
    generation: Option<i64>,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = current.to_vec();
    for d in desired {
        let status = d.status.as_str();
        let previous = out.iter().position(|c| c.type_ == d.type_);
        let transition = match previous.map(|i| &out[i]) {
            Some(old) if old.status == status => old.last_transition_time.clone(),
            _ => Time(Timestamp::now()),
        };
        let condition = Condition {
            type_: d.type_.to_owned(),
            status: status.to_owned(),
            reason: d.reason.to_owned(),
            // The apiserver caps messages at 32 KiB; Pinot errors can be long.
            message: truncate(&d.message, 4096),
            observed_generation: generation,
            last_transition_time: transition,
        };
        match previous {
            Some(i) => out[i] = condition,
            None => out.push(condition),
        }
    }
    out
}

fn truncate(message: &str, max: usize) -> String {
    if message.len() <= max {
        return message.to_owned();
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// Condition `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(status: bool, reason: &str) -> Desired<'static> {
        Desired {
            type_: "Synced",
            status: status.into(),
            reason: Box::leak(reason.to_owned().into_boxed_str()),
            message: String::new(),
        }
    }

    #[test]
    fn keeps_transition_time_while_status_is_unchanged() {
        let first = merge(&[], vec![synced(true, "Created")], Some(1));
        let second = merge(&first, vec![synced(true, "InSync")], Some(2));
        assert_eq!(
            first[0].last_transition_time,
            second[0].last_transition_time
        );
        assert_eq!(second[0].reason, "InSync");
        assert_eq!(second[0].observed_generation, Some(2));
    }

    #[test]
    fn moves_transition_time_when_status_flips() {
        let mut first = merge(&[], vec![synced(true, "Created")], Some(1));
        first[0].last_transition_time = Time(Timestamp::UNIX_EPOCH);
        let second = merge(&first, vec![synced(false, "PinotUnreachable")], Some(1));
        assert_ne!(
            second[0].last_transition_time,
            first[0].last_transition_time
        );
        assert_eq!(second[0].status, "False");
    }

    #[test]
    fn truncates_long_messages_on_a_char_boundary() {
        let long = "é".repeat(5000);
        let out = truncate(&long, 4097);
        assert!(out.len() <= 4100 && out.ends_with('…'));
    }
}

//! When a failed attempt is tried again, and after how long. Pure, so it is unit-tested.

use std::time::Duration;

use crate::config::MAX_BACKOFF;
use crate::request::Retry;

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection was never established: the controller saw nothing.
    Connect,
    /// Timeout or a connection broken mid-way: the controller may have acted.
    Interrupted,
    /// The controller answered with this status.
    Status(u16),
}

impl Failure {
    pub fn from_transport(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            Failure::Connect
        } else {
            Failure::Interrupted
        }
    }
}

/// Retry connect errors always; timeouts and 5xx only when `retry` allows; 4xx never
/// (the request itself is wrong, or the object is missing/in use: repeating won't help).
pub(crate) fn should_retry(failure: Failure, retry: Retry, attempt: u32, max_retries: u32) -> bool {
    if attempt >= max_retries {
        return false;
    }
    let server_errors = retry == Retry::ServerErrors;
    match failure {
        Failure::Connect => true,
        Failure::Interrupted => server_errors,
        Failure::Status(status) => server_errors && (500..600).contains(&status),
    }
}

/// Delay before retry number `attempt + 1`: `base`, `2·base`, `4·base`, ... capped.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Retry::*;

    #[test]
    fn connect_errors_are_always_retried() {
        assert!(should_retry(Failure::Connect, ConnectErrorsOnly, 0, 3));
        assert!(should_retry(Failure::Connect, ServerErrors, 2, 3));
        assert!(!should_retry(Failure::Connect, ServerErrors, 3, 3));
    }

    #[test]
    fn server_errors_only_for_idempotent_calls() {
        assert!(should_retry(Failure::Status(500), ServerErrors, 0, 3));
        assert!(should_retry(Failure::Status(503), ServerErrors, 0, 3));
        assert!(!should_retry(Failure::Status(500), ConnectErrorsOnly, 0, 3));
        assert!(!should_retry(Failure::Interrupted, ConnectErrorsOnly, 0, 3));
        assert!(should_retry(Failure::Interrupted, ServerErrors, 0, 3));
    }

    #[test]
    fn client_errors_are_never_retried() {
        for status in [400, 401, 403, 404, 409] {
            assert!(!should_retry(Failure::Status(status), ServerErrors, 0, 3));
        }
    }

    #[test]
    fn no_retries_when_disabled() {
        assert!(!should_retry(Failure::Connect, ServerErrors, 0, 0));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(200);
        assert_eq!(backoff(base, 0), Duration::from_millis(200));
        assert_eq!(backoff(base, 1), Duration::from_millis(400));
        assert_eq!(backoff(base, 2), Duration::from_millis(800));
        assert_eq!(backoff(base, 5), MAX_BACKOFF);
        assert_eq!(backoff(base, 100), MAX_BACKOFF);
    }
}

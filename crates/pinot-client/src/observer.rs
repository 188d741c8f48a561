//! Hook for metrics: told about every call the client makes.

use std::time::Duration;

/// How a call ended, as seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// A 2xx response.
    Ok,
    /// A non-2xx response (including 404s that the client turns into `Ok(None)`).
    HttpError(u16),
    /// No HTTP response: connect error, timeout, broken connection.
    Transport,
}

/// Receives one report per client call, after retries, with the total time spent.
///
/// `endpoint` is a fixed label such as `"PUT /schemas/{name}"`, so it is safe to use
/// as a metric label (bounded cardinality, no object names).
pub trait CallObserver: Send + Sync {
    fn observe(&self, endpoint: &'static str, outcome: CallOutcome, elapsed: Duration);
}

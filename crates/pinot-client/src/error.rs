//! The client's error type and how Pinot error responses map onto it.

use std::error::Error as _;

/// Longest response body kept in an error message. Pinot's own messages are short; a
/// proxy's HTML error page is not, and would flood Kubernetes conditions and Events.
const MAX_MESSAGE_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Pinot answered with a non-2xx status. `message` is Pinot's `error` field
    /// verbatim, or the (truncated) body when the response is not Pinot's error JSON.
    #[error("{endpoint}: HTTP {status}: {message}")]
    Http {
        endpoint: &'static str,
        status: u16,
        message: String,
    },
    /// No HTTP response: connection refused, DNS, TLS, timeout, broken connection.
    #[error("{endpoint}: cannot reach the Pinot controller: {}", chain(source))]
    Transport {
        endpoint: &'static str,
        source: reqwest::Error,
    },
    /// A 2xx response whose body is not what this endpoint returns.
    #[error("{endpoint}: unexpected response: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },
    /// The base URL cannot carry a path, or an object name cannot form a URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The client could not be built from its configuration (e.g. a bad CA PEM).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status of an [`Error::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The object already exists (create), or is in use (delete).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Pinot rejected the request itself (invalid config, incompatible schema, ...).
    pub fn is_bad_request(&self) -> bool {
        self.status() == Some(400)
    }

    /// The controller could not be reached: no HTTP response at all, or a gateway in
    /// front of it (ingress, load balancer) said so with 502/503/504. The controller
    /// itself also answers 503 on `/health` while it is starting.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Http { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// The fixed endpoint label of the call that failed, if it got that far.
    pub fn endpoint(&self) -> Option<&'static str> {
        match self {
            Error::Http { endpoint, .. }
            | Error::Transport { endpoint, .. }
            | Error::Decode { endpoint, .. } => Some(endpoint),
            Error::InvalidUrl(_) | Error::Config(_) => None,
        }
    }

    /// Builds the error for a non-2xx response from its status and body.
    pub(crate) fn from_response(endpoint: &'static str, status: u16, body: &str) -> Self {
        Error::Http {
            endpoint,
            status,
            message: error_message(status, body),
        }
    }

    pub(crate) fn decode(endpoint: &'static str, message: impl Into<String>) -> Self {
        Error::Decode {
            endpoint,
            message: message.into(),
        }
    }
}

/// Pinot's error bodies look like `{"code":409,"error":"Schema: x already exists"}`;
/// the `error` field is what a human needs. Anything else is passed on as text.
pub(crate) fn error_message(status: u16, body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    let message = from_json.unwrap_or_else(|| body.trim().to_owned());
    if message.is_empty() {
        return format!("empty response body (status {status})");
    }
    truncate(message)
}

fn truncate(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
        message.truncate(cut);
        message.push_str(" [truncated]");
    }
    message
}

/// The error and its causes on one line: reqwest's own message ("error sending
/// request for url (...)") hides the useful part ("Connection refused") in its sources.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinot_error_field_is_the_message() {
        let e = Error::from_response(
            "POST /schemas",
            409,
            r#"{"code":409,"error":"Schema: events already exists"}"#,
        );
        assert_eq!(e.status(), Some(409));
        assert!(e.is_conflict());
        assert!(!e.is_not_found());
        assert_eq!(
            e.to_string(),
            "POST /schemas: HTTP 409: Schema: events already exists"
        );
    }

    #[test]
    fn non_json_body_is_kept_as_text() {
        let e = Error::from_response("GET /health", 503, "Pinot controller status is STARTING\n");
        match &e {
            Error::Http { message, .. } => {
                assert_eq!(message, "Pinot controller status is STARTING")
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_unreachable());
    }

    #[test]
    fn json_without_error_field_is_kept_whole() {
        assert_eq!(error_message(500, r#"{"code":500}"#), r#"{"code":500}"#);
    }

    #[test]
    fn empty_and_huge_bodies() {
        assert_eq!(error_message(404, ""), "empty response body (status 404)");
        let huge = "x".repeat(10_000);
        let message = error_message(502, &huge);
        assert!(message.len() < 2100);
        assert!(message.ends_with("[truncated]"));
    }

    #[test]
    fn classification() {
        let bad = Error::from_response("PUT /schemas/{name}", 400, "{}");
        assert!(bad.is_bad_request());
        assert!(!bad.is_unreachable());
        assert_eq!(bad.endpoint(), Some("PUT /schemas/{name}"));
        assert_eq!(Error::InvalidUrl("x".into()).status(), None);
    }
}

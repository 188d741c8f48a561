//! How to reach a Pinot controller: address, credentials, TLS, timeouts, retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::observer::CallObserver;

/// Everything [`crate::PinotClient::new`] needs. Build it with [`ClientConfig::new`]
/// and override fields; the defaults suit a reconcile loop (fail fast, retry a little).
#[derive(Clone)]
pub struct ClientConfig {
    /// Controller base URL, e.g. `http://pinot-controller:9000`. A path prefix
    /// (`https://gateway/pinot/`) is kept. Credentials in the URL are moved into
    /// [`ClientConfig::auth`] (unless it is already set) so they never reach logs.
    pub base_url: Url,
    pub auth: Option<Auth>,
    /// Whole-request timeout for one attempt (connect + send + read the body).
    pub timeout: Duration,
    /// Extra attempts after the first one; see [`crate::PinotClient`] for which
    /// failures are retried.
    pub max_retries: u32,
    /// Delay before the first retry; it doubles per retry, capped at [`MAX_BACKOFF`].
    pub retry_backoff: Duration,
    pub tls: TlsConfig,
    /// Told about every call (once per call, after its retries), e.g. for metrics.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// Upper bound of a single retry delay, so a call never stalls a reconcile loop for long.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl ClientConfig {
    /// Defaults: 10 s per attempt, 3 retries starting at 200 ms, no auth, system TLS roots.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            auth: None,
            timeout: Duration::from_secs(10),
            max_retries: 3,
            retry_backoff: Duration::from_millis(200),
            tls: TlsConfig::default(),
            observer: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &redacted_url(&self.base_url).as_str())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("tls", &self.tls)
            .field("observer", &self.observer.as_ref().map(|_| ".."))
            .finish()
    }
}

/// Credentials sent on every request. `Debug` never shows the secret part.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Basic {
        username: String,
        password: String,
    },
    /// A token sent as `Authorization: Bearer <token>`.
    Bearer(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
        }
    }
}

/// TLS settings for `https` controller URLs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Extra trusted CA certificates (one or more PEM blocks), added to the built-in roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any server certificate. Only for tests and throwaway clusters.
    pub insecure_skip_verify: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The PEM is not secret, but it is long and useless in a log line.
        f.debug_struct("TlsConfig")
            .field(
                "ca_pem",
                &self.ca_pem.as_ref().map(|p| format!("{} bytes", p.len())),
            )
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// `url` without its user-info part.
pub(crate) fn redacted_url(url: &Url) -> Url {
    let mut clean = url.clone();
    // Both setters only fail for URLs that cannot have credentials at all.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean
}

/// Credentials embedded in `url`, percent-decoded, if it has any.
pub(crate) fn url_credentials(url: &Url) -> Option<Auth> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Auth::Basic {
        username: decode(url.username()),
        password: decode(url.password().unwrap_or("")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut config = ClientConfig::new(Url::parse("http://admin:hunter2@pinot:9000").unwrap());
        config.auth = Some(Auth::Basic {
            username: "admin".into(),
            password: "s3cr3t-pass".into(),
        });
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-pass"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("admin"), "{shown}");

        let bearer = format!("{:?}", Auth::Bearer("tok-123456".into()));
        assert!(!bearer.contains("tok-123456"), "{bearer}");
    }

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let url = Url::parse("https://ad%20min:p%40ss@pinot:9000/prefix/").unwrap();
        assert_eq!(
            url_credentials(&url),
            Some(Auth::Basic {
                username: "ad min".into(),
                password: "p@ss".into()
            })
        );
        assert_eq!(redacted_url(&url).as_str(), "https://pinot:9000/prefix/");
        assert_eq!(
            url_credentials(&Url::parse("http://pinot:9000").unwrap()),
            None
        );
    }
}

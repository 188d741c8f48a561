//! The client handle and the one place where HTTP happens: attempts, retries,
//! status mapping and the call observer.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{Auth, ClientConfig, TlsConfig, redacted_url, url_credentials};
use crate::error::Error;
use crate::observer::{CallObserver, CallOutcome};
use crate::request::{Body, Request};
use crate::retry::{Failure, backoff, should_retry};

/// Upper bound for establishing a TCP/TLS connection, below the whole-request timeout:
/// a controller that is down should be reported quickly.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle connections kept per host. The default keeps every connection a burst opened
/// (each with its buffers) for 90 s; the operator's reconciles are bounded well below this.
const MAX_IDLE_CONNECTIONS: usize = 32;

/// Typed async client for one Pinot controller. Cheap to clone (one shared
/// connection pool).
///
/// # Retries
/// A call is attempted up to `1 + max_retries` times with exponential backoff:
/// - connect errors (nothing reached the controller): always retried;
/// - timeouts / broken connections and 5xx responses: retried only for idempotent
///   calls — GET, PUT, DELETE, and the POSTs that only read or set absolute state
///   (`/tables/validate`, rebalance dry runs, forced schema overwrite). Creating
///   POSTs (`/schemas`, `/tables`, `/tenants`, a real rebalance) are not repeated
///   after they may have reached the controller: a repeat could report a spurious
///   409, or, for tenants, tag more instances than asked for;
/// - instance enable/disable: not retried on 5xx either (see
///   [`PinotClient::set_instance_enabled`]);
/// - 4xx: never retried.
#[derive(Clone)]
pub struct PinotClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    timeout: Duration,
    auth: Option<Auth>,
    max_retries: u32,
    retry_backoff: Duration,
    observer: Option<Arc<dyn CallObserver>>,
}

/// A 2xx response.
pub(crate) struct Reply {
    pub body: String,
}

impl PinotClient {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let http = http_client(&config)?;
        let auth = config.auth.or_else(|| url_credentials(&config.base_url));
        Ok(PinotClient {
            inner: Arc::new(Inner {
                http,
                base_url: redacted_url(&config.base_url),
                timeout: config.timeout,
                auth,
                max_retries: config.max_retries,
                retry_backoff: config.retry_backoff,
                observer: config.observer,
            }),
        })
    }

    /// The controller URL this client talks to (without credentials).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// Runs `request` with retries; non-2xx responses become [`Error::Http`].
    pub(crate) async fn execute(&self, request: Request<'_>) -> Result<Reply, Error> {
        let url = request.url(&self.inner.base_url)?;
        let started = Instant::now();
        let result = self.execute_with_retries(&request, &url).await;
        self.observe(request.endpoint, &result, started.elapsed());
        result
    }

    /// Runs `request` and decodes its JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, Error> {
        let endpoint = request.endpoint;
        let reply = self.execute(request).await?;
        serde_json::from_str(&reply.body).map_err(|e| Error::decode(endpoint, e.to_string()))
    }

    async fn execute_with_retries(&self, request: &Request<'_>, url: &Url) -> Result<Reply, Error> {
        let mut attempt = 0;
        loop {
            let result = self.attempt(request, url).await;
            let failure = match &result {
                Ok(_) => return result,
                Err(Error::Http { status, .. }) => Failure::Status(*status),
                Err(Error::Transport { source, .. }) => Failure::from_transport(source),
                Err(_) => return result,
            };
            if !should_retry(failure, request.retry, attempt, self.inner.max_retries) {
                return result;
            }
            let delay = backoff(self.inner.retry_backoff, attempt);
            tracing::debug!(
                endpoint = request.endpoint,
                ?failure,
                attempt,
                ?delay,
                "retrying Pinot call"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, request: &Request<'_>, url: &Url) -> Result<Reply, Error> {
        let endpoint = request.endpoint;
        let transport = |source: reqwest::Error| Error::Transport { endpoint, source };
        let response = self.prepare(request, url).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport)?;
        tracing::trace!(endpoint, status, "Pinot call answered");
        if (200..300).contains(&status) {
            Ok(Reply { body })
        } else {
            Err(Error::from_response(endpoint, status, &body))
        }
    }

    fn prepare(&self, request: &Request<'_>, url: &Url) -> reqwest::RequestBuilder {
        let mut builder = self.inner.http.request(request.method.clone(), url.clone());
        if let Some(min) = request.min_timeout {
            builder = builder.timeout(self.inner.timeout.max(min));
        }
        let builder = match &self.inner.auth {
            None => builder,
            Some(Auth::Basic { username, password }) => {
                builder.basic_auth(username, Some(password))
            }
            Some(Auth::Bearer(token)) => builder.bearer_auth(token),
        };
        match request.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Text(text) => builder
                .header(reqwest::header::CONTENT_TYPE, "text/plain")
                .body(text),
        }
    }

    fn observe(&self, endpoint: &'static str, result: &Result<Reply, Error>, elapsed: Duration) {
        let Some(observer) = &self.inner.observer else {
            return;
        };
        let outcome = match result {
            Ok(_) => CallOutcome::Ok,
            Err(Error::Http { status, .. }) => CallOutcome::HttpError(*status),
            Err(_) => CallOutcome::Transport,
        };
        observer.observe(endpoint, outcome, elapsed);
    }
}

impl fmt::Debug for PinotClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinotClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

/// `Ok(None)` for a 404, so "missing" is a value rather than an error.
pub(crate) fn none_if_not_found<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn http_client(config: &ClientConfig) -> Result<reqwest::Client, Error> {
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(MAX_CONNECT_TIMEOUT))
        .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
        .user_agent(concat!("pinot-operator-client/", env!("CARGO_PKG_VERSION")));
    with_tls(builder, &config.tls)?
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

fn with_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsConfig,
) -> Result<reqwest::ClientBuilder, Error> {
    if let Some(pem) = &tls.ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::Config(format!("invalid CA PEM: {e}")))?;
        if certificates.is_empty() {
            return Err(Error::Config("CA PEM holds no certificate".into()));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    Ok(builder.danger_accept_invalid_certs(tls.insecure_skip_verify))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_is_a_config_error() {
        let mut config = ClientConfig::new(Url::parse("https://pinot:9000").unwrap());
        config.tls.ca_pem = Some(b"not a pem".to_vec());
        assert!(matches!(PinotClient::new(config), Err(Error::Config(_))));
    }

    #[test]
    fn url_credentials_become_auth_and_leave_the_url() {
        let config = ClientConfig::new(Url::parse("http://admin:Zq9-secret@pinot:9000").unwrap());
        let client = PinotClient::new(config).unwrap();
        assert_eq!(client.base_url().as_str(), "http://pinot:9000/");
        let shown = format!("{client:?}");
        assert!(
            shown.contains("admin") && !shown.contains("Zq9-secret"),
            "{shown}"
        );
    }

    #[test]
    fn not_found_becomes_none() {
        let missing: Result<u8, Error> = Err(Error::from_response("GET /x", 404, ""));
        assert!(none_if_not_found(missing).unwrap().is_none());
        let conflict: Result<u8, Error> = Err(Error::from_response("GET /x", 409, ""));
        assert!(none_if_not_found(conflict).is_err());
        assert_eq!(none_if_not_found(Ok::<u8, Error>(1)).unwrap(), Some(1));
    }
}

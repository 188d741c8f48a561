//! One REST call described as data: endpoint label, path, query, body, retry policy;
//! and how it becomes a URL.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::error::Error;

/// Which failures of a call are worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Idempotent calls: also retried on 5xx and timeouts, since repeating them cannot
    /// change the outcome.
    ServerErrors,
    /// Only retried when the request surely never reached the controller. For calls
    /// that create something (e.g. `POST /tenants` tags *more* instances when
    /// repeated), and for calls whose 5xx is a verdict rather than a hiccup.
    ConnectErrorsOnly,
}

pub(crate) enum Body<'a> {
    Empty,
    Json(&'a Value),
    /// `text/plain`, for Pinot endpoints that take a bare word.
    Text(&'static str),
}

pub(crate) struct Request<'a> {
    /// Fixed label such as `"PUT /schemas/{name}"`: in errors, logs and metrics.
    pub endpoint: &'static str,
    pub method: Method,
    pub path: Vec<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub body: Body<'a>,
    pub retry: Retry,
    /// Lower bound for this call's timeout, for endpoints that wait server-side.
    pub min_timeout: Option<Duration>,
}

impl<'a> Request<'a> {
    /// A call to `endpoint`, whose first word is the HTTP method. GET, PUT and DELETE
    /// are retried on server errors; POST only on connect errors unless marked with
    /// [`Request::idempotent`].
    pub fn new(endpoint: &'static str, path: impl IntoIterator<Item = &'a str>) -> Self {
        let method = method_of(endpoint);
        let retry = if method == Method::POST {
            Retry::ConnectErrorsOnly
        } else {
            Retry::ServerErrors
        };
        Request {
            endpoint,
            method,
            path: path.into_iter().collect(),
            query: Vec::new(),
            body: Body::Empty,
            retry,
            min_timeout: None,
        }
    }

    pub fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub fn json(mut self, body: &'a Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn text(mut self, body: &'static str) -> Self {
        self.body = Body::Text(body);
        self
    }

    /// Marks a POST that only reads or sets state absolutely (validate, dry run).
    pub fn idempotent(mut self) -> Self {
        self.retry = Retry::ServerErrors;
        self
    }

    pub fn min_timeout(mut self, timeout: Duration) -> Self {
        self.min_timeout = Some(timeout);
        self
    }

    pub fn url(&self, base: &Url) -> Result<Url, Error> {
        build_url(base, &self.path, &self.query)
    }
}

fn method_of(endpoint: &str) -> Method {
    let word = endpoint.split(' ').next().unwrap_or_default();
    Method::from_bytes(word.as_bytes())
        .unwrap_or_else(|_| panic!("bad endpoint label {endpoint:?}"))
}

/// `base` + one URL path segment per element of `segments` (each percent-encoded, so
/// a `/` or `?` in an object name stays inside its segment) + the query pairs.
pub(crate) fn build_url(
    base: &Url,
    segments: &[&str],
    query: &[(&'static str, String)],
) -> Result<Url, Error> {
    for segment in segments {
        // An empty name would address a different endpoint (`DELETE /schemas/`), and
        // `.`/`..` would be folded away by URL normalisation.
        if segment.is_empty() || *segment == "." || *segment == ".." {
            return Err(Error::InvalidUrl(format!(
                "{segment:?} is not a valid Pinot object name"
            )));
        }
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::InvalidUrl(format!("{base} cannot be a base URL")))?
        .pop_if_empty()
        .extend(segments);
    url.set_query(None);
    url.set_fragment(None);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn segments_are_escaped() {
        let url = build_url(&base("http://pinot:9000"), &["schemas", "a b/c?d#e%f"], &[]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://pinot:9000/schemas/a%20b%2Fc%3Fd%23e%25f"
        );
    }

    #[test]
    fn base_path_prefix_is_kept() {
        let with_slash = build_url(&base("https://gw/pinot/"), &["tables", "t"], &[]).unwrap();
        let without = build_url(&base("https://gw/pinot"), &["tables", "t"], &[]).unwrap();
        assert_eq!(with_slash.as_str(), "https://gw/pinot/tables/t");
        assert_eq!(with_slash, without);
    }

    #[test]
    fn query_is_encoded() {
        let url = build_url(
            &base("http://pinot:9000/?stale=1"),
            &["instances", "Server_h_1", "updateTags"],
            &[
                ("tags", "a_OFFLINE,b&c".to_string()),
                ("updateBrokerResource", "true".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://pinot:9000/instances/Server_h_1/updateTags?tags=a_OFFLINE%2Cb%26c&updateBrokerResource=true"
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in ["", ".", ".."] {
            let err = build_url(&base("http://pinot:9000"), &["schemas", name], &[]).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl(_)), "{name:?}: {err:?}");
        }
        let err = build_url(&base("mailto:x@y"), &["schemas"], &[]).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl(_)));
    }

    #[test]
    fn method_and_idempotency_follow_the_label() {
        let get = Request::new("GET /schemas", ["schemas"]);
        assert_eq!(get.method, Method::GET);
        assert_eq!(get.retry, Retry::ServerErrors);
        let post = Request::new("POST /schemas", ["schemas"]);
        assert_eq!(post.method, Method::POST);
        assert_eq!(post.retry, Retry::ConnectErrorsOnly);
        assert_eq!(post.idempotent().retry, Retry::ServerErrors);
        assert_eq!(Request::new("DELETE /x", ["x"]).method, Method::DELETE);
    }
}

//! The HTTP layer against a scripted local HTTP server (wiremock): retries, auth,
//! status mapping and the observer. (Pinot's real behaviour is covered by
//! `tests/pinot.rs`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinot_client::{Auth, CallObserver, CallOutcome, ClientConfig, PinotClient, TableType};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

/// A server answering the `n`th request with the `n`th `(status, body)` (as JSON) and
/// any request past the script with wiremock's empty 404.
async fn serve(replies: Vec<(u16, &'static str)>) -> MockServer {
    let server = MockServer::start().await;
    // Mocks of equal priority match in the order they were mounted, and each one
    // answers once.
    for (status, body) in replies {
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    server
}

/// The requests the server received, in order.
async fn seen(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}

/// `METHOD /path?query` as sent (the path still percent-encoded).
fn request_line(request: &Request) -> String {
    let url = &request.url;
    match url.query() {
        Some(query) => format!("{} {}?{query}", request.method, url.path()),
        None => format!("{} {}", request.method, url.path()),
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    let value = request.headers.get(name)?;
    Some(value.to_str().unwrap().to_owned())
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(&'static str, CallOutcome)>>);

impl CallObserver for Recorder {
    fn observe(&self, endpoint: &'static str, outcome: CallOutcome, _elapsed: Duration) {
        self.0.lock().unwrap().push((endpoint, outcome));
    }
}

fn url(server: &MockServer) -> url::Url {
    server.uri().parse().unwrap()
}

fn client(server: &MockServer, observer: Option<Arc<Recorder>>) -> PinotClient {
    let mut config = ClientConfig::new(url(server));
    config.retry_backoff = Duration::from_millis(10);
    config.observer = observer.map(|o| o as Arc<dyn CallObserver>);
    PinotClient::new(config).unwrap()
}

#[tokio::test]
async fn get_is_retried_on_5xx_then_succeeds() {
    let script = serve(vec![(500, "{}"), (503, "busy"), (200, r#"["a","b"]"#)]).await;
    let recorder = Arc::new(Recorder::default());
    let names = client(&script, Some(recorder.clone()))
        .list_schemas()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(seen(&script).await.len(), 3);
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [("GET /schemas", CallOutcome::Ok)]
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let script = serve(vec![(500, r#"{"code":500,"error":"boom"}"#); 4]).await;
    let recorder = Arc::new(Recorder::default());
    let err = client(&script, Some(recorder.clone()))
        .list_schemas()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.to_string(), "GET /schemas: HTTP 500: boom");
    assert_eq!(seen(&script).await.len(), 4, "1 attempt + 3 retries");
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [("GET /schemas", CallOutcome::HttpError(500))]
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let script = serve(vec![
        (409, r#"{"code":409,"error":"Schema: s already exists"}"#),
        (200, "{}"),
    ])
    .await;
    let err = client(&script, None)
        .create_schema(&json!({"schemaName": "s"}))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(seen(&script).await.len(), 1);
}

#[tokio::test]
async fn creating_post_is_not_retried_on_5xx() {
    let script = serve(vec![(500, r#"{"code":500,"error":"x"}"#), (200, "{}")]).await;
    let err = client(&script, None)
        .create_table(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(seen(&script).await.len(), 1);
}

#[tokio::test]
async fn requests_carry_auth_json_and_escaped_names() {
    let script = serve(vec![(200, r#"{"status":"ok"}"#)]).await;
    let mut config = ClientConfig::new(url(&script));
    config.auth = Some(Auth::Bearer("tok3n".into()));
    let client = PinotClient::new(config).unwrap();
    let schema = json!({"schemaName": "a/b"});
    client
        .update_schema(
            "a/b",
            &schema,
            pinot_client::SchemaUpdate {
                reload: true,
                force: false,
            },
        )
        .await
        .unwrap();
    let seen = seen(&script).await.remove(0);
    assert_eq!(request_line(&seen), "PUT /schemas/a%2Fb?reload=true");
    assert_eq!(
        header(&seen, "authorization").as_deref(),
        Some("Bearer tok3n")
    );
    assert_eq!(
        header(&seen, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(seen.body_json::<serde_json::Value>().unwrap(), schema);
}

#[tokio::test]
async fn basic_auth_from_the_url() {
    let script = serve(vec![(200, "OK")]).await;
    let mut url = url(&script);
    url.set_username("admin").unwrap();
    url.set_password(Some("verysecret")).unwrap();
    let client = PinotClient::new(ClientConfig::new(url)).unwrap();
    client.health().await.unwrap();
    let seen = seen(&script).await.remove(0);
    // base64("admin:verysecret")
    assert_eq!(
        header(&seen, "authorization").as_deref(),
        Some("Basic YWRtaW46dmVyeXNlY3JldA==")
    );
}

#[tokio::test]
async fn missing_objects_are_none_in_both_pinot_styles() {
    let script = serve(vec![
        (200, "{}"),
        (404, r#"{"code":404,"error":"Table t does not exist"}"#),
    ])
    .await;
    let client = client(&script, None);
    assert_eq!(
        client.get_table("t", TableType::Offline).await.unwrap(),
        None
    );
    assert_eq!(
        client.get_table("t", TableType::Offline).await.unwrap(),
        None
    );
    let seen = seen(&script).await;
    assert_eq!(request_line(&seen[0]), "GET /tables/t?type=OFFLINE");
}

#[tokio::test]
async fn refused_connection_is_unreachable() {
    // Bind and drop, so nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    config.retry_backoff = Duration::from_millis(10);
    let recorder = Arc::new(Recorder::default());
    config.observer = Some(recorder.clone());
    let err = PinotClient::new(config)
        .unwrap()
        .health()
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(
        err.to_string().starts_with("GET /health: cannot reach"),
        "{err}"
    );
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [("GET /health", CallOutcome::Transport)]
    );
}

#[tokio::test]
async fn timeouts_are_unreachable() {
    // Answers, but long after the client's timeout.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let mut config = ClientConfig::new(url(&server));
    config.timeout = Duration::from_millis(200);
    config.max_retries = 0;
    let err = PinotClient::new(config)
        .unwrap()
        .list_tables()
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}

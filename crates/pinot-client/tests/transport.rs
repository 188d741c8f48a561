//! The HTTP layer against a scripted local HTTP server: retries, auth, status mapping
//! and the observer. (Pinot's real behaviour is covered by `tests/pinot.rs`.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinot_client::{Auth, CallObserver, CallOutcome, ClientConfig, PinotClient, TableType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: String,
}

impl Seen {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// Answers each connection with the next scripted `(status, body)`.
struct Script {
    url: url::Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn serve(replies: Vec<(u16, &'static str)>) -> Script {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut replies: VecDeque<_> = replies.into();
    tokio::spawn(async move {
        while let Some((status, body)) = replies.pop_front() {
            let (stream, _) = listener.accept().await.unwrap();
            let request = answer(stream, status, body).await;
            log.lock().unwrap().push(request);
        }
    });
    Script { url, seen }
}

async fn answer(mut stream: TcpStream, status: u16, body: &str) -> Seen {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(n > 0, "connection closed before the request head ended");
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut seen = Seen {
        head,
        body: String::new(),
    };
    let length: usize = seen
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        buffer.extend_from_slice(&chunk[..n]);
    }
    seen.body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    seen
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(&'static str, CallOutcome)>>);

impl CallObserver for Recorder {
    fn observe(&self, endpoint: &'static str, outcome: CallOutcome, _elapsed: Duration) {
        self.0.lock().unwrap().push((endpoint, outcome));
    }
}

fn client(script: &Script, observer: Option<Arc<Recorder>>) -> PinotClient {
    let mut config = ClientConfig::new(script.url.clone());
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
    assert_eq!(script.seen.lock().unwrap().len(), 3);
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
    assert_eq!(
        script.seen.lock().unwrap().len(),
        4,
        "1 attempt + 3 retries"
    );
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
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn creating_post_is_not_retried_on_5xx() {
    let script = serve(vec![(500, r#"{"code":500,"error":"x"}"#), (200, "{}")]).await;
    let err = client(&script, None)
        .create_table(&json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn requests_carry_auth_json_and_escaped_names() {
    let script = serve(vec![(200, r#"{"status":"ok"}"#)]).await;
    let mut config = ClientConfig::new(script.url.clone());
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
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(
        seen.request_line(),
        "PUT /schemas/a%2Fb?reload=true HTTP/1.1"
    );
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer tok3n")
    );
    assert_eq!(
        seen.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&seen.body).unwrap(),
        schema
    );
}

#[tokio::test]
async fn basic_auth_from_the_url() {
    let script = serve(vec![(200, "OK")]).await;
    let mut url = script.url.clone();
    url.set_username("admin").unwrap();
    url.set_password(Some("verysecret")).unwrap();
    let client = PinotClient::new(ClientConfig::new(url)).unwrap();
    client.health().await.unwrap();
    let seen = script.seen.lock().unwrap()[0].clone();
    // base64("admin:verysecret")
    assert_eq!(
        seen.header("authorization").as_deref(),
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
    let seen = script.seen.lock().unwrap();
    assert_eq!(
        seen[0].request_line(),
        "GET /tables/t?type=OFFLINE HTTP/1.1"
    );
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    // Accept connections but never answer.
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            held.push(listener.accept().await.unwrap());
        }
    });
    let mut config = ClientConfig::new(url);
    config.timeout = Duration::from_millis(200);
    config.max_retries = 0;
    let err = PinotClient::new(config)
        .unwrap()
        .list_tables()
        .await
        .unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
}

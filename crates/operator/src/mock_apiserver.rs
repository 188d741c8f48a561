//! A scripted apiserver for the controller shells' unit tests (as kube-rs's
//! `controller-rs` does with `tower-test`): every request a reconcile makes is
//! recorded and answered, so a test can assert exactly what the shell wrote.

use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the apiserver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query.
    pub uri: String,
    pub body: Value,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// Whether the request changes anything (everything but GET).
    pub fn writes(&self) -> bool {
        self.method != Method::GET
    }
}

/// A client whose requests are recorded into the returned list and answered: writes
/// echo their object (a status write returns the stored object of that name from
/// `objects` with the new status), deletes answer 404 (nothing to delete), reads
/// answer 404.
pub fn client(objects: Vec<Value>) -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let uri = parts.uri.to_string();
            let response = answer(&parts.method, &uri, &body, &objects);
            record.lock().unwrap().push(Seen {
                method: parts.method,
                uri,
                body,
            });
            send.send_response(response);
        }
    });
    (Client::new(service, "default"), seen)
}

fn answer(method: &Method, uri: &str, body: &Value, objects: &[Value]) -> Response<Body> {
    let (status, value) = match *method {
        Method::PATCH | Method::POST | Method::PUT => (StatusCode::OK, echo(uri, body, objects)),
        _ => (
            StatusCode::NOT_FOUND,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                   "reason": "NotFound", "code": 404, "message": "not found"}),
        ),
    };
    Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(&value).unwrap()))
        .unwrap()
}

/// The object written, with the name the path gives and an empty spec when the body
/// has none (a status patch carries neither, so a stored object is preferred).
fn echo(uri: &str, body: &Value, objects: &[Value]) -> Value {
    let path = uri.split('?').next().unwrap_or_default();
    let name = path
        .trim_end_matches("/status")
        .rsplit('/')
        .next()
        .unwrap_or("x");
    let stored = objects.iter().find(|o| o["metadata"]["name"] == name);
    if let (true, Some(stored)) = (path.ends_with("/status"), stored) {
        let mut object = stored.clone();
        object["status"] = body["status"].clone();
        return object;
    }
    let mut object = body.clone();
    if object.get("metadata").is_none() {
        object["metadata"] = json!({"name": name});
    }
    if object.get("spec").is_none() {
        object["spec"] = json!({});
    }
    object
}

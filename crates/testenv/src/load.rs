//! A query load for rollout tests and benchmarks: a client that sends a query to a Pinot
//! broker every 100 ms (whether or not the
//! previous one has answered), as a dashboard would, and counts what it got: failed queries (no answer, an HTTP error), partial ones (Pinot
//! lists exceptions, or fewer servers responded than were queried), and answers with
//! the wrong row count.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// How often the client queries.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// The client waits as long as the broker does (`pinot.broker.timeoutMs`, 10 s by
/// default): a query with no answer by then has failed. (With a 5 s deadline one CI
/// run counted 6 failed queries, all client timeouts, while two server JVMs started
/// on the 2-core machine; whether the broker answered them later is not known.)
/// Answers slower than [`SLOW`] are counted and reported.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// An answer slower than this is counted as slow (not failed).
const SLOW: Duration = Duration::from_secs(2);

/// What the client saw over a window.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub sent: u64,
    pub failed: u64,
    pub partial: u64,
    pub wrong_count: u64,
    /// Answered correctly, but after more than [`SLOW`].
    pub slow: u64,
    /// The first few problems, to print.
    pub examples: Vec<String>,
}

impl Tally {
    fn note(&mut self, problem: String) {
        if self.examples.len() < 5 {
            self.examples.push(problem);
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{} queries: {} failed, {} partial, {} with a wrong row count, {} slower than {:?}",
            self.sent, self.failed, self.partial, self.wrong_count, self.slow, SLOW
        )
    }
}

/// The running client; [`Load::stop`] returns its tally.
pub struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    task: JoinHandle<()>,
}

/// What one query to run, where, and the answer it must give.
#[derive(Clone)]
pub struct Query {
    /// `http://<broker Service ClusterIP>:8099`.
    pub broker: String,
    pub sql: String,
    /// The count every answer must give; `None` for a table that grows (a REALTIME
    /// table being fed), where any count is right.
    pub expected_count: Option<u64>,
    /// `Basic ...` of a user allowed to query.
    pub authorization: Option<String>,
}

impl Load {
    pub fn start(query: Query) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let task = tokio::spawn(run(query, stop.clone(), tally.clone()));
        Load { stop, tally, task }
    }

    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the query client does not panic");
        self.tally.lock().await.clone()
    }
}

async fn run(query: Query, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    // One idle connection per host, as docs/operations.md (Brokers) tells clients of
    // the broker Service: a pool that keeps a second connection, used only when two
    // queries overlap, can keep it to a deleted broker past the broker's 45 s and
    // have a query on it cut when the broker stops (a CI run of the real-pod test:
    // one such query per load in the broker rollout, "connection closed before
    // message completed").
    let client = reqwest::Client::builder()
        .timeout(QUERY_TIMEOUT)
        .pool_max_idle_per_host(1)
        .build()
        .expect("an HTTP client");
    let mut ticks = tokio::time::interval(INTERVAL);
    let mut in_flight = tokio::task::JoinSet::new();
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        let (client, query, tally) = (client.clone(), query.clone(), tally.clone());
        // When the query was sent, to line problems up with restarts.
        let sent = started.elapsed();
        in_flight.spawn(async move {
            let asked = Instant::now();
            let verdict = ask(&client, &query).await;
            let mut tally = tally.lock().await;
            if matches!(verdict, Verdict::Fine) && asked.elapsed() > SLOW {
                tally.slow += 1;
            }
            tally.add(verdict, query.expected_count, sent);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

impl Tally {
    fn add(&mut self, verdict: Verdict, expected: Option<u64>, sent: Duration) {
        self.sent += 1;
        let at = format!("sent at +{:.1}s", sent.as_secs_f64());
        match verdict {
            Verdict::Fine => {}
            Verdict::Failed(why) => {
                self.failed += 1;
                self.note(format!("failed ({at}): {why}"));
            }
            Verdict::Partial(why) => {
                self.partial += 1;
                self.note(format!("partial ({at}): {why}"));
            }
            Verdict::WrongCount(n) => {
                self.wrong_count += 1;
                self.note(format!("counted {n} rows ({at}), want {expected:?}"));
            }
        }
    }
}

/// An error with its causes ("connection reset" hides in reqwest's sources).
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The row count `query` answers, `None` on any failure.
pub async fn count(client: &reqwest::Client, query: &Query) -> Option<u64> {
    let answer = first_row(client, query, &query.sql).await?;
    answer.first()?.as_u64()
}

/// The first result row of `sql`, sent to `query`'s broker with its credentials;
/// `None` on any failure.
pub async fn first_row(client: &reqwest::Client, query: &Query, sql: &str) -> Option<Vec<Value>> {
    let mut request = client
        .post(format!("{}/query/sql", query.broker))
        .json(&json!({ "sql": sql }));
    if let Some(authorization) = &query.authorization {
        request = request.header("Authorization", authorization);
    }
    let mut answer: Value = request.send().await.ok()?.json().await.ok()?;
    serde_json::from_value(answer.pointer_mut("/resultTable/rows/0")?.take()).ok()
}

enum Verdict {
    Fine,
    Failed(String),
    Partial(String),
    WrongCount(u64),
}

async fn ask(client: &reqwest::Client, query: &Query) -> Verdict {
    let mut request = client
        .post(format!("{}/query/sql", query.broker))
        .json(&json!({ "sql": query.sql }));
    if let Some(authorization) = &query.authorization {
        request = request.header("Authorization", authorization);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Verdict::Failed(chain(&e)),
    };
    let status = response.status();
    let answer: Value = match response.json().await {
        Ok(answer) if status.is_success() => answer,
        Ok(answer) => return Verdict::Failed(format!("{status}: {answer}")),
        Err(e) => return Verdict::Failed(format!("{status}: {}", chain(&e))),
    };
    judge(&answer, query.expected_count)
}

/// The verdict on one broker answer.
fn judge(answer: &Value, expected: Option<u64>) -> Verdict {
    if let Some(exceptions) = answer["exceptions"].as_array().filter(|e| !e.is_empty()) {
        // The first two lines of each: Pinot appends whole stack traces, and 0.11's
        // 305 says which segments only on its second line ("null:\n1 segments [..]").
        let heads: Vec<String> = (exceptions.iter())
            .map(|e| {
                let message = e["message"].as_str().unwrap_or_default();
                let head: Vec<&str> = message.lines().take(2).collect();
                format!("{} {}", e["errorCode"], head.join(" "))
            })
            .collect();
        return Verdict::Partial(heads.join("; "));
    }
    let queried = answer["numServersQueried"].as_u64().unwrap_or(0);
    let responded = answer["numServersResponded"].as_u64().unwrap_or(0);
    if responded < queried {
        return Verdict::Partial(format!("{responded} of {queried} servers responded"));
    }
    match answer
        .pointer("/resultTable/rows/0/0")
        .and_then(Value::as_u64)
    {
        Some(count) if expected.is_none_or(|e| e == count) => Verdict::Fine,
        Some(count) => Verdict::WrongCount(count),
        None => Verdict::Failed(format!("no count in {answer}")),
    }
}

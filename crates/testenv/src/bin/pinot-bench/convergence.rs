//! Content convergence: N PinotSchema + PinotTable pairs created at once, timed until
//! every one is Synced, with the Pinot calls and apiserver requests the operator made;
//! against the floor, a plain HTTP client making the minimal calls (one POST per schema,
//! one per table) for the same N pairs. Each side runs against a Pinot of its own,
//! freshly started and empty: Pinot 0.11 slows down as its table count grows, so sharing
//! one would penalise whichever side ran second.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use crate::Options;
use crate::env::{ApiRequests, Env, Metrics};
use crate::report::{Table, seconds, verdict};

/// Requests in flight, for the floor's POSTs and the operator side's applies alike, so
/// neither side gets more parallelism than the other.
const CONCURRENCY: usize = 16;
const TARGET_RATIO: f64 = 1.2;
const FIELD_MANAGER: &str = "pinot-bench";

/// Synced content the steady-state and latency benchmarks run against.
pub struct Content {
    pub namespace: String,
    pub n: usize,
    /// Tables created directly in the same Pinot (for Pinot's own update latency).
    pub floor_tables: Vec<String>,
}

/// How long the operator side took at one size.
struct Timing {
    /// From the first apply until every schema and table is Synced.
    total: Duration,
    /// From the first apply until the apiserver had answered the last one.
    created: Duration,
    /// The bench's own apiserver requests: its applies (the cluster and 2N objects) and
    /// its LISTs polling for Synced, taken off the apiserver's count.
    applies: f64,
    polls: f64,
}

pub fn schema(name: &str) -> Value {
    json!({
        "schemaName": name,
        "dimensionFieldSpecs": [{"name": "id", "dataType": "STRING"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
            "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]
    })
}

pub fn table(name: &str, retention: u32) -> Value {
    json!({
        "tableName": name,
        "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts",
            "retentionTimeUnit": "DAYS", "retentionTimeValue": retention.to_string()},
        "tenants": {},
        "tableIndexConfig": {"loadMode": "MMAP"},
        "metadata": {}
    })
}

/// The PinotCluster every schema and table refers to: external, the real Pinot.
fn cluster(controller_url: &str) -> Value {
    json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": "pinot"},
        "spec": {"external": {"controllerUrl": controller_url}}
    })
}

/// `n` schema + table pairs named `s<i>`/`t<i>` in Kubernetes and `<prefix>_<i>` in
/// Pinot, each table right after its schema.
fn pairs(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .flat_map(|i| {
            let name = format!("{prefix}_{i}");
            [
                json!({
                    "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotSchema",
                    "metadata": {"name": format!("s{i}")},
                    "spec": {"clusterRef": {"name": "pinot"}, "schema": schema(&name)}
                }),
                json!({
                    "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotTable",
                    "metadata": {"name": format!("t{i}")},
                    "spec": {"clusterRef": {"name": "pinot"},
                             "schemaRef": {"name": format!("s{i}")},
                             "table": table(&name, 30)}
                }),
            ]
        })
        .collect()
}

/// Server-side applies one object of this crate's API group into `namespace`.
async fn apply(client: &kube::Client, namespace: &str, object: &Value) -> anyhow::Result<()> {
    let kind = object["kind"].as_str().context("object without kind")?;
    let name = object["metadata"]["name"]
        .as_str()
        .context("object without name")?;
    let gvk = GroupVersionKind::gvk("pinot.operator.dev", "v1alpha1", kind);
    // The plural from_gvk derives (lower case + "s") is the CRDs' own.
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Apply(object),
    )
    .await
    .with_context(|| format!("apply {kind} {name}"))?;
    Ok(())
}

/// The cluster first (every pair refers to it), then the pairs, [`CONCURRENCY`] at a time.
async fn create(
    client: &kube::Client,
    namespace: &str,
    cluster: &Value,
    pairs: &[Value],
) -> anyhow::Result<()> {
    apply(client, namespace, cluster).await?;
    futures::stream::iter(pairs.iter().map(|object| apply(client, namespace, object)))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// Creates `n` pairs in namespace `conv-<n>` against the current Pinot and waits until
/// all are Synced.
fn converge(env: &Env, n: usize) -> anyhow::Result<(Content, Timing)> {
    let namespace = format!("conv-{n}");
    env.create_namespace(&namespace)?;
    let client = env.client()?;
    let cluster = cluster(&env.pinot().controller_url());
    let pairs = pairs(n, &format!("op{n}"));
    let started = Instant::now();
    env.runtime
        .block_on(create(&client, &namespace, &cluster, &pairs))?;
    let created = started.elapsed();
    let polls = env.wait_synced(&client, &namespace, &["pinotschemas", "pinottables"])?;
    let timing = Timing {
        total: started.elapsed(),
        created,
        applies: (1 + pairs.len()) as f64,
        polls,
    };
    let content = Content {
        namespace,
        n,
        floor_tables: Vec::new(),
    };
    Ok((content, timing))
}

/// Untimed: the tables latency.rs updates directly, next to the operator's in its Pinot.
fn add_floor_tables(env: &Env, content: &mut Content) -> anyhow::Result<()> {
    content.floor_tables = floor(env, content.n, "floor")?.1;
    Ok(())
}

/// The content for steady/latency, in a fresh Pinot, when convergence was not asked for.
pub fn populate(env: &mut Env, n: usize) -> anyhow::Result<Content> {
    env.fresh_pinot()?;
    let (mut content, timing) = converge(env, n)?;
    eprintln!("{n} pairs Synced in {:.1?}", timing.total);
    add_floor_tables(env, &mut content)?;
    Ok(content)
}

/// The floor: one `POST /schemas` per schema, then one `POST /tables` per table, with
/// [`CONCURRENCY`] requests in flight. Returns its time and the table names.
fn floor(env: &Env, n: usize, prefix: &str) -> anyhow::Result<(Duration, Vec<String>)> {
    let url = env.pinot().controller_url();
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{n}_{i}")).collect();
    let post = |path: &'static str, body: Value| {
        let request = env.http.post(format!("{url}{path}")).json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!("POST {path}: {status}: {}", response.text().await?);
            }
            anyhow::Ok(())
        }
    };
    let started = Instant::now();
    env.runtime.block_on(async {
        futures::stream::iter(names.iter().map(|name| post("/schemas", schema(name))))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await?;
        futures::stream::iter(names.iter().map(|name| post("/tables", table(name, 30))))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<()>()
            .await
    })?;
    Ok((started.elapsed(), names))
}

/// The operator's apiserver reads and writes: the count of its kinds less the bench's.
fn operator_requests(timing: &Timing, requests: &ApiRequests) -> (f64, f64) {
    (
        requests.reads() - timing.polls,
        requests.writes() - timing.applies,
    )
}

/// The table row for one size.
fn row(
    n: usize,
    timing: &Timing,
    delta: &Metrics,
    requests: &ApiRequests,
    floor_took: Duration,
) -> Vec<String> {
    let calls = delta.calls();
    let (reads, writes) = operator_requests(timing, requests);
    let ratio = timing.total.as_secs_f64() / floor_took.as_secs_f64();
    vec![
        n.to_string(),
        seconds(timing.total),
        seconds(timing.created),
        format!("{:.0}", calls.total()),
        format!(
            "{:.0} / {:.0} / {:.0}",
            calls.reads, calls.writes, calls.validations
        ),
        format!(
            "{reads:.0} / {writes:.0} ({:.2} per object)",
            (reads + writes) / (2 * n) as f64
        ),
        seconds(floor_took),
        (2 * n).to_string(),
        format!("{ratio:.2}x"),
        verdict(ratio <= TARGET_RATIO),
    ]
}

/// Deletes a smaller size's namespace while its Pinot still runs; Pinot's objects stay
/// (deletionPolicy Retain) and go with that Pinot.
fn delete_namespace(env: &Env, namespace: &str) -> anyhow::Result<()> {
    let status = env
        .kube
        .kubectl()
        .args(["delete", "namespace", namespace, "--timeout=600s"])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("delete namespace {namespace} failed");
    }
    Ok(())
}

/// Every size in ascending order, floor first, each side on a fresh Pinot. Returns the
/// largest size's content, whose Pinot `env` keeps for steady/latency.
pub fn run(env: &mut Env, options: &Options) -> anyhow::Result<Content> {
    let mut sizes = options.sizes.clone();
    sizes.sort_unstable();
    let mut rows = Vec::new();
    let mut details = Vec::new();
    let mut kept = None;
    for (index, &n) in sizes.iter().enumerate() {
        env.fresh_pinot()?;
        let (floor_took, _) = floor(env, n, "floor")?;
        env.fresh_pinot()?;
        let before = env.metrics()?;
        let requests_before = env.apiserver_requests()?;
        let (mut content, timing) = converge(env, n)?;
        let delta = env.metrics()?.since(&before);
        let requests = env.apiserver_requests()?.since(&requests_before);
        rows.push(row(n, &timing, &delta, &requests, floor_took));
        details.push(format!(
            "N = {n}: operator calls by endpoint: {}; reconciles: {:.0}",
            delta.calls_by_endpoint(),
            delta.content_reconciles()
        ));
        details.push(format!(
            "N = {n}: apiserver requests of the operator's kinds, the bench's {:.0} `APPLY` \
             and {:.0} `LIST` included: {}",
            timing.applies,
            timing.polls,
            requests.by_request()
        ));
        if index + 1 < sizes.len() {
            // Only the largest set stays: the steady state is measured at N resources.
            delete_namespace(env, &content.namespace)?;
        } else {
            add_floor_tables(env, &mut content)?;
            kept = Some(content);
        }
    }
    Table {
        title: "1. Content convergence (N schema + table pairs created at once)",
        headers: &[
            "N",
            "all Synced",
            "of which creating objects",
            "Pinot calls",
            "reads / writes / validate",
            "apiserver reads / writes",
            "floor time",
            "floor calls",
            "time vs floor",
            "target <= 1.2x floor",
        ],
        rows,
        notes: details,
    }
    .print();
    println!(
        "Each side runs against a freshly started, empty Pinot of its own (the floor's is \
         stopped before the operator's starts), floor first. Floor: a plain HTTP client POSTing \
         the N schemas, then the N tables, {CONCURRENCY} requests in flight. Operator: an \
         in-process Kubernetes client server-side-applies the PinotCluster (external, at that \
         Pinot), then the N PinotSchema and N PinotTable objects, {CONCURRENCY} requests in \
         flight. \"all Synced\" runs from the first apply until a LIST (every 250 ms) shows \
         Synced=True on every schema and table; \"of which creating objects\" until the \
         apiserver has answered every apply. Pinot calls are the operator's, from its \
         /metrics. Apiserver requests are the operator's kinds' (this API group, Events) in \
         apiserver_request_total, less the bench's own applies and LISTs (WATCH not \
         counted); per object: per schema or table.\n"
    );
    kept.ok_or_else(|| anyhow::anyhow!("no sizes"))
}

//! Content convergence: N PinotSchema + PinotTable pairs created at once, timed until
//! every one is Synced, with the Pinot calls and apiserver requests the operator made;
//! against three floors (floors.rs): Pinot's, Kubernetes', and both run together. Each
//! side that talks to Pinot runs against a Pinot of its own, freshly started and empty:
//! Pinot 0.11 slows down as its table count grows, so sharing one would penalise
//! whichever side ran second.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};

use crate::Options;
use crate::admission::Admission;
use crate::env::{ApiRequests, Env, Metrics};
use crate::floors::{self, CONCURRENCY, KubeFloor, apply, in_flight, pairs};
use crate::report::{Table, seconds, verdict};

const TARGET_RATIO: f64 = 1.2;

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

/// The floors of one size.
struct Floors {
    kube: KubeFloor,
    pinot: Duration,
    combined: Duration,
}

/// The PinotCluster every schema and table refers to: external, the real Pinot.
fn cluster(controller_url: &str) -> Value {
    json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": "pinot"},
        "spec": {"external": {"controllerUrl": controller_url}}
    })
}

/// The cluster first (every pair refers to it), then the pairs, [`CONCURRENCY`] at a time.
async fn create(
    client: &kube::Client,
    namespace: &str,
    cluster: &Value,
    pairs: &[Value],
) -> anyhow::Result<()> {
    apply(client, namespace, cluster).await?;
    in_flight(pairs.iter().map(|object| apply(client, namespace, object))).await
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
    content.floor_tables = floors::pinot(env, content.n, "floor")?.1;
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
    floors: &Floors,
) -> Vec<String> {
    let calls = delta.calls();
    let (reads, writes) = operator_requests(timing, requests);
    let ratio = |floor: Duration| timing.total.as_secs_f64() / floor.as_secs_f64();
    let combined = ratio(floors.combined);
    vec![
        n.to_string(),
        seconds(timing.total),
        seconds(timing.created),
        format!(
            "{:.0} ({:.2} per pair)",
            calls.total(),
            calls.total() / n as f64
        ),
        format!(
            "{:.0} / {:.0} / {:.0}",
            calls.reads, calls.writes, calls.validations
        ),
        format!(
            "{reads:.0} / {writes:.0} ({:.2} per object)",
            (reads + writes) / (2 * n) as f64
        ),
        seconds(floors.pinot),
        seconds(floors.kube.took),
        seconds(floors.combined),
        format!("{:.2}x", ratio(floors.pinot)),
        format!("{combined:.2}x"),
        verdict(combined <= TARGET_RATIO),
    ]
}

/// The apiserver's latency for each kind of write in one window, as table rows.
fn admission_rows(n: usize, window: &str, admission: &Admission) -> Vec<Vec<String>> {
    let cel = match &admission.cel {
        Some(cel) => format!(
            "{:.0} evaluations, {:.1} ms",
            cel.count(),
            cel.mean_ms() * cel.count()
        ),
        None => "not exposed".to_owned(),
    };
    (admission.writes.iter())
        .map(|((verb, resource), latency)| {
            vec![
                n.to_string(),
                window.to_owned(),
                format!("{verb} {resource}"),
                format!("{:.0}", latency.count()),
                format!("{:.1} ms", latency.mean_ms()),
                format!("<= {:.0} ms", latency.quantile_ms(0.99)),
                cel.clone(),
            ]
        })
        .collect()
}

/// The three floors of size `n`, the Pinot ones each on a fresh Pinot.
fn floors(env: &mut Env, n: usize) -> anyhow::Result<Floors> {
    let kube = floors::kube(env, n)?;
    env.fresh_pinot()?;
    let (pinot, _) = floors::pinot(env, n, "floor")?;
    env.fresh_pinot()?;
    let combined = floors::combined(env, n)?;
    Ok(Floors {
        kube,
        pinot,
        combined,
    })
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

/// Every size in ascending order, floors first, each side on a fresh Pinot. Returns
/// the largest size's content, whose Pinot `env` keeps for steady/latency.
pub fn run(env: &mut Env, options: &Options) -> anyhow::Result<Content> {
    let mut sizes = options.sizes.clone();
    sizes.sort_unstable();
    let (mut rows, mut details, mut admission) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept = None;
    for (index, &n) in sizes.iter().enumerate() {
        let floors = floors(env, n)?;
        admission.extend(admission_rows(n, "kube floor", &floors.kube.admission));
        env.fresh_pinot()?;
        let before = env.metrics()?;
        let requests_before = env.apiserver_requests()?;
        let admission_before = env.admission()?;
        let (mut content, timing) = converge(env, n)?;
        let delta = env.metrics()?.since(&before);
        let requests = env.apiserver_requests()?.since(&requests_before);
        let operator_window = env.admission()?.since(&admission_before);
        admission.extend(admission_rows(n, "operator", &operator_window));
        rows.push(row(n, &timing, &delta, &requests, &floors));
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
        for namespace in [format!("kube-floor-{n}"), format!("both-floor-{n}")] {
            delete_namespace(env, &namespace)?;
        }
        if index + 1 < sizes.len() {
            // Only the largest set stays: the steady state is measured at N resources.
            delete_namespace(env, &content.namespace)?;
        } else {
            add_floor_tables(env, &mut content)?;
            kept = Some(content);
        }
    }
    print_convergence(rows, details);
    print_admission(admission);
    kept.ok_or_else(|| anyhow::anyhow!("no sizes"))
}

fn print_convergence(rows: Vec<Vec<String>>, notes: Vec<String>) {
    Table {
        title: "1. Content convergence (N schema + table pairs created at once)",
        headers: &[
            "N",
            "all Synced",
            "of which creating objects",
            "Pinot calls",
            "reads / writes / validate",
            "apiserver reads / writes",
            "Pinot floor",
            "kube floor",
            "combined floor",
            "vs Pinot floor",
            "vs combined floor",
            "target <= 1.2x combined",
        ],
        rows,
        notes,
    }
    .print();
    println!(
        "Floors first, then the operator; every side that talks to Pinot has a freshly \
         started, empty Pinot of its own. Pinot floor: a plain HTTP client POSTing the N \
         schemas, then the N tables, {CONCURRENCY} requests in flight. Kube floor (no Pinot): a \
         plain Kubernetes client server-side-applies the same 2N objects, then writes each \
         one's Synced status, {CONCURRENCY} in flight (its objects carry a label the \
         operator's selector excludes). Combined floor: both at once, each with its own \
         {CONCURRENCY} in flight. Operator: an in-process Kubernetes client \
         server-side-applies the PinotCluster (external, at that Pinot), then the N \
         PinotSchema and N PinotTable objects, {CONCURRENCY} requests in flight. \"all \
         Synced\" runs from the first apply until a LIST (every 250 ms) shows Synced=True on \
         every schema and table; \"of which creating objects\" until the apiserver has \
         answered every apply. Pinot calls are the operator's, from its /metrics. Apiserver \
         requests are the operator's kinds' (this API group, Events) in \
         apiserver_request_total, less the bench's own applies and LISTs (WATCH not \
         counted); per object: per schema or table.\n"
    );
}

/// Admission: the floor's window holds only the floor's writes; the operator's holds
/// the bench's applies and the operator's status writes, with Pinot and the operator
/// on the same machine.
pub fn print_admission(rows: Vec<Vec<String>>) {
    Table {
        title: "1b. Admission: the apiserver's latency per write of this API group",
        headers: &[
            "N",
            "window",
            "request",
            "count",
            "mean",
            "p99",
            "CEL in window",
        ],
        rows,
        notes: vec![],
    }
    .print();
    println!(
        "From the kube-apiserver's apiserver_request_duration_seconds (the whole request: \
         decoding, defaulting, OpenAPI and CEL validation, managed fields, etcd), as the \
         difference of two scrapes around the window; p99 is the upper bound of its \
         histogram bucket. CEL: apiserver_cel_evaluation_duration_seconds over the window \
         (its observations and their summed time), every kind's. The apiserver observes one \
         evaluation per schema node whose subtree carries rules, not per rule, and a node's \
         time includes its children's, so the sum is an upper bound on CEL time.\n"
    );
}

/// Admission alone (`--only admission`): the kube floor at every size, no Pinot.
pub fn run_admission(env: &Env, options: &Options) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut took = Vec::new();
    for &n in &options.sizes {
        let floor = floors::kube(env, n)?;
        rows.extend(admission_rows(n, "kube floor", &floor.admission));
        took.push(format!("N = {n}: kube floor {}", seconds(floor.took)));
        delete_namespace(env, &format!("kube-floor-{n}"))?;
    }
    print_admission(rows);
    println!("{}\n", took.join("; "));
    Ok(())
}

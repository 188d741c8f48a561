//! Content convergence: N PinotSchema + PinotTable pairs applied at once, timed until
//! every one is Synced, with the Pinot calls the operator made; against the floor, a
//! plain HTTP client making the minimal calls (one POST per schema, one per table) for
//! the same N pairs under other names in the same Pinot.

use std::time::{Duration, Instant};

use anyhow::bail;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::Options;
use crate::env::Env;
use crate::report::{Table, seconds, verdict};

/// Requests the floor client keeps in flight.
const FLOOR_CONCURRENCY: usize = 16;
const TARGET_RATIO: f64 = 1.2;

/// Synced content the steady-state and latency benchmarks run against.
pub struct Content {
    pub namespace: String,
    pub n: usize,
    /// Tables the floor client created (for Pinot's own update latency).
    pub floor_tables: Vec<String>,
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

/// The PinotCluster (external, the real Pinot) and `n` schema + table pairs named
/// `s<i>`/`t<i>` in Kubernetes and `<prefix>_<i>` in Pinot, as one JSON `List`.
fn documents(n: usize, prefix: &str, controller_url: &str) -> String {
    let mut docs = vec![json!({
        "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
        "metadata": {"name": "pinot"},
        "spec": {"external": {"controllerUrl": controller_url}}
    })];
    for i in 0..n {
        let name = format!("{prefix}_{i}");
        docs.push(json!({
            "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotSchema",
            "metadata": {"name": format!("s{i}")},
            "spec": {"clusterRef": {"name": "pinot"}, "schema": schema(&name)}
        }));
        docs.push(json!({
            "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotTable",
            "metadata": {"name": format!("t{i}")},
            "spec": {"clusterRef": {"name": "pinot"}, "schemaRef": {"name": format!("s{i}")},
                     "table": table(&name, 30)}
        }));
    }
    json!({"apiVersion": "v1", "kind": "List", "items": docs}).to_string()
}

/// Applies `n` pairs in namespace `conv-<n>` and waits until all are Synced; returns
/// how long that took from the start of `kubectl apply`, and how long the apply was.
fn converge(env: &Env, n: usize) -> anyhow::Result<(Content, Duration, Duration)> {
    let namespace = format!("conv-{n}");
    env.create_namespace(&namespace)?;
    let yaml = documents(n, &format!("op{n}"), &env.pinot().controller_url());
    let started = Instant::now();
    env.apply(&namespace, &yaml)?;
    let applied = started.elapsed();
    env.wait_synced(
        &namespace,
        &[
            ("pinotschemas", "PinotSchema"),
            ("pinottables", "PinotTable"),
        ],
    )?;
    let content = Content {
        namespace,
        n,
        floor_tables: Vec::new(),
    };
    Ok((content, started.elapsed(), applied))
}

/// The content for steady/latency when convergence itself was not asked for.
pub fn populate(env: &Env, n: usize) -> anyhow::Result<Content> {
    let (mut content, took, _) = converge(env, n)?;
    eprintln!("{n} pairs Synced in {took:.1?}");
    content.floor_tables = floor(env, n, "floor")?.1;
    Ok(content)
}

/// The floor: one `POST /schemas` per schema, then one `POST /tables` per table, with
/// [`FLOOR_CONCURRENCY`] requests in flight. Returns its time and the table names.
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
            .buffer_unordered(FLOOR_CONCURRENCY)
            .try_collect::<()>()
            .await?;
        futures::stream::iter(names.iter().map(|name| post("/tables", table(name, 30))))
            .buffer_unordered(FLOOR_CONCURRENCY)
            .try_collect::<()>()
            .await
    })?;
    Ok((started.elapsed(), names))
}

pub fn run(env: &Env, options: &Options) -> anyhow::Result<Content> {
    let mut sizes = options.sizes.clone();
    sizes.sort_unstable();
    let mut rows = Vec::new();
    let mut details = Vec::new();
    let mut kept = None;
    for (index, &n) in sizes.iter().enumerate() {
        let early_floor = if options.floor_first {
            Some(floor(env, n, "floor")?)
        } else {
            None
        };
        let before = env.metrics()?;
        let (mut content, took, applied) = converge(env, n)?;
        let delta = env.metrics()?.since(&before);
        let calls = delta.calls();
        let (floor_took, floor_tables) = match early_floor {
            Some(done) => done,
            None => floor(env, n, "floor")?,
        };
        let ratio = took.as_secs_f64() / floor_took.as_secs_f64();
        rows.push(vec![
            n.to_string(),
            seconds(took),
            seconds(applied),
            format!("{:.0}", calls.total()),
            format!(
                "{:.0} / {:.0} / {:.0}",
                calls.reads, calls.writes, calls.validations
            ),
            seconds(floor_took),
            (2 * n).to_string(),
            format!("{ratio:.2}x"),
            verdict(ratio <= TARGET_RATIO),
        ]);
        details.push(format!(
            "N = {n}: operator calls by endpoint: {}; reconciles: {:.0}",
            delta.calls_by_endpoint(),
            delta.content_reconciles()
        ));
        content.floor_tables = floor_tables;
        if index + 1 < sizes.len() {
            // Only the largest set stays: the steady state is measured at N resources.
            // Deleting the custom resources leaves Pinot's objects (deletionPolicy Retain).
            let status = env
                .kube
                .kubectl()
                .args(["delete", "namespace", &content.namespace, "--timeout=600s"])
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                bail!("delete namespace {} failed", content.namespace);
            }
        } else {
            kept = Some(content);
        }
    }
    Table {
        title: "1. Content convergence (N schema + table pairs applied at once)",
        headers: &[
            "N",
            "all Synced",
            "of which kubectl apply",
            "Pinot calls",
            "reads / writes / validate",
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
        "Floor: a plain HTTP client POSTing the same schemas, then tables, {FLOOR_CONCURRENCY} \
         requests in flight, to the same Pinot under other names, {} the operator at each size. \"all Synced\" runs from the \
         start of `kubectl apply` until a LIST (every 250 ms) shows Synced=True on every schema and \
         table.\n",
        if options.floor_first {
            "before"
        } else {
            "after"
        }
    );
    kept.ok_or_else(|| anyhow::anyhow!("no sizes"))
}

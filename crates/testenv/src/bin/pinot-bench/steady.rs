//! Steady state: with every resource Synced and nothing changing, what the operator
//! does over `--steady-seconds` of resyncs: Pinot writes and reads, apiserver requests,
//! CPU, memory.

use std::time::{Duration, Instant};

use crate::Options;
use crate::convergence::Content;
use crate::env::Env;
use crate::report::{Table, verdict};

const TARGET_RSS_MIB: f64 = 30.0;

pub fn run(env: &Env, options: &Options, content: &Content) -> anyhow::Result<()> {
    // Let the creation's own follow-ups (status writes, first requeues) pass.
    std::thread::sleep(Duration::from_secs(5));
    let before = env.metrics()?;
    let requests_before = env.apiserver_requests()?;
    let cpu_before = env.cpu_seconds()?;
    let started = Instant::now();
    let mut peak_window: f64 = 0.0;
    while started.elapsed() < options.steady {
        peak_window = peak_window.max(env.rss_mib()?.0);
        std::thread::sleep(Duration::from_secs(1));
    }
    let window = started.elapsed();
    let delta = env.metrics()?.since(&before);
    // Nothing to take off: in this window the bench reads only the operator's /metrics
    // and /proc, and the apiserver's /metrics (not one of the operator's kinds).
    let requests = env.apiserver_requests()?.since(&requests_before);
    let cpu = env.cpu_seconds()? - cpu_before;
    let (rss_now, rss_peak) = env.rss_mib()?;
    let calls = delta.calls();
    let resources = 2 * content.n;
    let resyncs = window.as_secs_f64() / options.resync.as_secs_f64();
    let reconciles = delta.content_reconciles();
    let per_resource_resync = calls.reads / (resources as f64 * resyncs);
    let per_reconcile = |n: f64| {
        if reconciles > 0.0 {
            n / reconciles
        } else {
            0.0
        }
    };
    let cluster_reconciles = delta.reconciles.get("pinotcluster").copied().unwrap_or(0.0);
    let rows = vec![
        vec![
            "Pinot writes (POST/PUT/DELETE)".into(),
            format!("{:.0}", calls.writes),
            "0".into(),
            verdict(calls.writes == 0.0),
        ],
        vec![
            "Pinot reads per resource per resync".into(),
            format!(
                "{per_resource_resync:.2} ({:.0} GETs, {resources} resources, {resyncs:.1} resync intervals)",
                calls.reads
            ),
            "<= 1".into(),
            verdict(per_resource_resync <= 1.0),
        ],
        vec![
            "Pinot reads per content reconcile".into(),
            format!(
                "{:.2} ({reconciles:.0} reconciles)",
                per_reconcile(calls.reads)
            ),
            "-".into(),
            "-".into(),
        ],
        vec![
            "Pinot validate calls (POST, no change)".into(),
            format!("{:.0}", calls.validations),
            "-".into(),
            "-".into(),
        ],
        vec![
            "apiserver requests (the operator's kinds: this API group, Events)".into(),
            format!(
                "{:.0} (+ {:.0} of other components and scrapes)",
                requests.total(),
                requests.others
            ),
            "-".into(),
            "-".into(),
        ],
        vec![
            "apiserver reads (GET/LIST) per content reconcile".into(),
            format!(
                "{:.2} ({:.0} reads)",
                per_reconcile(requests.reads()),
                requests.reads()
            ),
            "-".into(),
            "-".into(),
        ],
        vec![
            "apiserver writes (POST/PUT/PATCH/APPLY/DELETE) per content reconcile".into(),
            format!(
                "{:.2} ({:.0} writes)",
                per_reconcile(requests.writes()),
                requests.writes()
            ),
            "-".into(),
            "-".into(),
        ],
        vec![
            "operator CPU seconds".into(),
            format!(
                "{cpu:.2} s ({:.2}% of one core)",
                100.0 * cpu / window.as_secs_f64()
            ),
            "-".into(),
            "-".into(),
        ],
        vec![
            "operator RSS: peak in window / now".into(),
            format!("{peak_window:.1} MiB / {rss_now:.1} MiB"),
            format!("<= {TARGET_RSS_MIB:.0} MiB"),
            verdict(peak_window <= TARGET_RSS_MIB),
        ],
        vec![
            "operator peak RSS since start (VmHWM, includes convergence)".into(),
            format!("{rss_peak:.1} MiB"),
            format!("<= {TARGET_RSS_MIB:.0} MiB"),
            verdict(rss_peak <= TARGET_RSS_MIB),
        ],
    ];
    Table {
        title: &format!(
            "2. Steady state: {} pairs ({resources} resources), {:.0} s, --resync-seconds {}",
            content.n,
            window.as_secs_f64(),
            options.resync.as_secs()
        ),
        headers: &["figure", "value", "target", "met"],
        rows,
        notes: vec![
            format!(
                "calls by endpoint in the window: {}",
                if delta.calls.is_empty() {
                    "none".to_owned()
                } else {
                    delta.calls_by_endpoint()
                }
            ),
            // The one PinotCluster's resyncs are in the apiserver figures too (its
            // requests cannot be told from those of content reconciles reading it).
            format!(
                "apiserver requests in the window (the bench makes none of these kinds, the \
                 {cluster_reconciles:.0} PinotCluster reconciles' are included): {}",
                requests.by_request()
            ),
        ],
    }
    .print();
    Ok(())
}

//! The real components every benchmark runs against, and what it reads from them: the
//! operator's `/metrics`, its CPU time and memory from `/proc`, and the kube-apiserver's
//! own request counters.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testenv::kubernetes::{Kubernetes, KubernetesOptions};
use testenv::pinot::Pinot;
use testenv::process::{ManagedProcess, free_port};

use crate::Options;
use crate::admission::Admission;
use crate::floors::FLOOR_LABEL;

pub struct Env {
    pub kube: Kubernetes,
    /// The Pinot the content benchmarks talk to; see [`Env::fresh_pinot`].
    pinot: Option<Pinot>,
    pub operator: ManagedProcess,
    pub runtime: tokio::runtime::Runtime,
    pub http: reqwest::Client,
    metrics_url: String,
    _logs: tempfile::TempDir,
}

impl Env {
    /// Starts Kubernetes (with a real node when a benchmark runs real pods), installs
    /// the CRDs and runs the release-built operator with `--resync-seconds` from the
    /// options. Pinot is started by the benchmarks that need one ([`Env::fresh_pinot`]).
    pub fn start(options: &Options) -> anyhow::Result<Env> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let real_node = options.runs(crate::Bench::RealRollout);
        let kube = Kubernetes::start_with(KubernetesOptions { real_node })?;
        eprintln!("kubernetes ready in {:.1?}", kube.startup_time());
        let crds = (options.crds.clone())
            .unwrap_or_else(|| testenv::versions::repo_root().join("deploy/crds"));
        let applied = kube
            .kubectl()
            .args(["apply", "--server-side", "-f"])
            .arg(&crds)
            .stdout(Stdio::null())
            .status()?;
        if !applied.success() {
            bail!("kubectl apply -f {} failed", crds.display());
        }
        kube.kubectl()
            .args([
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=60s",
            ])
            .stdout(Stdio::null())
            .status()?;
        // PINOT_BENCH_OPERATOR_LOG (a RUST_LOG filter) keeps the operator's log, to see
        // why each reconcile ran and which Pinot calls it made.
        let log_filter = std::env::var("PINOT_BENCH_OPERATOR_LOG").ok();
        let logs = tempfile::Builder::new()
            .prefix("pinot-bench-")
            .disable_cleanup(log_filter.is_some())
            .tempdir()?;
        let port = free_port();
        let mut command = Command::new(std::env::current_exe()?.with_file_name("pinot-operator"));
        command
            .args(["run", "--leader-election", "false", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--resync-seconds")
            .arg(options.resync.as_secs().to_string())
            .args(["--log-level", "warn"])
            .arg(format!("--selector=!{FLOOR_LABEL}"))
            .env("KUBECONFIG", kube.kubeconfig_path());
        if let Some(filter) = &log_filter {
            command.env("RUST_LOG", filter);
            eprintln!("operator log kept in {}", logs.path().display());
        }
        // Deployed clusters' Services resolve through the real node's CoreDNS.
        if real_node {
            command = kube.with_cluster_dns(command);
        }
        let operator = ManagedProcess::spawn("pinot-operator", command, logs.path())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let env = Env {
            kube,
            pinot: None,
            operator,
            runtime,
            http,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            _logs: logs,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while env.metrics().is_err() {
            if Instant::now() > deadline {
                bail!(
                    "the operator never served /metrics:\n{}",
                    env.operator.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(env)
    }

    pub fn pinot(&self) -> &Pinot {
        self.pinot
            .as_ref()
            .expect("a content benchmark started Pinot with Env::fresh_pinot")
    }

    /// Replaces the Pinot with a newly started, empty one. The old one is stopped first
    /// (dropping it kills its JVMs and removes its files), so it takes no CPU from the
    /// new one and the figures measured against it.
    pub fn fresh_pinot(&mut self) -> anyhow::Result<()> {
        self.pinot = None;
        let pinot = Pinot::start()?;
        eprintln!("pinot ready in {:.1?}", pinot.startup_time());
        self.pinot = Some(pinot);
        Ok(())
    }

    /// `kubectl create namespace`.
    pub fn create_namespace(&self, name: &str) -> anyhow::Result<()> {
        let status = self
            .kube
            .kubectl()
            .args(["create", "namespace", name])
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("kubectl create namespace {name} failed");
        }
        Ok(())
    }

    /// `kubectl apply --server-side -n <namespace> -f -` with `yaml` on stdin.
    pub fn apply(&self, namespace: &str, yaml: &str) -> anyhow::Result<()> {
        let mut child = self
            .kube
            .kubectl()
            .args(["apply", "--server-side", "-n", namespace, "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(yaml.as_bytes())?;
        if !child.wait()?.success() {
            bail!("kubectl apply failed");
        }
        Ok(())
    }

    /// Blocks until every object of each of `plurals` (this crate's API group) in
    /// `namespace` has condition `Synced=True`, listing them every 250 ms, one kind after
    /// the other (`kubectl wait` on thousands of objects takes minutes of its own).
    /// Returns how many LISTs it made, which the apiserver counts with the operator's.
    pub fn wait_synced(
        &self,
        client: &kube::Client,
        namespace: &str,
        plurals: &[&str],
    ) -> anyhow::Result<f64> {
        let deadline = Instant::now() + Duration::from_secs(1800);
        self.runtime.block_on(async {
            let mut lists = 0.0;
            for plural in plurals {
                loop {
                    lists += 1.0;
                    if all_synced(client, namespace, plural).await? {
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!("{plural} in {namespace} never all Synced");
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            Ok(lists)
        })
    }

    /// The operator's counters now.
    pub fn metrics(&self) -> anyhow::Result<Metrics> {
        let text = self.runtime.block_on(async {
            self.http
                .get(&self.metrics_url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        })?;
        Ok(Metrics::parse(&text))
    }

    /// The kube-apiserver's own `/metrics`, read as admin.
    fn apiserver_metrics(&self) -> anyhow::Result<String> {
        let client = self.client()?;
        let request = http::Request::get("/metrics").body(Vec::new())?;
        let text = self
            .runtime
            .block_on(async move { client.request_text(request).await })?;
        Ok(text)
    }

    /// The kube-apiserver's request counters now.
    pub fn apiserver_requests(&self) -> anyhow::Result<ApiRequests> {
        Ok(ApiRequests::parse(&self.apiserver_metrics()?))
    }

    /// The kube-apiserver's write latencies and CEL time now.
    pub fn admission(&self) -> anyhow::Result<Admission> {
        Ok(Admission::parse(&self.apiserver_metrics()?))
    }

    /// CPU seconds (user + system) the operator used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.operator.pid()))?;
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')').context("/proc/<pid>/stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok(ticks / per_second)
    }

    /// Resident memory now (`VmRSS`) and its peak since the start (`VmHWM`), in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.operator.pid()))?;
        let field = |name: &str| -> anyhow::Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("{name} in /proc/<pid>/status"))?;
            let kib: f64 = line.split_whitespace().nth(1).context("value")?.parse()?;
            Ok(kib / 1024.0)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// A client for the test cluster, on this environment's runtime.
    pub fn client(&self) -> anyhow::Result<kube::Client> {
        let path = self.kube.kubeconfig_path().to_owned();
        self.runtime.block_on(async move {
            let kubeconfig = kube::config::Kubeconfig::read_from(&path)?;
            let config = kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await?;
            Ok(kube::Client::try_from(config)?)
        })
    }
}

/// Whether there are objects of `plural` in `namespace` and all show `Synced=True` in
/// the CRD's `Synced` printer column (the status of the `Synced` condition). One LIST
/// answered as a server-side Table of the printer columns only: full objects cost the
/// apiserver ~0.1 ms of CPU each (100 PinotTables: ~12 ms per LIST, ~4-5 ms as a
/// Table), so polling 1,000 of them would take about a third of a core from the
/// operator being timed, a cost the floor does not pay.
async fn all_synced(client: &kube::Client, namespace: &str, plural: &str) -> anyhow::Result<bool> {
    let request = http::Request::get(format!(
        "/apis/pinot.operator.dev/v1alpha1/namespaces/{namespace}/{plural}?includeObject=None"
    ))
    .header(
        http::header::ACCEPT,
        "application/json;as=Table;v=v1;g=meta.k8s.io",
    )
    .body(Vec::new())?;
    let table: serde_json::Value = client.request(request).await?;
    let column = table["columnDefinitions"]
        .as_array()
        .and_then(|columns| columns.iter().position(|c| c["name"] == "Synced"))
        .with_context(|| format!("{plural} have no Synced printer column"))?;
    // An empty list may answer `rows: null`.
    let Some(rows) = table["rows"].as_array() else {
        return Ok(false);
    };
    Ok(!rows.is_empty() && rows.iter().all(|row| row["cells"][column] == "True"))
}

/// The operator's counters: Pinot API calls by endpoint (`"GET /tables/{name}"`,
/// summed over outcomes), reconciles by controller, pods restarted by pool.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub calls: BTreeMap<String, f64>,
    pub reconciles: BTreeMap<String, f64>,
    pub restarts: BTreeMap<String, f64>,
}

/// Pinot calls split the way the targets count them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calls {
    /// GET.
    pub reads: f64,
    /// POST, PUT, DELETE that change Pinot.
    pub writes: f64,
    /// `POST /tables/validate`: a POST that changes nothing.
    pub validations: f64,
}

impl Calls {
    pub fn total(&self) -> f64 {
        self.reads + self.writes + self.validations
    }
}

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let mut metrics = Metrics::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (map, label) = if series.starts_with("pinot_operator_pinot_api_calls_total{") {
                (&mut metrics.calls, "endpoint")
            } else if series.starts_with("pinot_operator_reconciles_total{") {
                (&mut metrics.reconciles, "controller")
            } else if series.starts_with("pinot_operator_pod_restarts_total{") {
                (&mut metrics.restarts, "pool")
            } else {
                continue;
            };
            if let Some(key) = label_value(series, label) {
                *map.entry(key).or_default() += value;
            }
        }
        metrics
    }

    /// What changed between `before` and `self`.
    pub fn since(&self, before: &Metrics) -> Metrics {
        let diff = |now: &BTreeMap<String, f64>, then: &BTreeMap<String, f64>| {
            now.iter()
                .map(|(k, v)| (k.clone(), v - then.get(k).copied().unwrap_or(0.0)))
                .filter(|(_, v)| *v != 0.0)
                .collect()
        };
        Metrics {
            calls: diff(&self.calls, &before.calls),
            reconciles: diff(&self.reconciles, &before.reconciles),
            restarts: diff(&self.restarts, &before.restarts),
        }
    }

    pub fn calls(&self) -> Calls {
        let mut calls = Calls::default();
        for (endpoint, n) in &self.calls {
            if endpoint.starts_with("GET ") {
                calls.reads += n;
            } else if endpoint.ends_with("/validate") {
                calls.validations += n;
            } else {
                calls.writes += n;
            }
        }
        calls
    }

    /// Reconciles of the schema and table controllers.
    pub fn content_reconciles(&self) -> f64 {
        ["pinotschema", "pinottable"]
            .iter()
            .map(|c| self.reconciles.get(*c).copied().unwrap_or(0.0))
            .sum()
    }

    /// `endpoint: count` pairs, for the detail line under a table.
    pub fn calls_by_endpoint(&self) -> String {
        self.calls
            .iter()
            .map(|(e, n)| format!("`{e}` {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The kube-apiserver's `apiserver_request_total`, summed over response codes. The
/// operator and the bench share the admin identity, and the metric carries neither user
/// nor user agent, so the operator's requests are told apart by kind: this API group's
/// and Events are only the operator's and the bench's (what the bench does in a window
/// is known and taken off there); Pods, StatefulSets and the rest also serve the
/// controller-manager and KWOK, and no benchmark that reads these has a managed cluster.
#[derive(Debug, Clone, Default)]
pub struct ApiRequests {
    /// The operator's kinds, by `(verb, resource[/subresource])`.
    pub operator: BTreeMap<(String, String), f64>,
    /// Every other request: other components' (KWOK node heartbeats, leases,
    /// controllers), discovery, and these `/metrics` scrapes.
    pub others: f64,
}

impl ApiRequests {
    fn parse(text: &str) -> ApiRequests {
        let mut requests = ApiRequests::default();
        for line in text.lines() {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            if !series.starts_with("apiserver_request_total{") {
                continue;
            }
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let label = |name| label_value(series, name).unwrap_or_default();
            let resource = label("resource");
            if label("group") != "pinot.operator.dev" && resource != "events" {
                requests.others += value;
                continue;
            }
            let resource = match label("subresource").as_str() {
                "" => resource,
                sub => format!("{resource}/{sub}"),
            };
            *requests
                .operator
                .entry((label("verb"), resource))
                .or_default() += value;
        }
        requests
    }

    /// What changed between `before` and `self`.
    pub fn since(&self, before: &ApiRequests) -> ApiRequests {
        ApiRequests {
            operator: self
                .operator
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v - before.operator.get(k).copied().unwrap_or(0.0),
                    )
                })
                .filter(|(_, v)| *v != 0.0)
                .collect(),
            others: self.others - before.others,
        }
    }

    fn count(&self, verbs: &[&str]) -> f64 {
        self.operator
            .iter()
            .filter(|((verb, _), _)| verbs.contains(&verb.as_str()))
            // Not `sum()`: an empty f64 sum is -0, printed as "-0".
            .fold(0.0, |total, (_, n)| total + n)
    }

    /// GET and LIST. Not WATCH: the apiserver counts a watch when it ends, minutes later.
    pub fn reads(&self) -> f64 {
        self.count(&["GET", "LIST"])
    }

    /// POST, PUT, PATCH, APPLY (what the metric calls a server-side apply), DELETE.
    pub fn writes(&self) -> f64 {
        self.count(&[
            "POST",
            "PUT",
            "PATCH",
            "APPLY",
            "DELETE",
            "DELETECOLLECTION",
        ])
    }

    pub fn total(&self) -> f64 {
        self.operator.values().fold(0.0, |total, n| total + n)
    }

    /// `VERB resource: count` pairs, for the detail line under a table.
    pub fn by_request(&self) -> String {
        if self.operator.is_empty() {
            return "none".to_owned();
        }
        self.operator
            .iter()
            .map(|((verb, resource), n)| format!("`{verb} {resource}` {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The value of `label` in a series' `{a="x",b="y"}`, matching whole label names only
/// (`resource` is also the end of `subresource`).
pub fn label_value(series: &str, label: &str) -> Option<String> {
    let start = [format!("{{{label}=\""), format!(",{label}=\"")]
        .iter()
        .find_map(|key| Some(series.find(key.as_str())? + key.len()))?;
    let end = series[start..].find('"')? + start;
    Some(series[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_splits_the_operator_s_counters() {
        let text = "# HELP x\n\
            pinot_operator_pinot_api_calls_total{endpoint=\"GET /tables/{name}\",outcome=\"ok\"} 3\n\
            pinot_operator_pinot_api_calls_total{endpoint=\"GET /tables/{name}\",outcome=\"404\"} 1\n\
            pinot_operator_pinot_api_calls_total{endpoint=\"POST /tables\",outcome=\"ok\"} 2\n\
            pinot_operator_pinot_api_calls_total{endpoint=\"POST /tables/validate\",outcome=\"ok\"} 2\n\
            pinot_operator_reconciles_total{controller=\"pinottable\"} 5\n\
            pinot_operator_pod_restarts_total{namespace=\"a\",cluster=\"b\",pool=\"server/p0\"} 4\n";
        let metrics = Metrics::parse(text);
        let calls = metrics.calls();
        assert_eq!(
            (calls.reads, calls.writes, calls.validations),
            (4.0, 2.0, 2.0)
        );
        assert_eq!(metrics.content_reconciles(), 5.0);
        assert_eq!(metrics.restarts["server/p0"], 4.0);
        let later = Metrics::parse(&text.replace("} 5", "} 7"));
        assert_eq!(later.since(&metrics).reconciles["pinottable"], 2.0);
        assert!(later.since(&metrics).calls.is_empty());
    }

    #[test]
    fn counts_the_operator_s_kinds_of_apiserver_requests() {
        let text = "apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1alpha1\"} 3\n\
            apiserver_request_total{code=\"404\",component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1alpha1\"} 1\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"pinot.operator.dev\",resource=\"pinottables\",scope=\"resource\",subresource=\"status\",verb=\"APPLY\",version=\"v1alpha1\"} 2\n\
            apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"events.k8s.io\",resource=\"events\",scope=\"resource\",subresource=\"\",verb=\"POST\",version=\"v1\"} 1\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"coordination.k8s.io\",resource=\"leases\",scope=\"resource\",subresource=\"\",verb=\"PUT\",version=\"v1\"} 7\n";
        let requests = ApiRequests::parse(text);
        assert_eq!(
            requests.operator[&("GET".into(), "pinottables".into())],
            4.0
        );
        assert_eq!((requests.reads(), requests.writes()), (4.0, 3.0));
        assert_eq!(requests.others, 7.0);
        let later = ApiRequests::parse(&text.replace("} 3", "} 5"));
        assert_eq!(later.since(&requests).reads(), 2.0);
        assert_eq!(later.since(&requests).writes(), 0.0);
    }
}

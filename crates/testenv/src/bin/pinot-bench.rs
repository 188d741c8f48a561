//! Benchmark: how fast the operator brings N schemas and N tables into a real Pinot,
//! how fast it reverts drift, and how much memory it uses doing so. Prints figures;
//! asserts nothing (tests assert behaviour, this measures it).
//!
//! Run it through `scripts/bench.sh [N]`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use testenv::process::ManagedProcess;

const NAMESPACE: &str = "bench";

fn kubectl_apply(kube: &Kubernetes, yaml: &str) -> anyhow::Result<()> {
    let mut child = kube
        .kubectl()
        .args(["apply", "--server-side", "-n", NAMESPACE, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    use std::io::Write;
    child.stdin.take().unwrap().write_all(yaml.as_bytes())?;
    if !child.wait()?.success() {
        bail!("kubectl apply failed");
    }
    Ok(())
}

fn documents(n: usize, controller_url: &str, retention: u32) -> String {
    let mut out = format!(
        "apiVersion: pinot.operator.dev/v1alpha1\nkind: PinotCluster\nmetadata: {{name: pinot}}\n\
         spec: {{external: {{controllerUrl: \"{controller_url}\"}}}}\n"
    );
    for i in 0..n {
        out.push_str(&format!(
            "---\napiVersion: pinot.operator.dev/v1alpha1\nkind: PinotSchema\nmetadata: {{name: s{i}}}\n\
             spec:\n  clusterRef: {{name: pinot}}\n  schema:\n    schemaName: bench_{i}\n\
             \x20   dimensionFieldSpecs: [{{name: id, dataType: STRING}}]\n\
             \x20   dateTimeFieldSpecs: [{{name: ts, dataType: LONG, format: \"1:MILLISECONDS:EPOCH\", granularity: \"1:MILLISECONDS\"}}]\n\
             ---\napiVersion: pinot.operator.dev/v1alpha1\nkind: PinotTable\nmetadata: {{name: t{i}}}\n\
             spec:\n  clusterRef: {{name: pinot}}\n  schemaRef: {{name: s{i}}}\n  table:\n    tableName: bench_{i}\n\
             \x20   tableType: OFFLINE\n    segmentsConfig: {{replication: \"1\", timeColumnName: ts, retentionTimeUnit: DAYS, retentionTimeValue: \"{retention}\"}}\n\
             \x20   tenants: {{}}\n    tableIndexConfig: {{loadMode: MMAP}}\n    metadata: {{}}\n"
        ));
    }
    out
}

/// Seconds until `kubectl wait` sees the condition on every object of `kind`.
fn time_until(kube: &Kubernetes, kind: &str, condition: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = kube
        .kubectl()
        .args([
            "wait",
            "-n",
            NAMESPACE,
            kind,
            "--all",
            &format!("--for={condition}"),
            "--timeout=600s",
        ])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("{kind} never reached {condition}");
    }
    Ok(started.elapsed())
}

/// Peak resident memory (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("VmHWM")?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .context("VmHWM value")?
        .parse()?;
    Ok(kib / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50);
    let kube = Kubernetes::start()?;
    let pinot = Pinot::start()?;
    let logs = tempfile::tempdir()?;
    let crds = testenv::versions::repo_root().join("deploy/crds");
    kube.kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(&crds)
        .stdout(Stdio::null())
        .status()?;
    kube.kubectl()
        .args(["create", "namespace", NAMESPACE])
        .stdout(Stdio::null())
        .status()?;
    let mut command = Command::new(std::env::current_exe()?.with_file_name("pinot-operator"));
    command
        .args([
            "run",
            "--leader-election",
            "false",
            "--listen",
            "127.0.0.1:0",
            "--resync-seconds",
            "10",
        ])
        .args(["--log-level", "warn"])
        .env("KUBECONFIG", kube.kubeconfig_path());
    let operator = ManagedProcess::spawn("pinot-operator", command, logs.path())?;

    kubectl_apply(&kube, &documents(n, &pinot.controller_url(), 30))?;
    let schemas = time_until(&kube, "pinotschemas", "condition=Synced")?;
    let tables = time_until(&kube, "pinottables", "condition=Synced")?;
    let create_total = schemas + tables;

    // Change every table (retention 30 -> 90) and time until all report the new generation.
    kubectl_apply(&kube, &documents(n, &pinot.controller_url(), 90))?;
    let update = time_until(
        &kube,
        "pinottables",
        "jsonpath={.status.observedGeneration}=2",
    )?;

    println!(
        "pinot-operator benchmark (real kube-apiserver, real Pinot {})",
        testenv::versions::version("PINOT_VERSION")
    );
    println!("  objects                         {n} schemas + {n} tables");
    println!(
        "  create -> all Synced            {:.1} s  ({:.1} objects/s)",
        create_total.as_secs_f64(),
        (2 * n) as f64 / create_total.as_secs_f64()
    );
    println!(
        "  update {n} tables -> all Synced {:.1} s",
        update.as_secs_f64()
    );
    println!(
        "  operator peak RSS               {:.1} MiB",
        peak_rss_mib(operator.pid())?
    );
    Ok(())
}

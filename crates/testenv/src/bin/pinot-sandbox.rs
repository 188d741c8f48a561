//! The local sandbox: real Kubernetes (etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler, KWOK nodes) and a real Apache Pinot, the CRDs, the operator
//! running as its own process, and the examples applied. Ctrl-C tears it all down.
//!
//! Run it through `scripts/sandbox.sh`, which builds everything first.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use testenv::process::ManagedProcess;

const NAMESPACE: &str = "sandbox";

fn step(message: &str) {
    println!("==> {message}");
}

fn repo_root() -> PathBuf {
    testenv::versions::repo_root()
}

fn kubectl(kube: &Kubernetes, args: &[&str]) -> anyhow::Result<String> {
    let out = kube.kubectl().args(args).output().context("run kubectl")?;
    if !out.status.success() {
        bail!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Applies every YAML file of `dir`, with `${PINOT_CONTROLLER_URL}` filled in.
fn apply_examples(
    kube: &Kubernetes,
    dir: &Path,
    controller_url: &str,
    log_dir: &Path,
) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    for file in files {
        let text =
            std::fs::read_to_string(&file)?.replace("${PINOT_CONTROLLER_URL}", controller_url);
        let rendered = log_dir.join(file.file_name().unwrap());
        std::fs::write(&rendered, text)?;
        print!(
            "{}",
            kubectl(
                kube,
                &[
                    "apply",
                    "--server-side",
                    "-n",
                    NAMESPACE,
                    "-f",
                    rendered.to_str().unwrap()
                ]
            )?
        );
    }
    Ok(())
}

/// Waits until `condition` is True on every object of `kind` in the namespace.
fn wait_for(kube: &Kubernetes, kind: &str, condition: &str, timeout: &str) -> anyhow::Result<()> {
    let arg = format!("--for=condition={condition}");
    let timeout = format!("--timeout={timeout}");
    kubectl(
        kube,
        &["wait", "-n", NAMESPACE, kind, "--all", &arg, &timeout],
    )
    .with_context(|| format!("{kind} did not become {condition}"))?;
    println!("    {kind}: {condition}");
    Ok(())
}

fn start_operator(kube: &Kubernetes, log_dir: &Path) -> anyhow::Result<ManagedProcess> {
    let binary = std::env::current_exe()?.with_file_name("pinot-operator");
    if !binary.exists() {
        bail!(
            "{} is missing: run `cargo build -p pinot-operator` (scripts/sandbox.sh does)",
            binary.display()
        );
    }
    let mut command = Command::new(binary);
    command
        .args([
            "run",
            "--listen",
            "127.0.0.1:8080",
            "--resync-seconds",
            "15",
            "--log-format",
            "text",
        ])
        .args(["--lease-namespace", "default"])
        .env("KUBECONFIG", kube.kubeconfig_path())
        .stdout(Stdio::null());
    Ok(ManagedProcess::spawn("pinot-operator", command, log_dir)?)
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    step(
        "starting Kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK)",
    );
    let kube = Kubernetes::start()?;
    step("starting Apache Pinot (ZooKeeper, controller, broker, 2 servers, minion)");
    let pinot = Pinot::start()?;
    let log_dir = tempfile::Builder::new()
        .prefix("pinot-sandbox-")
        .tempdir()?;

    step("installing the CRDs");
    let crds = repo_root().join("deploy/crds");
    print!(
        "{}",
        kubectl(
            &kube,
            &["apply", "--server-side", "-f", crds.to_str().unwrap()]
        )?
    );
    kubectl(&kube, &["create", "namespace", NAMESPACE])?;

    step("starting the operator (logs: see the path below)");
    let operator = start_operator(&kube, log_dir.path())?;

    step(
        "applying examples/external (a PinotCluster pointing at the real Pinot, schemas, tables, a tenant)",
    );
    apply_examples(
        &kube,
        &repo_root().join("examples/external"),
        &pinot.controller_url(),
        log_dir.path(),
    )?;
    step("applying examples/deployed (a heterogeneous PinotCluster on the KWOK nodes)");
    apply_examples(
        &kube,
        &repo_root().join("examples/deployed"),
        &pinot.controller_url(),
        log_dir.path(),
    )?;

    step("waiting until everything reports Ready");
    for kind in ["pinotschemas", "pinottables", "pinottenants"] {
        wait_for(&kube, kind, "Ready", "180s")?;
    }
    wait_for(&kube, "pinotcluster/analytics", "Available", "600s")?;

    println!(
        "\nSandbox ready in {:.0?}. Try:\n\
         \n  export KUBECONFIG={kubeconfig}\
         \n  kubectl get pinot,pinotschemas,pinottables,pinottenants -n {NAMESPACE}\
         \n  kubectl get statefulsets,pods -n {NAMESPACE} -o wide\
         \n  kubectl describe pinottable events -n {NAMESPACE}\
         \n  kubectl edit pinottable events -n {NAMESPACE}      # change retentionTimeValue, watch Pinot follow\
         \n  curl -s {controller}/tables/events | head           # Pinot REST API\
         \n  open {controller}                                   # Pinot UI\
         \n  curl -s localhost:8080/metrics | grep pinot_operator\
         \n\nOperator log: {log}\nPress Ctrl-C to tear everything down.",
        started.elapsed(),
        kubeconfig = kube.kubeconfig_path().display(),
        controller = pinot.controller_url(),
        log = operator.log_path().display(),
    );
    wait_for_ctrl_c();
    step("tearing down");
    drop(operator);
    drop(pinot);
    drop(kube);
    Ok(())
}

fn wait_for_ctrl_c() {
    let (tx, rx) = std::sync::mpsc::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    std::thread::spawn(move || {
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::MAX);
}

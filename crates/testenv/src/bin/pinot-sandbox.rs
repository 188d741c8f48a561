//! The local sandbox: real Kubernetes (etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler, KWOK nodes and a real node running pods) and a real Apache Pinot,
//! the CRDs, the operator running as its own process, and the examples applied: the
//! quickstart cluster deployed on the real node (images built here), a heterogeneous
//! cluster placed on KWOK nodes, and content for the external Pinot. Ctrl-C tears it
//! all down. A machine that cannot run containers gets the KWOK part only, and is told.
//!
//! Run it through `scripts/sandbox.sh`, which builds everything first.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use testenv::kubernetes::{Kubernetes, KubernetesOptions, pinot_image, zookeeper_image};
use testenv::pinot::{Pinot, upload_json_rows};
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

/// Where a deployed example runs in the sandbox.
#[derive(Clone, Copy, PartialEq)]
enum Nodes {
    /// The real node, with the images built here (nothing can be pulled).
    Real,
    /// KWOK nodes: pods are placed but run nothing.
    Simulated,
}

/// `examples/deployed/<file>` pinned to `nodes` (every pod, ZooKeeper's too), as a
/// JSON list for kubectl.
fn pinned_example(kube: &Kubernetes, file: &str, nodes: Nodes) -> anyhow::Result<String> {
    let file = repo_root().join("examples/deployed").join(file);
    let list = kubectl(
        kube,
        &[
            "create",
            "--dry-run=client",
            "-o",
            "json",
            "-f",
            file.to_str().unwrap(),
        ],
    )?;
    // kubectl prints one JSON document per object.
    let mut items = serde_json::Deserializer::from_str(&list)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()?;
    let node_type = match nodes {
        Nodes::Real => "real",
        Nodes::Simulated => "kwok",
    };
    for item in &mut items {
        // kubectl fills in its default namespace; the sandbox's is given on apply.
        if let Some(meta) = item["metadata"].as_object_mut() {
            meta.remove("namespace");
        }
        if item["kind"] != "PinotCluster" {
            continue;
        }
        let spec = &mut item["spec"];
        spec["kubernetes"]["nodeSelector"]["type"] = json!(node_type);
        spec["zookeeper"]["managed"]["kubernetes"]["nodeSelector"]["type"] = json!(node_type);
        if nodes == Nodes::Real {
            spec["image"] = json!(pinot_image());
            spec["zookeeper"]["managed"]["image"] = json!(zookeeper_image());
        }
    }
    Ok(json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string())
}

/// `kubectl apply --server-side -f -` of `manifest`.
fn apply_json(kube: &Kubernetes, manifest: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = kube
        .kubectl()
        .args(["apply", "--server-side", "-n", NAMESPACE, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(manifest.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("kubectl apply failed");
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

/// `http://<ClusterIP>:<port>` of a Service in the sandbox namespace: the host reaches
/// Service addresses through kube-proxy, like a pod.
fn service_url(kube: &Kubernetes, service: &str, port: u16) -> anyhow::Result<String> {
    let jsonpath = "-o=jsonpath={.spec.clusterIP}";
    let ip = kubectl(
        kube,
        &["get", "service", service, "-n", NAMESPACE, jsonpath],
    )?;
    Ok(format!("http://{}:{port}", ip.trim()))
}

/// Uploads a few trips through the quickstart controller and asks its broker how many
/// there are; returns the broker's answer.
fn load_and_query(kube: &Kubernetes) -> anyhow::Result<String> {
    let controller = service_url(kube, "quickstart-controller", 9000)?;
    let broker = service_url(kube, "quickstart-broker", 8099)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let rows: String = [
            "Amsterdam",
            "Berlin",
            "Lisbon",
            "Amsterdam",
            "Berlin",
            "Amsterdam",
        ]
        .iter()
        .enumerate()
        .map(|(i, city)| {
            let ts = 1_700_000_000_000u64 + i as u64;
            format!(
                "{{\"city\":\"{city}\",\"fare\":{}.5,\"ts\":{ts}}}\n",
                10 + i
            )
        })
        .collect();
        let http = reqwest::Client::new();
        upload_json_rows(&http, &controller, "trips_OFFLINE", &rows).await?;
        let sql = "SELECT city, COUNT(*) FROM trips GROUP BY city ORDER BY COUNT(*) DESC";
        let client = reqwest::Client::new();
        for _ in 0..120 {
            let answer: Value = client
                .post(format!("{broker}/query/sql"))
                .json(&json!({ "sql": sql }))
                .send()
                .await?
                .json()
                .await?;
            let rows = &answer["resultTable"]["rows"];
            if rows.as_array().is_some_and(|r| !r.is_empty()) {
                return Ok(format!("{sql}\n    -> {rows}"));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        bail!("the quickstart broker did not answer {sql:?}")
    })
}

fn start_operator(
    kube: &Kubernetes,
    log_dir: &Path,
    real_node: bool,
) -> anyhow::Result<ManagedProcess> {
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
    // On the host, the operator resolves the deployed clusters' Services through the
    // real node's CoreDNS, as it would in a pod.
    if real_node {
        command = kube.with_cluster_dns(command);
    }
    Ok(ManagedProcess::spawn("pinot-operator", command, log_dir)?)
}

/// Kubernetes with a real node, or with KWOK nodes only where the machine cannot run
/// containers (said plainly).
fn start_kubernetes() -> anyhow::Result<(Kubernetes, bool)> {
    step(
        "starting Kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, \
         KWOK nodes, a real node: kubelet, containerd, kube-proxy, CoreDNS)",
    );
    match Kubernetes::start_with(KubernetesOptions { real_node: true }) {
        Ok(kube) => Ok((kube, true)),
        Err(e) => {
            println!(
                "!!  this machine cannot run a real node, so no Pinot pod will really run; \
                 going on with simulated (KWOK) nodes only.\n!!  why: {e:#}"
            );
            Ok((Kubernetes::start()?, false))
        }
    }
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let (kube, real_node) = start_kubernetes()?;
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
    let operator = start_operator(&kube, log_dir.path(), real_node)?;

    step(
        "applying examples/external (a PinotCluster pointing at the real Pinot, schemas, tables, a tenant)",
    );
    apply_examples(
        &kube,
        &repo_root().join("examples/external"),
        &pinot.controller_url(),
        log_dir.path(),
    )?;
    step(
        "applying examples/deployed/analytics-cluster.yaml (a heterogeneous cluster placed on KWOK nodes)",
    );
    let analytics = pinned_example(&kube, "analytics-cluster.yaml", Nodes::Simulated)?;
    apply_json(&kube, &analytics)?;
    if real_node {
        step("applying examples/deployed/quickstart.yaml on the real node (real Pinot pods)");
        apply_json(
            &kube,
            &pinned_example(&kube, "quickstart.yaml", Nodes::Real)?,
        )?;
    }

    step("waiting until everything reports Ready (the real cluster takes a few minutes)");
    for kind in ["pinotschemas", "pinottables", "pinottenants"] {
        wait_for(&kube, kind, "Ready", "900s")?;
    }
    wait_for(&kube, "pinotcluster/analytics", "Available", "600s")?;
    let mut tour = String::new();
    if real_node {
        wait_for(&kube, "pinotcluster/quickstart", "Available", "900s")?;
        step("uploading trips through the quickstart controller, querying its broker");
        let answer = load_and_query(&kube)?;
        println!("    {answer}");
        tour = format!(
            "\n  kubectl get pods -n {NAMESPACE} -l pinot.operator.dev/cluster=quickstart -o wide   # real Pinot pods\
             \n  kubectl get events -n {NAMESPACE} --field-selector involvedObject.name=quickstart   # the rollout's steps and Pinot gates\
             \n  kubectl port-forward -n {NAMESPACE} svc/quickstart-controller 9000:9000   # then open http://localhost:9000 (Pinot UI)\
             \n  kubectl port-forward -n {NAMESPACE} svc/quickstart-broker 8099:8099 &\
             \n  curl -s localhost:8099/query/sql -d '{{\"sql\":\"SELECT city, COUNT(*) FROM trips GROUP BY city\"}}'\
             \n  kubectl patch pinotcluster quickstart -n {NAMESPACE} --type merge -p '{{\"spec\":{{\"server\":{{\"pinot\":{{\"properties\":{{\"pinot.server.query.executor.timeout\":\"20000\"}}}}}}}}}}'   # a rolling restart, pool by pool"
        );
    }

    println!(
        "\nSandbox ready in {:.0?}. Try:\n\
         \n  export KUBECONFIG={kubeconfig}\
         \n  kubectl get pinot,pinotschemas,pinottables,pinottenants -n {NAMESPACE}{tour}\
         \n  kubectl get statefulsets,pods -n {NAMESPACE} -o wide\
         \n  kubectl describe pinottable events -n {NAMESPACE}\
         \n  kubectl edit pinottable events -n {NAMESPACE}      # change retentionTimeValue, watch Pinot follow\
         \n  curl -s {controller}/tables/events | head           # the external Pinot's REST API\
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

//! The real node against its real processes: pods from the images built here run on
//! it, and logs, exec, port-forward, ClusterIPs, cluster DNS (from pods and from host
//! processes) and the `kubernetes` Service work as in a real cluster.
//!
//! One namespace with a ZooKeeper StatefulSet configured like the operator's managed
//! ensemble (behind a Service) and an idle client pod serves most tests (see
//! [`fixture`]). These fail, never skip, when the machine cannot run the node: run
//! scripts/setup.sh.

mod real_node_common;

use std::process::Command;

use real_node_common::{eventually, http_get, kubectl_ok, port_forward};
use serde_json::Value;
use testenv::kubernetes::{
    Kubernetes, REAL_NODE_LABEL, REAL_NODE_NAME, REAL_NODE_TYPE_LABEL, pinot_image,
    pinot_next_image,
};

fn k8s() -> &'static Kubernetes {
    Kubernetes::shared_with_real_node()
}

fn fixture() -> &'static real_node_common::Fixture {
    real_node_common::fixture(k8s())
}

#[test]
fn the_real_node_is_ready_and_labelled_next_to_the_kwok_nodes() {
    let node: Value = serde_json::from_str(&kubectl_ok(
        k8s(),
        &["get", "node", REAL_NODE_NAME, "-o", "json"],
    ))
    .unwrap();
    let labels = &node["metadata"]["labels"];
    assert_eq!(labels[REAL_NODE_TYPE_LABEL.0], REAL_NODE_TYPE_LABEL.1);
    assert_eq!(labels[REAL_NODE_LABEL.0], REAL_NODE_LABEL.1);
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(ready, "{node:#}");
    let kwok = kubectl_ok(k8s(), &["get", "nodes", "-l", "type=kwok", "-o", "name"]);
    assert_eq!(kwok.lines().count(), 4, "{kwok}");
}

#[test]
fn a_pinot_image_pod_runs_and_its_logs_and_exec_work() {
    let fx = fixture();
    let logs = kubectl_ok(k8s(), &["logs", "-n", &fx.namespace, "client"]);
    assert!(logs.contains("client up as uid 1000"), "{logs}");
    let java = kubectl_ok(
        k8s(),
        &[
            "exec",
            "-n",
            &fx.namespace,
            "client",
            "--",
            "bash",
            "-c",
            "java -version 2>&1; pwd; ls /opt/pinot/etc/conf",
        ],
    );
    assert!(java.contains("17."), "{java}");
    assert!(java.contains("/opt/pinot\n"), "{java}");
    assert!(java.contains("pinot-server-log4j2.xml"), "{java}");
}

#[test]
fn both_pinot_tags_are_on_the_node_with_different_digests() {
    let fx = fixture();
    let pod: Value = serde_json::from_str(&kubectl_ok(
        k8s(),
        &["get", "pod", "-n", &fx.namespace, "client", "-o", "json"],
    ))
    .unwrap();
    let image_id = pod["status"]["containerStatuses"][0]["imageID"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = real_node_common::run_to_completion(
        k8s(),
        &fx.namespace,
        "next",
        &pinot_next_image(),
        "echo next",
    );
    assert!(next.log.contains("next"), "{}", next.log);
    assert_ne!(
        image_id,
        next.image_id,
        "{} and {} share a digest",
        pinot_image(),
        pinot_next_image()
    );
}

#[test]
fn zookeeper_configured_like_the_operators_answers_ruok_on_its_pod_ip() {
    let fx = fixture();
    let address = format!("{}:8080", fx.zookeeper_pod_ip);
    // The AdminServer answers (200) before ZooKeeper serves; then `error` turns null.
    eventually(k8s(), &fx.namespace, "ruok without an error", || {
        let body = real_node_common::try_http_get(&address, "/commands/ruok")?;
        body.contains("\"error\" : null").then_some(())
    });
}

#[test]
fn a_cluster_ip_answers_from_the_host() {
    let fx = fixture();
    let body = http_get(&format!("{}:8080", fx.service_ip), "/commands/ruok");
    assert!(body.contains("ruok"), "{body}");
}

#[test]
fn a_cluster_ip_and_service_names_answer_from_another_pod() {
    let fx = fixture();
    let ns = &fx.namespace;
    for host in [
        fx.service_ip.clone(),
        "zk".into(),
        format!("zk.{ns}.svc.cluster.local"),
    ] {
        let script = format!(
            "exec 3<>/dev/tcp/{host}/8080 && printf 'GET /commands/ruok HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
        );
        let out = kubectl_ok(
            k8s(),
            &["exec", "-n", ns, "client", "--", "bash", "-c", &script],
        );
        assert!(out.contains("200 OK"), "{host}: {out}");
    }
}

#[test]
fn a_pod_resolves_services_and_reaches_the_apiserver_through_the_kubernetes_service() {
    let fx = fixture();
    let ns = &fx.namespace;
    let resolved = kubectl_ok(
        k8s(),
        &["exec", "-n", ns, "client", "--", "getent", "hosts", "zk"],
    );
    assert!(resolved.starts_with(&fx.service_ip), "{resolved}");
    let apiserver = "exec 3<>/dev/tcp/kubernetes.default.svc.cluster.local/443 && echo connected";
    let out = kubectl_ok(
        k8s(),
        &["exec", "-n", ns, "client", "--", "bash", "-c", apiserver],
    );
    assert!(out.contains("connected"), "{out}");
}

#[test]
fn port_forward_reaches_a_pod() {
    let fx = fixture();
    let (mut forward, port) = port_forward(k8s(), &fx.namespace, "pod/zk-0", 8080);
    let body = http_get(&format!("127.0.0.1:{port}"), "/commands/ruok");
    let _ = forward.kill();
    let _ = forward.wait();
    assert!(body.contains("ruok"), "{body}");
}

#[test]
fn host_processes_resolve_service_names_through_cluster_dns() {
    let fx = fixture();
    for name in [
        format!("zk.{}.svc.cluster.local", fx.namespace),
        format!("zk.{}.svc", fx.namespace),
    ] {
        let mut getent = Command::new("getent");
        getent.args(["hosts", &name]);
        let output = k8s().with_cluster_dns(getent).output().expect("run getent");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.starts_with(&fx.service_ip),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_pinot_entrypoint_starts_zookeeper_and_a_healthy_controller() {
    let k8s = k8s();
    let ns = real_node_common::namespace(k8s, "pinot-entrypoint");
    kubectl_ok(
        k8s,
        &[
            "apply",
            "-n",
            &ns,
            "-f",
            &real_node_common::pinot_pod_manifest(),
        ],
    );
    let ip = real_node_common::pod_ip(k8s, &ns, "pinot");
    eventually(k8s, &ns, "the controller's /health to say OK", || {
        let body = real_node_common::try_http_get(&format!("{ip}:9000"), "/health")?;
        body.ends_with("OK").then_some(())
    });
}

/// Packets dropped by the guard chain so far (the sum of its DROP rules' counters).
fn guard_drops() -> u64 {
    let out = Command::new("iptables")
        .args([
            "-L",
            testenv::kubernetes::real_node::GUARD_CHAIN,
            "-v",
            "-x",
            "-n",
        ])
        .output()
        .expect("iptables");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("DROP"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Pods have a default route (Pinot needs one to find its address), but what they send
/// beyond the test range stops at the host: the connection fails and the guard counts it.
#[test]
fn a_pod_cannot_reach_beyond_the_machine() {
    let fx = fixture();
    let before = guard_drops();
    let attempt = k8s()
        .kubectl()
        .args(["exec", "-n", &fx.namespace, "client", "--", "bash", "-c"])
        .arg("timeout 3 bash -c '</dev/tcp/192.0.2.1/80' && echo connected || echo refused")
        .output()
        .expect("kubectl exec");
    let said = String::from_utf8_lossy(&attempt.stdout);
    assert!(said.contains("refused"), "{said}");
    assert!(
        guard_drops() > before,
        "the attempt was dropped on the host"
    );
}

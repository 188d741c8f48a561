//! Helpers of the real-node tests: kubectl with stdin manifests, a shared ZooKeeper
//! fixture, plain HTTP over std sockets (no runtime needed), and waiting.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use testenv::kubernetes::{Kubernetes, pinot_image, zookeeper_image};

/// JVM start-up on a busy 2-core machine, plus scheduling and probes.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// `kubectl <args>`'s stdout; panics with stderr when it fails.
pub fn kubectl_ok(k8s: &Kubernetes, args: &[&str]) -> String {
    let output = k8s.kubectl().args(args).output().expect("run kubectl");
    assert!(
        output.status.success(),
        "kubectl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `kubectl apply -n <ns> -f -` with `manifest` on stdin.
pub fn apply(k8s: &Kubernetes, namespace: &str, manifest: &str) {
    let mut child = k8s
        .kubectl()
        .args(["apply", "-n", namespace, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl apply");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifest.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "kubectl apply: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A fresh namespace (blocking: tests here are plain `#[test]`s).
pub fn namespace(k8s: &Kubernetes, prefix: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(k8s.create_namespace(prefix))
}

/// Polls `probe` every 250 ms until it returns Some, or panics after [`TIMEOUT`]
/// showing the namespace's pods and events.
pub fn eventually<T>(
    k8s: &Kubernetes,
    namespace: &str,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}\n{}\n{}",
                k8s.kubectl_output(&["get", "pods", "-n", namespace, "-o", "wide"]),
                k8s.kubectl_output(&["get", "events", "-n", namespace])
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The pod's IP once it is Ready.
pub fn pod_ip(k8s: &Kubernetes, namespace: &str, pod: &str) -> String {
    eventually(k8s, namespace, &format!("pod {pod} to run"), || {
        let json = k8s.kubectl_output(&["get", "pod", "-n", namespace, pod, "-o", "json"]);
        let pod: Value = serde_json::from_str(&json).ok()?;
        let running = pod["status"]["phase"] == "Running";
        running.then(|| pod["status"]["podIP"].as_str().map(str::to_owned))?
    })
}

/// `GET <path>` over HTTP/1.0 to `address`; what arrived within the read timeout, if it
/// is an HTTP response. Reads until EOF or a pause: through `kubectl port-forward` the
/// server closing its side never reaches the client.
pub fn try_http_get(address: &str, path: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&address.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
    }
    let response = String::from_utf8_lossy(&response).into_owned();
    response.starts_with("HTTP/1.").then_some(response)
}

/// [`try_http_get`], retried for a few seconds (Service rules and endpoints can lag a
/// pod turning Ready by a kube-proxy sync).
pub fn http_get(address: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(response) = try_http_get(address, path) {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "GET http://{address}{path} never answered"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `kubectl port-forward <target> :<port>` and the local port it chose.
pub fn port_forward(k8s: &Kubernetes, namespace: &str, target: &str, port: u16) -> (Child, u16) {
    let mut child = k8s
        .kubectl()
        .args(["port-forward", "-n", namespace, target, &format!(":{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run kubectl port-forward");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    // Keep draining: kubectl logs every connection to stdout and dies of a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    // "Forwarding from 127.0.0.1:43123 -> 8080"
    let local = line
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected port-forward output: {line}"));
    (child, local)
}

/// What a finished pod printed and which image digest it ran.
pub struct Completed {
    pub log: String,
    pub image_id: String,
}

/// Runs `script` with bash in a pod of `image` on the real node until it succeeds.
pub fn run_to_completion(
    k8s: &Kubernetes,
    namespace: &str,
    name: &str,
    image: &str,
    script: &str,
) -> Completed {
    apply(
        k8s,
        namespace,
        &pod_manifest(name, image, "Never", &["bash", "-c", script]),
    );
    let pod = eventually(k8s, namespace, &format!("pod {name} to succeed"), || {
        let json = k8s.kubectl_output(&["get", "pod", "-n", namespace, name, "-o", "json"]);
        let pod: Value = serde_json::from_str(&json).ok()?;
        (pod["status"]["phase"] == "Succeeded").then_some(pod)
    });
    Completed {
        log: kubectl_ok(k8s, &["logs", "-n", namespace, name]),
        image_id: pod["status"]["containerStatuses"][0]["imageID"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// A pod on the real node, running as 1000:1000 and non-root like the operator's pods.
pub fn pod_manifest(name: &str, image: &str, restart: &str, command: &[&str]) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name },
        "spec": {
            "nodeSelector": { "type": "real" },
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
            "securityContext": { "runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true, "fsGroup": 1000 },
            "containers": [{
                "name": "main", "image": image, "command": command,
                "securityContext": { "allowPrivilegeEscalation": false, "capabilities": { "drop": ["ALL"] } },
            }],
        },
    })
    .to_string()
}

/// A pod running `pinot-admin.sh StartZookeeper` and `StartController` (the image's
/// entrypoint, with small heaps) side by side; applied from a file so the test reads
/// like what a user would type.
pub fn pinot_pod_manifest() -> String {
    let java = "-Xms64m -Xmx256m -XX:ActiveProcessorCount=2 \
                -Dlog4j2.configurationFile=/opt/pinot/etc/conf/pinot-controller-log4j2.xml \
                -Dplugins.dir=/opt/pinot/plugins";
    // No -controllerHost: Pinot finds its own address through the pod's default route,
    // as in a real cluster (it "connects" a UDP socket to a public IP, sending nothing).
    let container = |name: &str, args: &[&str]| {
        serde_json::json!({
            "name": name, "image": pinot_image(), "args": args,
            "env": [{ "name": "JAVA_OPTS", "value": java }],
            "securityContext": { "allowPrivilegeEscalation": false, "capabilities": { "drop": ["ALL"] } },
        })
    };
    let pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "pinot" },
        "spec": {
            "nodeSelector": { "type": "real" },
            "terminationGracePeriodSeconds": 1,
            "securityContext": { "runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true },
            "containers": [
                container("zookeeper", &["StartZookeeper", "-zkPort", "2181", "-dataDir", "/tmp/zk"]),
                container("controller", &["StartController", "-zkAddress", "localhost:2181",
                    "-controllerPort", "9000", "-dataDir", "/tmp/controller", "-clusterName", "testenv"]),
            ],
        },
    });
    let file = std::env::temp_dir().join(format!("real-node-pinot-{}.json", std::process::id()));
    std::fs::write(&file, pod.to_string()).unwrap();
    file.display().to_string()
}

/// The shared namespace: ZooKeeper `zk-0` behind Service `zk`, and pod `client`.
pub struct Fixture {
    pub namespace: String,
    pub zookeeper_pod_ip: String,
    pub service_ip: String,
}

pub fn fixture(k8s: &'static Kubernetes) -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let namespace = namespace(k8s, "real-node");
        apply(k8s, &namespace, &zookeeper_manifest(&namespace));
        let script = "echo client up as uid $(id -u); exec sleep infinity";
        apply(
            k8s,
            &namespace,
            &pod_manifest("client", &pinot_image(), "Always", &["bash", "-c", script]),
        );
        pod_ip(k8s, &namespace, "client");
        let zookeeper_pod_ip = eventually(k8s, &namespace, "zk-0 to be Ready", || {
            let json = k8s.kubectl_output(&["get", "pod", "-n", &namespace, "zk-0", "-o", "json"]);
            let pod: Value = serde_json::from_str(&json).ok()?;
            let ready = pod["status"]["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            ready.then(|| pod["status"]["podIP"].as_str().map(str::to_owned))?
        });
        let service_ip = kubectl_ok(
            k8s,
            &[
                "get",
                "service",
                "-n",
                &namespace,
                "zk",
                "-o",
                "jsonpath={.spec.clusterIP}",
            ],
        );
        Fixture {
            namespace,
            zookeeper_pod_ip,
            service_ip,
        }
    })
}

/// What `crates/operator/src/cluster/desired/zookeeper.rs` renders for one member
/// (zoo.cfg, start.sh, probes on the AdminServer, uid 1000), with an emptyDir for /data.
fn zookeeper_manifest(namespace: &str) -> String {
    let zoo_cfg = format!(
        "dataDir=/data\nclientPort=2181\ntickTime=2000\ninitLimit=10\nsyncLimit=5\nmaxClientCnxns=0\n\
         autopurge.snapRetainCount=3\nautopurge.purgeInterval=1\n4lw.commands.whitelist=ruok,srvr,mntr\n\
         admin.enableServer=true\nadmin.serverPort=8080\nquorumListenOnAllIPs=true\nreconfigEnabled=false\n\
         standaloneEnabled=true\nserver.1=zk-0.zk-headless.{namespace}.svc.cluster.local:2888:3888\n"
    );
    let start = "#!/usr/bin/env bash\nset -euo pipefail\nordinal=\"${HOSTNAME##*-}\"\n\
                 echo $((ordinal + 1)) > /data/myid\nexec zkServer.sh --config /conf start-foreground\n";
    let probe = serde_json::json!({ "httpGet": { "path": "/commands/ruok", "port": "admin" }, "periodSeconds": 2 });
    let ports = serde_json::json!([
        { "name": "client", "port": 2181 }, { "name": "admin", "port": 8080 }
    ]);
    let objects = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": [
        { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "zk" },
          "data": { "zoo.cfg": zoo_cfg, "start.sh": start } },
        { "apiVersion": "v1", "kind": "Service", "metadata": { "name": "zk-headless" },
          "spec": { "clusterIP": "None", "publishNotReadyAddresses": true, "selector": { "app": "zk" }, "ports": ports } },
        { "apiVersion": "v1", "kind": "Service", "metadata": { "name": "zk" },
          "spec": { "selector": { "app": "zk" }, "ports": ports } },
        { "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": { "name": "zk" },
          "spec": { "serviceName": "zk-headless", "replicas": 1, "selector": { "matchLabels": { "app": "zk" } },
            "template": { "metadata": { "labels": { "app": "zk" } }, "spec": {
              "nodeSelector": { "type": "real" },
              "terminationGracePeriodSeconds": 1,
              "securityContext": { "runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": true, "fsGroup": 1000 },
              "containers": [{
                "name": "zookeeper", "image": zookeeper_image(), "command": ["bash", "/conf/start.sh"],
                "env": [{ "name": "JVMFLAGS", "value": "-Xms32m -Xmx128m" }],
                "ports": [{ "name": "client", "containerPort": 2181 }, { "name": "admin", "containerPort": 8080 }],
                "readinessProbe": probe, "livenessProbe": probe,
                "securityContext": { "allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": { "drop": ["ALL"] } },
                "volumeMounts": [{ "name": "config", "mountPath": "/conf", "readOnly": true },
                                 { "name": "data", "mountPath": "/data" }],
              }],
              "volumes": [{ "name": "config", "configMap": { "name": "zk" } }, { "name": "data", "emptyDir": {} }],
            } } } },
    ]});
    objects.to_string()
}

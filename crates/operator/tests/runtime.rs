//! The operator binary as users run it: two replicas behind a Lease (only one acts),
//! health and metrics endpoints, graceful SIGTERM, and credentials never leaking.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use api::PinotSchema;
use common::{Harness, eventually, resource};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use testenv::wait;

const SECRET_PASSWORD: &str = "pinot-s3cr3t-do-not-log";

/// A `pinot-operator run` process; killed on drop. Its logs go to `log`.
struct Operator {
    child: Child,
    log: std::path::PathBuf,
    port: u16,
}

impl Operator {
    fn start(ns: &str, identity: &str, log_dir: &Path) -> Operator {
        let port = testenv::process::free_port();
        let log = log_dir.join(format!("{identity}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_pinot-operator"))
            .args([
                "run",
                "--namespace",
                ns,
                "--lease-namespace",
                ns,
                "--identity",
                identity,
            ])
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--resync-seconds",
                "2",
            ])
            .args(["--log-level", "debug,hyper=info,tower=info"])
            .env("KUBECONFIG", Kubernetes::shared().kubeconfig_path())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Operator { child, log, port }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        Some((response.status().as_u16(), response.text().await.ok()?))
    }

    async fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let (child, log) = (&mut self.child, &self.log);
        let (timeout, interval) = (Duration::from_secs(30), Duration::from_millis(100));
        let logs = || std::fs::read_to_string(log).unwrap_or_default();
        wait::eventually_with(
            "the operator to exit on SIGTERM",
            timeout,
            interval,
            logs,
            || std::future::ready(child.try_wait().unwrap()),
        )
        .await
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn lease_holder(client: &kube::Client, ns: &str) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    leases
        .get_opt("pinot-operator-leader")
        .await
        .ok()??
        .spec?
        .holder_identity
}

#[tokio::test]
async fn two_replicas_elect_one_leader_and_fail_over_and_never_leak_credentials() {
    let h = Harness::start_without_controllers("runtime").await;
    let dir = tempfile::tempdir().unwrap();
    let mut a = Operator::start(&h.ns, "replica-a", dir.path());
    eventually("replica-a leads", || async {
        lease_holder(&h.client, &h.ns).await.as_deref() == Some("replica-a")
    })
    .await;
    let mut b = Operator::start(&h.ns, "replica-b", dir.path());
    eventually("replica-b serves /readyz", || async {
        b.get("/readyz").await.is_some_and(|(s, _)| s == 200)
    })
    .await;
    assert_eq!(a.get("/healthz").await.unwrap().0, 200);

    // A cluster whose credentials come from a Secret, and a schema synced through it.
    let secrets: Api<Secret> = h.api();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("pinot-creds".into()),
            ..Default::default()
        },
        string_data: Some(
            [
                ("username".to_string(), "admin".to_string()),
                ("password".to_string(), SECRET_PASSWORD.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    h.apply(json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster", "metadata": {"name": "secured"},
        "spec": {"external": {"controllerUrl": Pinot::shared().controller_url(), "authSecretRef": {"name": "pinot-creds"}}}}))
        .await;
    let name = h.pinot_name("rt");
    h.apply(resource("PinotSchema", "events", json!({"clusterRef": {"name": "secured"},
        "schema": {"schemaName": name, "dimensionFieldSpecs": [{"name": "id", "dataType": "STRING"}]}})))
        .await;
    h.wait_synced::<PinotSchema>("events", "True", "Created")
        .await;

    // Only the leader acts: the standby has not reconciled anything.
    assert!(a.logs().contains("became leader"), "{}", a.logs());
    assert!(!b.logs().contains("became leader"), "{}", b.logs());
    let (_, metrics) = a.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("pinot_operator_reconciles_total{controller=\"pinotschema\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pinot_operator_pinot_api_calls_total"),
        "{metrics}"
    );
    let (_, standby_metrics) = b.get("/metrics").await.unwrap();
    assert!(
        !standby_metrics.contains("controller=\"pinotschema\""),
        "standby reconciled: {standby_metrics}"
    );
    // The standby writes nothing: no reconcile of any controller (every write to
    // Kubernetes or Pinot happens inside one) and no Pinot call at all.
    for sample in [
        "pinot_operator_reconciles_total{",
        "pinot_operator_pinot_api_calls_total{",
    ] {
        assert!(
            !standby_metrics.contains(sample),
            "standby wrote ({sample}): {standby_metrics}"
        );
    }
    assert!(
        metrics.contains("pinot_operator_pinot_api_calls_total{"),
        "{metrics}"
    );

    // SIGTERM: the leader exits cleanly and the standby takes over.
    assert!(a.terminate().await.success(), "{}", a.logs());
    eventually("replica-b takes over", || async {
        lease_holder(&h.client, &h.ns).await.as_deref() == Some("replica-b")
    })
    .await;
    eventually("replica-b became leader", || async {
        b.logs().contains("became leader")
    })
    .await;

    // The password is nowhere: logs of both replicas, Events, status.
    let object =
        serde_json::to_string(&h.api::<PinotSchema>().get("events").await.unwrap()).unwrap();
    let events = h.events_json().await;
    for (what, text) in [
        ("replica-a logs", a.logs()),
        ("replica-b logs", b.logs()),
        ("status", object),
        ("events", events),
    ] {
        assert!(
            !text.contains(SECRET_PASSWORD),
            "{what} contains the password"
        );
    }
    assert!(b.terminate().await.success());
}

//! The Helm chart: it lints, renders, the real apiserver accepts what it renders,
//! and the operator's controllers work with exactly the chart's RBAC rules.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use api::PinotSchema;
use common::{Harness, resource};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, Config};
use pinot_operator::context::Context;
use pinot_operator::metrics::Metrics;
use serde_json::json;
use testenv::kubernetes::Kubernetes;
use testenv::versions::component_dir;
use testenv::wait;
use tokio_util::sync::CancellationToken;

fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../charts/pinot-operator")
}

fn helm() -> Command {
    let bin = component_dir("helm", "HELM_VERSION").join("bin/helm");
    assert!(
        bin.exists(),
        "{} is missing: run tools/build-helm.sh",
        bin.display()
    );
    Command::new(bin)
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().expect("run command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn chart_lints() {
    let mut cmd = helm();
    cmd.args(["lint", "--strict"]).arg(chart_dir());
    assert!(run(cmd).contains("0 chart(s) failed"));
}

#[tokio::test]
async fn rendered_chart_is_accepted_by_the_apiserver() {
    let env = Kubernetes::shared();
    let ns = env.create_namespace("chart").await;
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("rendered.yaml");
    let mut cmd = helm();
    cmd.args(["template", "demo", "--namespace", &ns, "--include-crds"])
        .args([
            "--set",
            "metrics.serviceMonitor.enabled=false",
            "--set",
            "watchNamespaces={a,b}",
        ])
        .arg(chart_dir());
    std::fs::write(&rendered, run(cmd)).unwrap();
    let text = std::fs::read_to_string(&rendered).unwrap();
    for expected in [
        "kind: Deployment",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "kind: ClusterRole",
    ] {
        assert!(text.contains(expected), "rendered chart lacks {expected:?}");
    }
    let mut kubectl = env.kubectl();
    kubectl
        .args(["apply", "--dry-run=server", "-n", &ns, "-f"])
        .arg(&rendered);
    let out = run(kubectl);
    assert!(
        out.contains("deployment.apps/demo-pinot-operator created (server dry run)"),
        "{out}"
    );
}

/// A client that acts as ServiceAccount `sa` in `ns` (the admin may impersonate).
async fn impersonating(ns: &str, sa: &str) -> Client {
    let mut config = Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(Kubernetes::shared().kubeconfig_path()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{ns}:{sa}"));
    Client::try_from(config).unwrap()
}

async fn bind_chart_rules(admin: &Client, ns: &str) {
    let name = format!("pinot-operator-{ns}");
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("operator".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let role = ClusterRole {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        rules: Some(pinot_operator::rbac::rules()),
        ..Default::default()
    };
    Api::<ClusterRole>::all(admin.clone())
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding = ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name,
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "operator".into(),
            namespace: Some(ns.into()),
            ..Default::default()
        }]),
    };
    Api::<ClusterRoleBinding>::all(admin.clone())
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

#[tokio::test]
async fn controllers_work_with_only_the_chart_rbac_rules() {
    // The harness runs the controllers as admin; stop those and run them again as
    // the ServiceAccount bound to exactly the chart's rules.
    let h = Harness::start_without_controllers("rbac").await;
    bind_chart_rules(&h.client, &h.ns).await;
    let operator = impersonating(&h.ns, "operator").await;
    let denied = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(operator.clone(), &h.ns)
        .list(&Default::default())
        .await;
    assert!(
        denied.is_err(),
        "the operator must not be able to list Secrets"
    );

    let ctx = Arc::new(Context::new(
        operator,
        Arc::new(Metrics::default()),
        Duration::from_secs(3),
        Some(h.ns.clone()),
    ));
    let shutdown = CancellationToken::new();
    tokio::spawn(pinot_operator::run::run_scoped(ctx, shutdown.clone()));
    let name = h.pinot_name("rbac");
    let schema = json!({"clusterRef": {"name": "pinot"}, "deletionPolicy": "Delete", "schema": {"schemaName": name,
        "dimensionFieldSpecs": [{"name": "id", "dataType": "STRING"}]}});
    h.apply(resource("PinotSchema", "rbac", schema)).await;
    h.wait_synced::<PinotSchema>("rbac", "True", "Created")
        .await;
    assert!(
        h.event_reasons("rbac")
            .await
            .contains(&"Created".to_owned()),
        "Events need the chart's rules too"
    );
    h.delete::<PinotSchema>("rbac").await;
    h.wait_gone::<PinotSchema>("rbac").await;

    // A deployed cluster: its workloads are created with the same rules.
    h.apply(json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster", "metadata": {"name": "small"},
        "spec": {"zookeeper": {"managed": {"replicas": 1}}, "controller": {"pools": [{"name": "main", "replicas": 1}]}}}))
        .await;
    let statefulsets: Api<k8s_openapi::api::apps::v1::StatefulSet> = h.api();
    let clusters: Api<api::PinotCluster> = h.api();
    let (timeout, interval) = (Duration::from_secs(60), Duration::from_millis(500));
    wait::eventually("the controller StatefulSet", timeout, interval, || async {
        match statefulsets.get_opt("small-controller-main").await.unwrap() {
            Some(_) => Ok(()),
            None => {
                let status = clusters.get("small").await.unwrap().status;
                Err(format!("no StatefulSet yet; status: {status:?}"))
            }
        }
    })
    .await;
    let status =
        serde_json::to_string_pretty(&clusters.get("small").await.unwrap().status).unwrap();
    assert!(
        statefulsets
            .get_opt("small-controller-main")
            .await
            .unwrap()
            .is_some(),
        "no controller StatefulSet; status: {status}"
    );
    shutdown.cancel();
}

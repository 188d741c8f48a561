//! What converging N schema + table pairs costs at least, whatever the operator: the
//! Pinot floor (one `POST` per schema and per table), the kube floor (the user's
//! create and one status write per object, no Pinot), and both run together, each at
//! [`CONCURRENCY`] requests in flight.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use crate::admission::Admission;
use crate::env::Env;

/// Requests in flight, for the floors and the operator side's applies alike, so no
/// side gets more parallelism than another.
pub const CONCURRENCY: usize = 16;
const FIELD_MANAGER: &str = "pinot-bench";
/// On the floors' objects. The operator runs with `--selector !FLOOR_LABEL` and
/// never sees them.
pub const FLOOR_LABEL: &str = "pinot.operator.dev/bench-floor";

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

/// `n` schema + table pairs named `s<i>`/`t<i>` in Kubernetes and `<prefix>_<i>` in
/// Pinot, each table right after its schema.
pub fn pairs(n: usize, prefix: &str) -> Vec<Value> {
    (0..n)
        .flat_map(|i| {
            let name = format!("{prefix}_{i}");
            [
                json!({
                    "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotSchema",
                    "metadata": {"name": format!("s{i}")},
                    "spec": {"clusterRef": {"name": "pinot"}, "schema": schema(&name)}
                }),
                json!({
                    "apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotTable",
                    "metadata": {"name": format!("t{i}")},
                    "spec": {"clusterRef": {"name": "pinot"},
                             "schemaRef": {"name": format!("s{i}")},
                             "table": table(&name, 30)}
                }),
            ]
        })
        .collect()
}

fn api(
    client: &kube::Client,
    namespace: &str,
    object: &Value,
) -> anyhow::Result<(Api<DynamicObject>, String)> {
    let kind = object["kind"].as_str().context("object without kind")?;
    let name = (object["metadata"]["name"].as_str()).context("object without name")?;
    let gvk = GroupVersionKind::gvk("pinot.operator.dev", "v1alpha1", kind);
    // The plural from_gvk derives (lower case + "s") is the CRDs' own.
    let resource = ApiResource::from_gvk(&gvk);
    Ok((
        Api::namespaced_with(client.clone(), namespace, &resource),
        name.to_owned(),
    ))
}

/// Server-side applies one object of this crate's API group into `namespace`.
pub async fn apply(client: &kube::Client, namespace: &str, object: &Value) -> anyhow::Result<()> {
    let (api, name) = api(client, namespace, object)?;
    let params = PatchParams::apply(FIELD_MANAGER);
    let applied = api.patch(&name, &params, &Patch::Apply(object)).await;
    applied.with_context(|| format!("apply {} {name}", object["kind"]))?;
    Ok(())
}

/// The status an operator writes once an object is in Pinot, as the operator words it.
async fn apply_status(
    client: &kube::Client,
    namespace: &str,
    object: &Value,
) -> anyhow::Result<()> {
    let (api, name) = api(client, namespace, object)?;
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let condition = |type_: &str, reason: &str, message: String| {
        json!({"type": type_, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": now, "observedGeneration": 1})
    };
    let status = json!({
        "apiVersion": object["apiVersion"], "kind": object["kind"],
        "status": {
            "observedGeneration": 1,
            "conditions": [
                condition("Synced", "Created", format!("created {name} in Pinot")),
                condition("Ready", "Exists", format!("{name} exists in Pinot")),
            ],
            "appliedHash": format!("{:016x}", name.len() * 7919),
            "lastSyncedTime": now,
        }
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = api
        .patch_status(&name, &params, &Patch::Apply(&status))
        .await;
    applied.with_context(|| format!("status of {} {name}", object["kind"]))?;
    Ok(())
}

/// Runs `requests` [`CONCURRENCY`] at a time; the first failure ends it.
pub async fn in_flight<F>(requests: impl Iterator<Item = F>) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>>,
{
    futures::stream::iter(requests)
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// The kube floor's objects: the pairs, labelled so the operator leaves them alone.
fn floor_objects(n: usize) -> Vec<Value> {
    let mut objects = pairs(n, "floor");
    for object in &mut objects {
        object["metadata"]["labels"] = json!({FLOOR_LABEL: "true"});
    }
    objects
}

async fn kube_floor(
    client: &kube::Client,
    namespace: &str,
    objects: &[Value],
) -> anyhow::Result<()> {
    in_flight(objects.iter().map(|o| apply(client, namespace, o))).await?;
    in_flight(objects.iter().map(|o| apply_status(client, namespace, o))).await
}

/// One `POST /schemas` per schema, then one `POST /tables` per table.
async fn pinot_floor(http: &reqwest::Client, url: &str, names: &[String]) -> anyhow::Result<()> {
    let post = |path: &'static str, body: Value| {
        let request = http.post(format!("{url}{path}")).json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!("POST {path}: {status}: {}", response.text().await?);
            }
            anyhow::Ok(())
        }
    };
    in_flight(names.iter().map(|name| post("/schemas", schema(name)))).await?;
    in_flight(names.iter().map(|name| post("/tables", table(name, 30)))).await
}

/// The kube floor's run: its time, and what admission cost in it (the window holds
/// only its own writes to this API group).
pub struct KubeFloor {
    pub took: Duration,
    pub admission: Admission,
}

/// The kube floor, in namespace `kube-floor-<n>`.
pub fn kube(env: &Env, n: usize) -> anyhow::Result<KubeFloor> {
    let namespace = format!("kube-floor-{n}");
    env.create_namespace(&namespace)?;
    let client = env.client()?;
    let objects = floor_objects(n);
    let before = env.admission()?;
    let started = Instant::now();
    env.runtime
        .block_on(kube_floor(&client, &namespace, &objects))?;
    let took = started.elapsed();
    let admission = env.admission()?.since(&before);
    Ok(KubeFloor { took, admission })
}

/// The Pinot floor against the current Pinot; returns its time and the table names.
pub fn pinot(env: &Env, n: usize, prefix: &str) -> anyhow::Result<(Duration, Vec<String>)> {
    let url = env.pinot().controller_url();
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{n}_{i}")).collect();
    let started = Instant::now();
    env.runtime.block_on(pinot_floor(&env.http, &url, &names))?;
    Ok((started.elapsed(), names))
}

/// Both floors at once against the current Pinot (namespace `both-floor-<n>`): each
/// keeps its own [`CONCURRENCY`], and they share the machine as an operator's Pinot
/// calls and Kubernetes writes do.
pub fn combined(env: &Env, n: usize) -> anyhow::Result<Duration> {
    let namespace = format!("both-floor-{n}");
    env.create_namespace(&namespace)?;
    let client = env.client()?;
    let objects = floor_objects(n);
    let url = env.pinot().controller_url();
    let names: Vec<String> = (0..n).map(|i| format!("both{n}_{i}")).collect();
    let started = Instant::now();
    env.runtime.block_on(async {
        let kube = kube_floor(&client, &namespace, &objects);
        let pinot = pinot_floor(&env.http, &url, &names);
        let (kube, pinot) = tokio::join!(kube, pinot);
        kube.and(pinot)
    })?;
    Ok(started.elapsed())
}

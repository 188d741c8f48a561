//! Shared test harness: the real Kubernetes and the real Pinot from `testenv`, the
//! CRDs installed, and the operator's controllers running in-process for one namespace.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::sync::Arc;
use std::time::Duration;

use api::common::condition::SYNCED;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use pinot_client::{Auth, ClientConfig, PinotClient};
use pinot_operator::context::Context;
use pinot_operator::metrics::{ControllerLabels, Metrics};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use testenv::wait;
use tokio_util::sync::CancellationToken;

/// Installs (server-side applies) every CRD and waits until each is established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("pinot-operator").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
        let established = kube::runtime::wait::await_condition(
            crds.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not established in 30s"))
            .unwrap();
    }
}

/// A namespace with the content controllers running against an external
/// `PinotCluster` named `pinot` that points at the real Pinot.
pub struct Harness {
    pub client: Client,
    pub ns: String,
    pub pinot: PinotClient,
    pub metrics: Arc<Metrics>,
    shutdown: CancellationToken,
}

impl Harness {
    pub async fn start(prefix: &str) -> Harness {
        Harness::start_on(prefix, Pinot::shared()).await
    }

    /// Controllers running against `pinot_env` (authenticating when it has auth on).
    pub async fn start_on(prefix: &str, pinot_env: &Pinot) -> Harness {
        Harness::start_selecting(prefix, pinot_env, "").await
    }

    /// Controllers managing only the objects label selector `selector` matches.
    pub async fn start_selecting(prefix: &str, pinot_env: &Pinot, selector: &str) -> Harness {
        // A short resync so drift made directly in Pinot is reverted within the test.
        let resync = Duration::from_secs(3);
        Harness::start_configured(prefix, pinot_env, selector, resync).await
    }

    /// Controllers that compare with Pinot only every `resync`: a test counting the
    /// calls a create or a change makes sets it beyond its own length.
    pub async fn start_resyncing_every(prefix: &str, resync: Duration) -> Harness {
        Harness::start_configured(prefix, Pinot::shared(), "", resync).await
    }

    async fn start_configured(
        prefix: &str,
        pinot_env: &Pinot,
        selector: &str,
        resync: Duration,
    ) -> Harness {
        let h = Harness::without_controllers(prefix, pinot_env).await;
        let ctx = Context::new(
            h.client.clone(),
            h.metrics.clone(),
            resync,
            Some(h.ns.clone()),
        );
        let ctx = Arc::new(ctx.with_selector(selector));
        tokio::spawn(pinot_operator::run::run_scoped(ctx, h.shutdown.clone()));
        h
    }

    /// The namespace and the external `PinotCluster`, but no controllers.
    pub async fn start_without_controllers(prefix: &str) -> Harness {
        Harness::without_controllers(prefix, Pinot::shared()).await
    }

    /// The namespace and an external `PinotCluster` named `pinot` for `pinot_env`,
    /// with an auth Secret `pinot-admin` when the Pinot has basic auth on.
    async fn without_controllers(prefix: &str, pinot_env: &Pinot) -> Harness {
        let env = Kubernetes::shared();
        let client = env.client().await;
        install_crds(&client).await;
        let ns = env.create_namespace(prefix).await;
        let mut cluster = external_cluster("pinot", &pinot_env.controller_url());
        let mut config = ClientConfig::new(pinot_env.controller_url().parse().unwrap());
        if let Some(auth) = pinot_env.basic_auth() {
            apply(
                &client,
                &ns,
                auth_secret("pinot-admin", &auth.username, &auth.password),
            )
            .await;
            cluster["spec"]["external"]["authSecretRef"] = json!({"name": "pinot-admin"});
            config.auth = Some(Auth::Basic {
                username: auth.username.clone(),
                password: auth.password.clone(),
            });
        }
        apply(&client, &ns, cluster).await;
        let metrics = Arc::new(Metrics::default());
        let shutdown = CancellationToken::new();
        let pinot = PinotClient::new(config).unwrap();
        Harness {
            client,
            ns,
            pinot,
            metrics,
            shutdown,
        }
    }

    /// A Pinot object name unique to this test: `<prefix>_<namespace>` (Pinot names
    /// take `_`, not `-`).
    pub fn pinot_name(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.ns.replace('-', "_"))
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub async fn apply(&self, obj: Value) {
        apply(&self.client, &self.ns, obj).await;
    }

    pub async fn delete<K>(&self, name: &str)
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>()
            .delete(name, &Default::default())
            .await
            .unwrap();
    }

    /// Waits until the object is gone from Kubernetes (its finalizer released).
    pub async fn wait_gone<K>(&self, name: &str)
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api = self.api::<K>();
        eventually(&format!("{name} deleted"), || async {
            api.get_opt(name).await.unwrap().is_none()
        })
        .await;
    }

    /// Waits until condition `Synced` of `name` has `status` and `reason`; returns its message.
    pub async fn wait_synced<K>(&self, name: &str, status: &str, reason: &str) -> String
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        let api = self.api::<K>();
        let what = format!("{name}: Synced {status}/{reason}");
        let message = wait::eventually(&what, WAIT_TIMEOUT, WAIT_INTERVAL, || async {
            let obj = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
            let generation = obj.pointer("/metadata/generation").cloned();
            let conditions = obj
                .pointer("/status/conditions")
                .cloned()
                .unwrap_or(json!([]));
            let synced = conditions
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == SYNCED);
            if let Some(c) = synced {
                // A success is followed by `InSync` at the next resync; the Event keeps
                // what happened (Created/Updated), so accept either and check the Event.
                let reason_matches =
                    c["reason"] == reason || (status == "True" && c["reason"] == "InSync");
                if c["status"] == status
                    && reason_matches
                    && c["observedGeneration"] == generation.clone().unwrap()
                {
                    return Ok(c["message"].as_str().unwrap_or_default().to_owned());
                }
            }
            Err(format!("conditions {conditions:#}"))
        })
        .await;
        if status == "True" && reason != "InSync" {
            self.wait_event(name, reason).await;
        }
        message
    }

    /// Waits until an Event with `reason` was recorded for object `name`.
    pub async fn wait_event(&self, name: &str, reason: &str) {
        eventually(&format!("Event {reason} for {name}"), || async {
            self.event_reasons(name).await.iter().any(|r| r == reason)
        })
        .await;
    }

    /// Every Event of the namespace, as JSON text.
    pub async fn events_json(&self) -> String {
        let events: Api<k8s_openapi::api::events::v1::Event> = self.api();
        serde_json::to_string(&events.list(&Default::default()).await.unwrap().items).unwrap()
    }

    /// Reasons of the Events recorded for object `name`.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        event_reasons(&self.client, &self.ns, name).await
    }
}

/// Reasons of the Events recorded in `ns` for object `name`.
pub async fn event_reasons(client: &Client, ns: &str, name: &str) -> Vec<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter_map(|e| e.reason)
        .collect()
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Server-side applies an object given as JSON into `ns`.
pub async fn apply(client: &Client, ns: &str, obj: Value) {
    let mut obj: kube::api::DynamicObject = serde_json::from_value(obj).unwrap();
    obj.metadata.namespace = Some(ns.to_owned());
    let types = obj.types.clone().unwrap();
    // The core group's apiVersion is a bare `v1`.
    let (group, version) = types
        .api_version
        .split_once('/')
        .unwrap_or(("", types.api_version.as_str()));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, &types.kind);
    let plural = format!("{}s", types.kind.to_lowercase());
    let resource = kube::core::ApiResource::from_gvk_with_plural(&gvk, &plural);
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    api.patch(
        &obj.name_any(),
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {} {}: {e}", types.kind, obj.name_any()));
}

pub fn external_cluster(name: &str, url: &str) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
           "metadata": {"name": name}, "spec": {"external": {"controllerUrl": url}}})
}

/// A Secret with basic-auth credentials, as `authSecretRef` reads it.
pub fn auth_secret(name: &str, username: &str, password: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
           "stringData": {"username": username, "password": password}})
}

/// A schema `name` with two dimensions, a metric and a millisecond time column.
pub fn events_schema(name: &str) -> Value {
    json!({"schemaName": name,
        "dimensionFieldSpecs": [{"name": "user_id", "dataType": "STRING"}, {"name": "country", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]})
}

pub fn resource(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// How long [`eventually`] and [`Harness::wait_synced`] wait, and how often they look.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
const WAIT_INTERVAL: Duration = Duration::from_millis(500);

/// Polls `check` every 500 ms for up to 60 s.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait::eventually(what, WAIT_TIMEOUT, WAIT_INTERVAL, check).await
}

/// How long [`poll`] waits: a rollout or a recovery on a loaded machine takes minutes.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(240);

/// Polls `check` every 250 ms until it yields, panicking with `diag()` after
/// [`POLL_TIMEOUT`].
pub async fn poll<T, P, F, Fut>(what: &str, diag: impl FnOnce() -> String, check: F) -> T
where
    P: wait::Probe<T>,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = P>,
{
    let interval = Duration::from_millis(250);
    wait::eventually_with(what, POLL_TIMEOUT, interval, diag, check).await
}

/// Reconciles of `controller` (`pinotcluster`, `pinotschema`, ...) that finished so
/// far, from the in-process operator's `pinot_operator_reconciles_total`.
pub fn reconciles(metrics: &Metrics, controller: &'static str) -> u64 {
    metrics
        .reconciles
        .get_or_create(&ControllerLabels { controller })
        .get()
}

/// Waits until the reconcile counter `count` of a controller with one object has risen
/// by 2 from its value now, i.e. until at least one whole reconcile of that object ran
/// after this call: the first increment may finish a reconcile that was already under
/// way (and saw an older state); a controller never runs two reconciles of one object
/// at once, so the second one started after this call. A check that nothing happened ("no pod restarted", "no
/// write") waits on this first, so its window provably holds a reconcile that could
/// have done the thing, instead of a fixed sleep that may hold none.
pub async fn a_whole_reconcile<F, Fut>(what: &str, count: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let from = count().await;
    let what = format!(
        "a whole reconcile of {what} (counter from {from} to {})",
        from + 2
    );
    wait::eventually(&what, POLL_TIMEOUT, WAIT_INTERVAL, || async {
        let now = count().await;
        if now >= from + 2 {
            Ok(now)
        } else {
            Err(format!("counter at {now}"))
        }
    })
    .await;
}

/// The size the first claim template of `set` asks for; empty when there is no set
/// (the operator deletes and re-creates it to change its templates) or no template.
pub fn template_size(set: Option<k8s_openapi::api::apps::v1::StatefulSet>) -> String {
    let templates = (set.and_then(|s| s.spec))
        .and_then(|s| s.volume_claim_templates)
        .unwrap_or_default();
    let size = (templates.first())
        .and_then(|c| c.spec.clone()?.resources?.requests?.get("storage").cloned());
    size.map(|q| q.0).unwrap_or_default()
}

/// The size `claim` asks for and the size it has.
pub fn claim_sizes(claim: k8s_openapi::api::core::v1::PersistentVolumeClaim) -> (String, String) {
    let wanted = (claim.spec).and_then(|s| s.resources?.requests?.get("storage").cloned());
    let has = (claim.status).and_then(|s| s.capacity?.get("storage").cloned());
    (
        wanted.map(|q| q.0).unwrap_or_default(),
        has.map(|q| q.0).unwrap_or_default(),
    )
}

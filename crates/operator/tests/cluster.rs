//! The `PinotCluster` controller against a real apiserver, controller-manager and
//! scheduler with KWOK nodes (pods become Ready without running anything, so Pinot
//! itself is never reachable here: the Pinot checks report "unknown" and are skipped).
//!
//! Each test runs the controller in-process for its own namespace; an operator
//! restart is a cancelled controller followed by a new one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api::PinotCluster;
use api::common::condition::{AVAILABLE, DEGRADED, PAUSED, PROGRESSING};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use pinot_operator::context::Context;
use pinot_operator::metrics::Metrics;
use serde_json::{Value, json};
use testenv::kubernetes::Kubernetes;
use testenv::wait::{self, Probe};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const OLD_IMAGE: &str = "apachepinot/pinot:1.5.1";
const NEW_IMAGE: &str = "apachepinot/pinot:1.5.2";

/// Pools in deployment order: (role, pool).
const ORDER: [(&str, &str); 6] = [
    ("zookeeper", "managed"),
    ("controller", "main"),
    ("broker", "default"),
    ("server", "hot"),
    ("server", "cold"),
    ("minion", "default"),
];

/// The cluster controller running in-process for one namespace.
struct Operator {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    metrics: Arc<Metrics>,
}

impl Operator {
    fn start(client: &Client, ns: &str) -> Operator {
        let metrics = Arc::new(Metrics::default());
        let ctx = Arc::new(Context::new(
            client.clone(),
            metrics.clone(),
            Duration::from_secs(30),
            Some(ns.to_owned()),
        ));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(pinot_operator::cluster::run(ctx, shutdown.clone()));
        Operator {
            shutdown,
            task,
            metrics,
        }
    }

    /// Reconciles this controller finished so far (one cluster per namespace here, so
    /// all of them of that cluster).
    fn reconciles(&self) -> u64 {
        common::reconciles(&self.metrics, "pinotcluster")
    }

    /// Stops the controller; returns its metrics (e.g. the pods it restarted).
    async fn stop(self) -> Arc<Metrics> {
        self.shutdown.cancel();
        self.task.await.unwrap();
        self.metrics
    }
}

struct Env {
    k8s: &'static Kubernetes,
    client: Client,
    ns: String,
}

impl Env {
    async fn new(prefix: &str) -> Env {
        let k8s = Kubernetes::shared();
        let client = k8s.client().await;
        common::install_crds(&client).await;
        let ns = k8s.create_namespace(prefix).await;
        Env { k8s, client, ns }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn apply_cluster(&self, name: &str, spec: Value) {
        let obj = json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
                         "metadata": {"name": name}, "spec": spec});
        common::apply(&self.client, &self.ns, obj).await;
    }

    async fn cluster(&self, name: &str) -> PinotCluster {
        self.api::<PinotCluster>().get(name).await.unwrap()
    }

    async fn pods(&self, cluster: &str) -> Vec<Pod> {
        let params = ListParams::default().labels(&format!("pinot.operator.dev/cluster={cluster}"));
        self.api::<Pod>().list(&params).await.unwrap().items
    }

    async fn sets(&self, cluster: &str) -> Vec<StatefulSet> {
        let params = ListParams::default().labels(&format!("pinot.operator.dev/cluster={cluster}"));
        self.api::<StatefulSet>().list(&params).await.unwrap().items
    }

    /// Polls `check` until it yields; on timeout shows the namespace and the status.
    async fn eventually<T, P, F, Fut>(&self, what: &str, check: F) -> T
    where
        P: Probe<T>,
        F: FnMut() -> Fut,
        Fut: Future<Output = P>,
    {
        self.eventually_every(what, Duration::from_millis(250), check)
            .await
    }

    /// [`Env::eventually`], looking every `interval`.
    async fn eventually_every<T, P, F, Fut>(&self, what: &str, interval: Duration, check: F) -> T
    where
        P: Probe<T>,
        F: FnMut() -> Fut,
        Fut: Future<Output = P>,
    {
        wait::eventually_with(what, common::POLL_TIMEOUT, interval, || self.diag(), check).await
    }

    /// The namespace's objects and the clusters' status, for a timeout's message.
    fn diag(&self) -> String {
        let state = self.k8s.kubectl_output(&[
            "get",
            "pinotclusters,statefulsets,pods,pvc",
            "-o",
            "wide",
            "-n",
            &self.ns,
        ]);
        let status = self.k8s.kubectl_output(&[
            "get",
            "pinotclusters",
            "-o",
            "jsonpath={.items[*].status}",
            "-n",
            &self.ns,
        ]);
        format!("in {}:\n{state}\n{status}", self.ns)
    }

    /// Waits until the status describes the current generation and says the rollout
    /// is complete with every pool updated and ready.
    async fn wait_settled(&self, name: &str) -> PinotCluster {
        self.eventually(&format!("{name} settled"), || async {
            let cluster = self.cluster(name).await;
            let status = cluster.status.as_ref()?;
            let progressing = condition(&cluster, PROGRESSING)?;
            let current = status.observed_generation == cluster.metadata.generation;
            let pools_done = !status.pools.is_empty()
                && status
                    .pools
                    .iter()
                    .all(|p| p.ready_replicas == p.replicas && p.updated_replicas == p.replicas);
            (current && progressing.reason == "RolloutComplete" && pools_done).then_some(cluster)
        })
        .await
    }
}

fn condition(
    cluster: &PinotCluster,
    type_: &str,
) -> Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    let status = cluster.status.as_ref()?;
    status.conditions.iter().find(|c| c.type_ == type_).cloned()
}

/// The heterogeneous cluster of the issue: managed ZooKeeper ×1, 2 controllers,
/// 2 brokers, servers `hot` ×3 on nvme nodes and `cold` ×2 on hdd nodes, 1 minion.
/// On KWOK no Pinot runs, so the rollout goes on without Pinot's checks.
fn heterogeneous(image: &str) -> Value {
    json!({
        "image": image,
        "zookeeper": {"managed": {"replicas": 1, "storage": "1Gi"}},
        "kubernetes": {"nodeSelector": {"type": "kwok"}},
        "rollout": {"pinotChecks": "SkipWhenUnreachable"},
        "controller": {"pools": [{"name": "main", "replicas": 2}],
                       "kubernetes": {"storage": {"size": "1Gi"}}},
        "broker": {"pools": [{"name": "default", "replicas": 2, "tenant": "DefaultTenant"}]},
        "server": {
            "kubernetes": {"resources": {"limits": {"memory": "2Gi"}}},
            "pools": [
                {"name": "hot", "replicas": 3, "tenant": "DefaultTenant", "tier": "hot",
                 "kubernetes": {"nodeSelector": {"pinot.operator.dev/disk": "nvme"},
                                "storage": {"size": "2Gi", "storageClassName": "nvme"}}},
                {"name": "cold", "replicas": 2, "tenant": "DefaultTenant", "tier": "cold",
                 "kubernetes": {"nodeSelector": {"pinot.operator.dev/disk": "hdd"},
                                "storage": {"size": "5Gi", "storageClassName": "hdd"}}}
            ]
        },
        "minion": {"pools": [{"name": "default", "replicas": 1}]}
    })
}

fn workload(cluster: &str, role: &str, pool: &str) -> String {
    if role == "zookeeper" {
        format!("{cluster}-zookeeper")
    } else {
        format!("{cluster}-{role}-{pool}")
    }
}

fn label<'a>(pod: &'a Pod, key: &str) -> &'a str {
    pod.labels()
        .get(key)
        .map(String::as_str)
        .unwrap_or_default()
}

fn is_ready(pod: &Pod) -> bool {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_ref());
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        && pod.metadata.deletion_timestamp.is_none()
}

fn image(pod: &Pod) -> &str {
    pod.spec.as_ref().unwrap().containers[0]
        .image
        .as_deref()
        .unwrap_or_default()
}

fn pool_of(pod: &Pod) -> (String, String) {
    (
        label(pod, "pinot.operator.dev/component").to_owned(),
        label(pod, "pinot.operator.dev/pool").to_owned(),
    )
}

/// Pod name -> uid.
async fn uids(env: &Env, cluster: &str) -> BTreeMap<String, String> {
    env.pods(cluster)
        .await
        .into_iter()
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect()
}

/// Samples the namespace in the background until stopped, checking an invariant on
/// every sample.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Sampled>,
}

/// What a [`Sampler`] saw.
#[derive(Default)]
struct Sampled {
    violations: Vec<String>,
    /// Every uid each pod name had: more than two means a pod restarted twice.
    uids: BTreeMap<String, BTreeSet<String>>,
    samples: usize,
}

impl Sampler {
    fn start<F>(client: Client, ns: String, cluster: String, check: F) -> Sampler
    where
        F: Fn(&[StatefulSet], &[Pod]) -> Option<String> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let selector = format!("pinot.operator.dev/cluster={cluster}");
            let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
            let pods: Api<Pod> = Api::namespaced(client, &ns);
            let mut seen = Sampled::default();
            while !flag.load(Ordering::Relaxed) {
                // StatefulSets first: a later pool's set seen here was created before the
                // pods are listed, so the earlier pools' pods must already be ready then.
                let s = sets
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .unwrap()
                    .items;
                let p = pods
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .unwrap()
                    .items;
                for pod in &p {
                    seen.uids
                        .entry(pod.name_any())
                        .or_default()
                        .insert(pod.uid().unwrap());
                }
                seen.violations.extend(check(&s, &p));
                seen.samples += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        });
        Sampler { stop, task }
    }

    async fn finish(self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// Creation order: whenever a pool's StatefulSet exists, every earlier pool has all
/// its pods ready.
fn created_in_order(
    cluster: &str,
    replicas: [usize; 6],
) -> impl Fn(&[StatefulSet], &[Pod]) -> Option<String> {
    let cluster = cluster.to_owned();
    move |sets, pods| {
        let exists: BTreeSet<String> = sets.iter().map(|s| s.name_any()).collect();
        for (k, (role, pool)) in ORDER.iter().enumerate() {
            if !exists.contains(&workload(&cluster, role, pool)) {
                continue;
            }
            for (j, (earlier_role, earlier_pool)) in ORDER.iter().enumerate().take(k) {
                let ready = pods
                    .iter()
                    .filter(|p| {
                        pool_of(p) == (earlier_role.to_string(), earlier_pool.to_string())
                            && is_ready(p)
                    })
                    .count();
                if ready < replicas[j] {
                    return Some(format!(
                        "{role}/{pool} exists while {earlier_role}/{earlier_pool} has {ready}/{} ready pods",
                        replicas[j]
                    ));
                }
            }
        }
        None
    }
}

/// Rollout state of one pool in a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roll {
    Untouched,
    Rolling,
    Done,
}

fn roll(pods: &[Pod], role: &str, pool: &str, want: usize) -> Roll {
    let mine: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            pool_of(p) == (role.to_owned(), pool.to_owned())
                && p.metadata.deletion_timestamp.is_none()
        })
        .collect();
    let new = mine.iter().filter(|p| image(p) == NEW_IMAGE).count();
    let old = mine.iter().filter(|p| image(p) == OLD_IMAGE).count();
    match (old, new) {
        (o, 0) if o == want => Roll::Untouched,
        (0, n) if n == want => Roll::Done,
        _ => Roll::Rolling,
    }
}

/// Image rollout order: at most one pool (hence one role) rolling at a time, and a
/// pool only starts once every earlier pool is done.
fn rolls_in_order(replicas: [usize; 6]) -> impl Fn(&[StatefulSet], &[Pod]) -> Option<String> {
    move |_, pods| {
        let states: Vec<(String, Roll)> = ORDER
            .iter()
            .zip(replicas)
            .skip(1) // ZooKeeper's image does not change
            .map(|((role, pool), want)| (format!("{role}/{pool}"), roll(pods, role, pool, want)))
            .collect();
        let rolling: Vec<&String> = states
            .iter()
            .filter(|(_, r)| *r == Roll::Rolling)
            .map(|(n, _)| n)
            .collect();
        if rolling.len() > 1 {
            return Some(format!("several pools rolling at once: {rolling:?}"));
        }
        let first_not_done = states
            .iter()
            .position(|(_, r)| *r != Roll::Done)
            .unwrap_or(states.len());
        let started_later = states
            .iter()
            .skip(first_not_done + 1)
            .find(|(_, r)| *r != Roll::Untouched);
        started_later.map(|(name, r)| {
            format!(
                "{name} is {r:?} before {} is done: {states:?}",
                states[first_not_done].0
            )
        })
    }
}

#[tokio::test]
async fn heterogeneous_cluster_deploys_in_order_and_rolls_an_image_role_by_role_across_a_restart() {
    let env = Env::new("cluster-rollout").await;
    let replicas = [1, 2, 2, 3, 2, 1];
    let sampler = Sampler::start(
        env.client.clone(),
        env.ns.clone(),
        "analytics".into(),
        created_in_order("analytics", replicas),
    );
    let operator = Operator::start(&env.client, &env.ns);
    env.apply_cluster("analytics", heterogeneous(OLD_IMAGE))
        .await;
    let cluster = env.wait_settled("analytics").await;
    let Sampled {
        violations,
        samples,
        ..
    } = sampler.finish().await;
    assert!(
        violations.is_empty(),
        "created out of order ({samples} samples): {violations:#?}"
    );
    assert!(
        samples > 5,
        "too few samples ({samples}) to say anything about the order"
    );
    eprintln!("creation: {samples} samples, every pool created after the previous one was ready");

    assert_created_after_earlier_pools_were_ready(&env).await;
    assert_deployed_objects(&env, &cluster).await;

    // Image change; the operator is restarted once the brokers have started rolling.
    let before = uids(&env, "analytics").await;
    let sampler = Sampler::start(
        env.client.clone(),
        env.ns.clone(),
        "analytics".into(),
        rolls_in_order(replicas),
    );
    env.apply_cluster("analytics", heterogeneous(NEW_IMAGE))
        .await;
    // Polled tightly so the restart lands inside the broker pool's rollout.
    let tight = Duration::from_millis(20);
    env.eventually_every("a broker on the new image", tight, || async {
        let pods = env.pods("analytics").await;
        pods.iter()
            .any(|p| pool_of(p).0 == "broker" && image(p) == NEW_IMAGE)
    })
    .await;
    let first = operator.stop().await;
    // The StatefulSet controller recreates what the old operator deleted: the uids
    // below are only final once every set has all its pods again, none terminating.
    env.eventually("every pod the old operator deleted to be recreated", || {
        all_pods_present(&env, "analytics")
    })
    .await;
    let updated_at_restart: BTreeMap<String, String> = env
        .pods("analytics")
        .await
        .iter()
        .filter(|p| image(p) == NEW_IMAGE)
        .map(|p| (p.name_any(), p.uid().unwrap()))
        .collect();
    assert!(
        updated_at_restart.keys().any(|n| n.contains("controller")),
        "{updated_at_restart:?}"
    );
    assert!(
        !updated_at_restart.keys().any(|n| n.contains("minion")),
        "the restart was meant to happen mid-rollout: {updated_at_restart:?}"
    );

    eprintln!(
        "operator restarted with these pods already updated: {:?}",
        updated_at_restart.keys()
    );
    let operator = Operator::start(&env.client, &env.ns);
    let cluster = env.wait_settled("analytics").await;
    let Sampled {
        violations,
        uids: names,
        samples,
    } = sampler.finish().await;
    assert!(
        violations.is_empty(),
        "rolled out of order ({samples} samples): {violations:#?}"
    );
    eprintln!("rollout: {samples} samples, one pool at a time, in order");

    let after = uids(&env, "analytics").await;
    for (name, uid) in &updated_at_restart {
        assert_eq!(
            after.get(name),
            Some(uid),
            "{name} was updated before the restart and restarted again"
        );
    }
    for (name, uid) in &before {
        let zookeeper = name.contains("zookeeper");
        assert_eq!(
            after.get(name) == Some(uid),
            zookeeper,
            "{name}: only ZooKeeper keeps its pod"
        );
        // KWOK deletes a terminating pod by name, without a uid precondition, so a
        // late duplicate of that delete can hit the pod the StatefulSet just recreated.
        // Pod uids therefore only show the restarts of the environment; what the
        // operator itself deleted is counted below.
        if names[name].len() > 2 {
            eprintln!("{name} was recreated more than once: {:?}", names[name]);
        }
    }
    for pod in env.pods("analytics").await {
        if pool_of(&pod).0 != "zookeeper" {
            assert_eq!(image(&pod), NEW_IMAGE, "{}", pod.name_any());
        }
    }
    let version = cluster.status.as_ref().unwrap().version.clone().unwrap();
    assert_eq!(version.current.as_deref(), Some(NEW_IMAGE));
    assert_eq!(version.target.as_deref(), Some(NEW_IMAGE));
    let reasons = common::event_reasons(&env.client, &env.ns, "analytics").await;
    for reason in [
        "CreatingPool",
        "RollingPool",
        "PoolUpdated",
        "WaitingForRole",
        "RolloutComplete",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "no {reason} Event in {reasons:?}"
        );
    }
    let second = operator.stop().await;
    // Across both operator runs, every pod but ZooKeeper's was restarted exactly once.
    for ((role, pool), want) in ORDER.iter().zip(replicas) {
        let pool = format!("{role}/{pool}");
        let restarted = first.restarts_of(&env.ns, "analytics", &pool)
            + second.restarts_of(&env.ns, "analytics", &pool);
        let want = if *role == "zookeeper" { 0 } else { want as u64 };
        assert_eq!(
            restarted, want,
            "the operator restarted {restarted} pods of {pool}, want {want}"
        );
    }
}

/// `Ok` once every StatefulSet of `cluster` has as many pods as it wants and none of
/// them is terminating; otherwise which sets are short.
async fn all_pods_present(env: &Env, cluster: &str) -> Result<(), String> {
    let pods = env.pods(cluster).await;
    let short: Vec<String> = env
        .sets(cluster)
        .await
        .iter()
        .filter_map(|set| {
            let name = set.name_any();
            let want = set.spec.as_ref()?.replicas.unwrap_or(1) as usize;
            let mine: Vec<&Pod> = pods
                .iter()
                .filter(|p| p.owner_references().iter().any(|o| o.name == name))
                .collect();
            let terminating = mine
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_some())
                .count();
            let live = mine.len() - terminating;
            (live != want || terminating > 0)
                .then(|| format!("{name}: {live}/{want} pods, {terminating} terminating"))
        })
        .collect();
    if short.is_empty() {
        Ok(())
    } else {
        Err(short.join("; "))
    }
}

/// Second-precision timestamps: a later pool's StatefulSet was created no earlier
/// than the moment every pod of the pool before it became Ready.
async fn assert_created_after_earlier_pools_were_ready(env: &Env) {
    let sets = env.sets("analytics").await;
    let pods = env.pods("analytics").await;
    let created = |role: &str, pool: &str| {
        let name = workload("analytics", role, pool);
        let set = sets.iter().find(|s| s.name_any() == name).unwrap();
        set.metadata.creation_timestamp.clone().unwrap().0
    };
    for pair in ORDER.windows(2) {
        let ((role, pool), (next_role, next_pool)) = (pair[0], pair[1]);
        let ready_at = pods
            .iter()
            .filter(|p| pool_of(p) == (role.to_owned(), pool.to_owned()))
            .map(|p| {
                let conditions = p.status.as_ref().unwrap().conditions.as_ref().unwrap();
                let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
                ready.last_transition_time.clone().unwrap().0
            })
            .max()
            .unwrap();
        assert!(
            created(next_role, next_pool) >= ready_at,
            "{next_role}/{next_pool} created before {role}/{pool} was ready"
        );
    }
}

async fn assert_deployed_objects(env: &Env, cluster: &PinotCluster) {
    // Pods Ready on KWOK nodes, server pools on the nodes their selector picks.
    let pods = env.pods("analytics").await;
    assert_eq!(pods.len(), 11, "1 + 2 + 2 + 3 + 2 + 1 pods");
    for pod in &pods {
        assert!(is_ready(pod), "{} not ready", pod.name_any());
        let node = pod.spec.as_ref().unwrap().node_name.clone().unwrap();
        assert!(node.starts_with("kwok-node-"), "{node}");
        let (role, pool) = pool_of(pod);
        let allowed: &[&str] = match (role.as_str(), pool.as_str()) {
            ("server", "hot") => &["kwok-node-0", "kwok-node-1"],
            ("server", "cold") => &["kwok-node-2", "kwok-node-3"],
            _ => &["kwok-node-0", "kwok-node-1", "kwok-node-2", "kwok-node-3"],
        };
        assert!(
            allowed.contains(&node.as_str()),
            "{} on {node}",
            pod.name_any()
        );
        let owner = &pod.owner_references()[0];
        assert_eq!(owner.kind, "StatefulSet");
    }

    // Volume claims: only controllers, servers and ZooKeeper, bound, with their class.
    let claims = env
        .api::<PersistentVolumeClaim>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let mut by_prefix: BTreeMap<String, (String, String)> = BTreeMap::new();
    for claim in &claims {
        let spec = claim.spec.as_ref().unwrap();
        let phase = claim
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        assert_eq!(phase, "Bound", "{}", claim.name_any());
        let size = spec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"]
            .0
            .clone();
        let class = spec.storage_class_name.clone().unwrap_or_default();
        let prefix = claim.name_any().rsplit_once('-').unwrap().0.to_owned();
        by_prefix.insert(prefix, (class, size));
    }
    assert_eq!(
        by_prefix["data-analytics-server-hot"],
        ("nvme".into(), "2Gi".into())
    );
    assert_eq!(
        by_prefix["data-analytics-server-cold"],
        ("hdd".into(), "5Gi".into())
    );
    assert_eq!(
        by_prefix["data-analytics-controller-main"].0, "standard",
        "the default class"
    );
    assert!(by_prefix.contains_key("data-analytics-zookeeper"));
    assert_eq!(
        claims.len(),
        1 + 2 + 3 + 2,
        "no claims for brokers or minions"
    );

    // Services, ConfigMaps, PDBs; everything owned by the cluster.
    let services: BTreeMap<String, Service> = env
        .api::<Service>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| (s.name_any(), s))
        .collect();
    let controller = &services["analytics-controller"];
    assert_eq!(
        controller.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].port,
        9000
    );
    for name in [
        "analytics-broker",
        "analytics-server",
        "analytics-minion",
        "analytics-zookeeper",
    ] {
        assert!(services.contains_key(name), "client Service {name}");
    }
    for (role, pool) in ORDER {
        let name = workload("analytics", role, pool);
        let headless = if role == "zookeeper" {
            format!("{name}-headless")
        } else {
            name.clone()
        };
        assert_eq!(
            services[&headless]
                .spec
                .as_ref()
                .unwrap()
                .cluster_ip
                .as_deref(),
            Some("None")
        );
        let cm = env.api::<ConfigMap>().get(&name).await.unwrap();
        assert_eq!(cm.owner_references()[0].uid, cluster.uid().unwrap());
        // Servers share one budget: a segment's replicas live in different pools.
        let own_budget = env
            .api::<PodDisruptionBudget>()
            .get_opt(&name)
            .await
            .unwrap();
        assert_eq!(
            own_budget.is_some(),
            role != "server",
            "{name}'s own budget"
        );
    }
    let servers = env
        .api::<PodDisruptionBudget>()
        .get("analytics-server")
        .await
        .unwrap();
    let selector = servers
        .spec
        .unwrap()
        .selector
        .unwrap()
        .match_labels
        .unwrap();
    assert_eq!(selector["pinot.operator.dev/component"], "server");
    assert!(
        !selector.contains_key("pinot.operator.dev/pool"),
        "{selector:?}"
    );
    let cold = env
        .api::<ConfigMap>()
        .get("analytics-server-cold")
        .await
        .unwrap();
    let conf = &cold.data.unwrap()["pinot-server.conf"];
    assert!(
        conf.contains("pinot.zk.server=analytics-zookeeper."),
        "{conf}"
    );

    // Status.
    let status = cluster.status.as_ref().unwrap();
    assert_eq!(condition(cluster, AVAILABLE).unwrap().status, "True");
    assert_eq!(condition(cluster, DEGRADED).unwrap().status, "False");
    assert_eq!(condition(cluster, PAUSED).unwrap().status, "False");
    let progressing = condition(cluster, PROGRESSING).unwrap();
    assert!(
        progressing.message.contains("Pinot health checks skipped"),
        "{}",
        progressing.message
    );
    assert_eq!(
        status.controller_url.as_deref(),
        Some(format!("http://analytics-controller.{}.svc:9000", env.ns).as_str())
    );
    assert_eq!(status.pools.len(), 6);
}

/// A small heterogeneous cluster for the tests that are not about ordering.
fn small(image: &str) -> Value {
    let mut spec = heterogeneous(image);
    spec["controller"]["pools"][0]["replicas"] = json!(1);
    spec["broker"]["pools"][0]["replicas"] = json!(1);
    spec["server"]["pools"][0]["replicas"] = json!(2);
    spec
}

#[tokio::test]
async fn paused_holds_changes_and_a_pool_config_change_rolls_only_that_pool() {
    let env = Env::new("cluster-config").await;
    let operator = Operator::start(&env.client, &env.ns);
    env.apply_cluster("sales", small(OLD_IMAGE)).await;
    env.wait_settled("sales").await;
    let before = uids(&env, "sales").await;
    let generations: BTreeMap<String, Option<i64>> = env
        .sets("sales")
        .await
        .iter()
        .map(|s| (s.name_any(), s.metadata.generation))
        .collect();

    // Paused: an image change is held back and says so.
    let mut paused = small(NEW_IMAGE);
    paused["rollout"]["paused"] = json!(true);
    env.apply_cluster("sales", paused).await;
    env.eventually("the Paused condition", || async {
        let cluster = env.cluster("sales").await;
        let paused = condition(&cluster, PAUSED)?;
        let current = paused.observed_generation == cluster.metadata.generation;
        (current && paused.status == "True" && paused.message.contains("next step would be"))
            .then_some(())
    })
    .await;
    // A held step is looked at again every 5 s: the checks below come after a whole
    // reconcile of the paused spec, one that would have rolled pods were pause ignored.
    common::a_whole_reconcile("the paused cluster", || async { operator.reconciles() }).await;
    assert_eq!(
        uids(&env, "sales").await,
        before,
        "paused: no pod may change"
    );
    for set in env.sets("sales").await {
        assert_eq!(
            generations[&set.name_any()],
            set.metadata.generation,
            "paused: {} changed",
            set.name_any()
        );
    }
    let cluster = env.cluster("sales").await;
    assert_eq!(condition(&cluster, PROGRESSING).unwrap().reason, "Paused");

    // Back to the running image and unpaused: nothing to do, nothing restarts. (The
    // status below is written by a reconcile of this generation after its step, so a
    // reconcile that could have restarted pods ran before the uids are compared.)
    env.apply_cluster("sales", small(OLD_IMAGE)).await;
    env.eventually("Paused to clear", || async {
        let cluster = env.cluster("sales").await;
        let paused = condition(&cluster, PAUSED)?;
        (paused.observed_generation == cluster.metadata.generation && paused.status == "False")
            .then_some(())
    })
    .await;
    env.wait_settled("sales").await;
    assert_eq!(uids(&env, "sales").await, before);

    // A Pinot property on `cold` rolls `cold` only.
    let mut spec = small(OLD_IMAGE);
    spec["server"]["pools"][1]["pinot"] =
        json!({"properties": {"pinot.server.query.executor.timeout": "30000"}});
    env.apply_cluster("sales", spec).await;
    env.eventually("cold to restart", || async {
        let now = uids(&env, "sales").await;
        let cold: Vec<_> = now
            .iter()
            .filter(|(n, _)| n.contains("server-cold"))
            .collect();
        (cold.len() == 2 && cold.iter().all(|(n, u)| before.get(*n) != Some(u))).then_some(())
    })
    .await;
    env.wait_settled("sales").await;
    let after = uids(&env, "sales").await;
    for (name, uid) in &before {
        let cold = name.contains("server-cold");
        assert_eq!(after[name] != *uid, cold, "{name}: only cold pods restart");
    }
    let conf = |name: &'static str| async {
        env.api::<ConfigMap>()
            .get(name)
            .await
            .unwrap()
            .data
            .unwrap()["pinot-server.conf"]
            .clone()
    };
    assert!(
        conf("sales-server-cold")
            .await
            .contains("pinot.server.query.executor.timeout=30000")
    );
    assert!(
        !conf("sales-server-hot")
            .await
            .contains("pinot.server.query.executor.timeout")
    );
    operator.stop().await;
}

/// The size `claim` asks for and the capacity it has.
async fn claim_sizes(env: &Env, claim: &str) -> (String, String) {
    common::claim_sizes(env.api::<PersistentVolumeClaim>().get(claim).await.unwrap())
}

/// The size of the data claim template of StatefulSet `name`; empty while it does
/// not exist (the operator deletes and re-creates it to change the template).
async fn template_size(env: &Env, name: &str) -> String {
    common::template_size(env.api::<StatefulSet>().get_opt(name).await.unwrap())
}

#[tokio::test]
async fn volumes_grow_in_place_restart_only_when_remounting_grows_them_and_never_shrink() {
    let env = Env::new("cluster-storage").await;
    let operator = Operator::start(&env.client, &env.ns);
    let mut spec = small(OLD_IMAGE);
    // Hot's volumes grow their file system only when remounted.
    spec["server"]["pools"][0]["kubernetes"]["storage"]["storageClassName"] = json!("offline");
    env.apply_cluster("disk", spec.clone()).await;
    env.wait_settled("disk").await;
    let before = uids(&env, "disk").await;
    let claims = ["data-disk-server-cold-0", "data-disk-server-cold-1"];

    spec["server"]["pools"][1]["kubernetes"]["storage"]["size"] = json!("8Gi");
    env.apply_cluster("disk", spec.clone()).await;
    env.eventually("cold's claims and template at 8Gi", || async {
        for claim in claims {
            let (wanted, has) = claim_sizes(&env, claim).await;
            (wanted == "8Gi" && has == "8Gi").then_some(())?;
        }
        (template_size(&env, "disk-server-cold").await == "8Gi").then_some(())
    })
    .await;
    env.wait_settled("disk").await;
    assert_eq!(
        uids(&env, "disk").await,
        before,
        "an expansion restarts no pod"
    );
    assert_eq!(
        template_size(&env, "disk-server-hot").await,
        "2Gi",
        "hot untouched"
    );

    spec["server"]["pools"][1]["kubernetes"]["storage"]["size"] = json!("6Gi");
    env.apply_cluster("disk", spec.clone()).await;
    let message = env
        .eventually("StorageChangeRefused", || async {
            let cluster = env.cluster("disk").await;
            let degraded = condition(&cluster, DEGRADED)?;
            let current = degraded.observed_generation == cluster.metadata.generation;
            (current && degraded.reason == "StorageChangeRefused").then_some(degraded.message)
        })
        .await;
    assert!(
        message.contains("cannot shrink from 8Gi to 6Gi"),
        "{message}"
    );
    common::a_whole_reconcile("the refused shrink", || async { operator.reconciles() }).await;
    assert_eq!(template_size(&env, "disk-server-cold").await, "8Gi");
    assert_eq!(claim_sizes(&env, claims[0]).await.0, "8Gi");
    assert_eq!(uids(&env, "disk").await, before);

    // An extra claim: the StatefulSet is re-created with it, and cold's pods restart
    // to mount it; nothing else restarts.
    spec["server"]["pools"][1]["kubernetes"]["storage"]["size"] = json!("8Gi");
    spec["server"]["pools"][1]["kubernetes"]["volumeClaims"] =
        json!([{"name": "scratch", "mountPath": "/scratch", "size": "1Gi"}]);
    env.apply_cluster("disk", spec.clone()).await;
    env.eventually("cold's template holding scratch", || async {
        (template_names(&env, "disk-server-cold").await == ["data", "scratch"]).then_some(())
    })
    .await;
    env.wait_settled("disk").await;
    let after = uids(&env, "disk").await;
    for (pod, uid) in &before {
        let cold = pod.starts_with("disk-server-cold-");
        assert_eq!(after[pod] != *uid, cold, "{pod} restarted only if in cold");
    }
    for ordinal in 0..2 {
        let claim = format!("scratch-disk-server-cold-{ordinal}");
        assert_eq!(claim_sizes(&env, &claim).await.0, "1Gi", "{claim}");
    }

    // A volume whose file system grows only when remounted: hot's pods restart, once.
    let before = after;
    spec["server"]["pools"][0]["kubernetes"]["storage"]["size"] = json!("3Gi");
    env.apply_cluster("disk", spec.clone()).await;
    env.eventually("hot's claims grown once remounted", || async {
        for ordinal in 0..2 {
            let claim = format!("data-disk-server-hot-{ordinal}");
            (claim_sizes(&env, &claim).await == ("3Gi".into(), "3Gi".into())).then_some(())?;
        }
        Some(())
    })
    .await;
    env.wait_settled("disk").await;
    let after = uids(&env, "disk").await;
    for (pod, uid) in &before {
        let hot = pod.starts_with("disk-server-hot-");
        assert_eq!(after[pod] != *uid, hot, "{pod} restarted only if in hot");
    }
    common::a_whole_reconcile("the grown volumes", || async { operator.reconciles() }).await;
    assert_eq!(uids(&env, "disk").await, after, "no second restart");
    operator.stop().await;
}

/// The claim template names of StatefulSet `name`; empty while it does not exist.
async fn template_names(env: &Env, name: &str) -> Vec<String> {
    let Some(set) = env.api::<StatefulSet>().get_opt(name).await.unwrap() else {
        return vec![];
    };
    let claims = set.spec.and_then(|s| s.volume_claim_templates);
    (claims.into_iter().flatten())
        .map(|c| c.name_any())
        .collect()
}

/// `spec.auth` with users in a Secret: the pods' config never holds a password.
fn with_auth(image: &str) -> Value {
    let mut spec = small(image);
    spec["auth"] = json!({"adminUser": "admin", "users": [
        {"name": "admin", "passwordSecretRef": {"name": "users", "key": "admin"}},
        {"name": "reader", "passwordSecretRef": {"name": "users", "key": "reader"},
         "permissions": ["Read"], "tables": ["orders"]}]});
    spec
}

async fn put_users(env: &Env, admin: &str, reader: &str) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "users"},
                        "stringData": {"admin": admin, "reader": reader}});
    common::apply(&env.client, &env.ns, secret).await;
}

async fn secret_text(env: &Env, name: &str, key: &str) -> Option<String> {
    let secret = env.api::<Secret>().get_opt(name).await.unwrap()?;
    let bytes = secret.data?.get(key)?.0.clone();
    Some(String::from_utf8(bytes).unwrap())
}

#[tokio::test]
async fn auth_keeps_passwords_in_secrets_and_a_rotation_rolls_only_the_pools_using_it() {
    let env = Env::new("cluster-auth").await;
    let operator = Operator::start(&env.client, &env.ns);

    // The users' Secret is missing: reported, and nothing is deployed.
    env.apply_cluster("sales", with_auth(OLD_IMAGE)).await;
    env.eventually("CredentialsUnavailable", || async {
        let cluster = env.cluster("sales").await;
        let degraded = condition(&cluster, DEGRADED)?;
        (degraded.reason == "CredentialsUnavailable"
            && degraded.message.contains("Secret users not found"))
        .then_some(())
    })
    .await;
    // That condition is written by the reconcile that found the Secret missing.
    assert!(env.sets("sales").await.is_empty());

    put_users(&env, "admin-pw-1", "reader-pw-1").await;
    env.wait_settled("sales").await;
    let config_maps = env
        .api::<ConfigMap>()
        .list(&ListParams::default())
        .await
        .unwrap();
    for cm in &config_maps.items {
        let text = serde_json::to_string(&cm.data).unwrap();
        assert!(!text.contains("pw-1"), "{} holds a password", cm.name_any());
    }
    let controller_conf = config_maps
        .items
        .iter()
        .find(|cm| cm.name_any() == "sales-controller-main")
        .and_then(|cm| cm.data.as_ref()?.get("pinot-controller.conf").cloned())
        .unwrap();
    assert!(controller_conf.contains("controller.admin.access.control.principals=admin,reader"));
    assert!(controller_conf.contains("config.paths=/var/pinot/credentials/pinot.properties"));
    let controller_secret = secret_text(&env, "sales-credentials", "controller.properties")
        .await
        .unwrap();
    assert!(
        controller_secret
            .contains("controller.admin.access.control.principals.reader.password=reader-pw-1")
    );
    let server_secret = secret_text(&env, "sales-credentials", "server.properties")
        .await
        .unwrap();
    assert!(server_secret.contains("pinot.server.segment.fetcher.auth.token=Basic "));
    assert!(!server_secret.contains("reader-pw-1"));
    for pod in env.pods("sales").await {
        let mounted = pod
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .iter()
            .flatten()
            .any(|v| {
                v.secret.as_ref().and_then(|s| s.secret_name.as_deref())
                    == Some("sales-credentials")
            });
        let zookeeper = label(&pod, "pinot.operator.dev/component") == "zookeeper";
        assert_eq!(mounted, !zookeeper, "{} credentials mount", pod.name_any());
    }

    // A reader's new password restarts controllers and brokers only (picked up at
    // the next resync: Secrets are read by name, never watched).
    let before = uids(&env, "sales").await;
    put_users(&env, "admin-pw-1", "reader-pw-2").await;
    env.eventually("controllers and brokers to restart", || async {
        let now = uids(&env, "sales").await;
        let rolled = now
            .iter()
            .filter(|(n, _)| n.contains("-controller-") || n.contains("-broker-"));
        let all = rolled.clone().count() == 2;
        (all && rolled.into_iter().all(|(n, u)| before.get(n) != Some(u))).then_some(())
    })
    .await;
    env.wait_settled("sales").await;
    let after = uids(&env, "sales").await;
    for (name, uid) in &before {
        let uses_reader = name.contains("-controller-") || name.contains("-broker-");
        assert_eq!(after[name] != *uid, uses_reader, "{name}");
    }
    assert!(
        secret_text(&env, "sales-credentials", "broker.properties")
            .await
            .unwrap()
            .contains("reader-pw-2")
    );

    // Auth switched off: the credentials Secret goes.
    env.apply_cluster("sales", small(OLD_IMAGE)).await;
    env.eventually("the credentials Secret to be deleted", || async {
        secret_text(&env, "sales-credentials", "controller.properties")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    operator.stop().await;
}

#[tokio::test]
async fn shrinking_a_server_pool_waits_for_pinot_and_stopping_scales_to_zero() {
    let env = Env::new("cluster-scale").await;
    let operator = Operator::start(&env.client, &env.ns);
    let mut spec = small(OLD_IMAGE);
    env.apply_cluster("ops", spec.clone()).await;
    env.wait_settled("ops").await;

    // cold 2 -> 1 with Pinot unreachable: reported, not done.
    spec["server"]["pools"][1]["replicas"] = json!(1);
    env.apply_cluster("ops", spec.clone()).await;
    let message = env
        .eventually("ScaleDownBlocked", || async {
            let cluster = env.cluster("ops").await;
            let degraded = condition(&cluster, DEGRADED)?;
            let current = degraded.observed_generation == cluster.metadata.generation;
            (current && degraded.reason == "ScaleDownBlocked").then_some(degraded.message)
        })
        .await;
    assert!(message.contains("unreachable"), "{message}");
    // A blocked shrink is retried every 15 s: the checks below come after a whole
    // reconcile that saw the shrink after it was reported, not a fixed 3 s that
    // usually holds none.
    common::a_whole_reconcile("the blocked shrink", || async { operator.reconciles() }).await;
    let cold = env
        .api::<StatefulSet>()
        .get("ops-server-cold")
        .await
        .unwrap();
    assert_eq!(
        cold.spec.unwrap().replicas,
        Some(2),
        "no shrink without a drain"
    );
    let cold_pods = env
        .pods("ops")
        .await
        .into_iter()
        .filter(|p| p.name_any().contains("server-cold"))
        .count();
    assert_eq!(cold_pods, 2);

    // Scaling back clears it; stopping scales everything to zero, minions first.
    spec["server"]["pools"][1]["replicas"] = json!(2);
    env.apply_cluster("ops", spec.clone()).await;
    env.wait_settled("ops").await;
    spec["stopped"] = json!(true);
    env.apply_cluster("ops", spec.clone()).await;
    env.eventually("every pod gone", || async {
        env.pods("ops").await.is_empty().then_some(())
    })
    .await;
    let cluster = env.wait_settled("ops").await;
    assert_eq!(condition(&cluster, AVAILABLE).unwrap().reason, "Stopped");
    for set in env.sets("ops").await {
        assert_eq!(set.spec.unwrap().replicas, Some(0));
    }
    let services = env
        .api::<Service>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(
        services.iter().any(|s| s.name_any() == "ops-controller"),
        "Services are kept"
    );
    assert_eq!(
        env.api::<PersistentVolumeClaim>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1 + 1 + 2 + 2
    );

    // Starting again brings every role back, in order.
    spec["stopped"] = json!(false);
    env.apply_cluster("ops", spec).await;
    let cluster = env.wait_settled("ops").await;
    assert_eq!(condition(&cluster, AVAILABLE).unwrap().status, "True");
    operator.stop().await;
}

#[tokio::test]
async fn an_external_cluster_only_gets_status() {
    let env = Env::new("cluster-external").await;
    let operator = Operator::start(&env.client, &env.ns);
    env.apply_cluster(
        "outside",
        json!({"external": {"controllerUrl": "http://pinot.example:9000"}}),
    )
    .await;
    let cluster = env
        .eventually("external status", || async {
            let cluster = env.cluster("outside").await;
            (condition(&cluster, AVAILABLE)?.reason == "External").then_some(cluster)
        })
        .await;
    assert_eq!(
        cluster.status.unwrap().controller_url.as_deref(),
        Some("http://pinot.example:9000")
    );
    assert!(env.sets("outside").await.is_empty());
    assert!(
        env.api::<ConfigMap>()
            .list(&ListParams::default().labels("pinot.operator.dev/cluster=outside"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    operator.stop().await;
}

/// The Pinot side of the controller against a real Pinot (the test environment's,
/// on loopback): health verdicts from real ideal states and external views, and a
/// drain that moves a real segment off a server before it would be removed.
#[tokio::test]
async fn against_a_real_pinot_health_reads_segment_states_and_a_drain_moves_segments_off() {
    use pinot_operator::cluster::act::pinot::{rebalance, untag};
    use pinot_operator::cluster::observe::pinot::{PinotView, read_view};
    use pinot_operator::cluster::plan::drain::{DrainProgress, progress};
    use pinot_operator::cluster::plan::health::verdict;
    use pinot_operator::cluster::plan::rollout::Verdict;

    let pinot_env = testenv::pinot::Pinot::shared();
    // As the cluster controller calls Pinot: one attempt of at most 5 s.
    let mut config = pinot_client::ClientConfig::new(pinot_env.controller_url().parse().unwrap());
    config.timeout = Duration::from_secs(5);
    config.max_retries = 0;
    let client = pinot_client::PinotClient::new(config).unwrap();
    let table = "cluster_drain";
    client.create_schema(&drain_schema(table)).await.unwrap();
    client.create_table(&drain_table(table)).await.unwrap();
    let rows = r#"{"user_id": "a", "amount": 1.5, "ts": 1700000000000}"#;
    pinot_env
        .ingest_json_rows(&format!("{table}_OFFLINE"), rows)
        .await;

    // Healthy once the segment is ONLINE where the ideal state puts it.
    let (servers, host) = poll("the segment ONLINE", || async {
        let PinotView::Reachable(snapshot) = read_view(&client).await else {
            return None;
        };
        let states = snapshot.tables.iter().find(|t| t.name == table)?;
        let host = states.ideal.values().next()?.keys().next()?.clone();
        let servers: Vec<String> = snapshot
            .instances
            .iter()
            .filter(|i| i.starts_with("Server_"))
            .cloned()
            .collect();
        // Every server is in the checked set, so the segment's only replica is "inside":
        // healthy, and flagged as the sole replica (a whole-set restart would drop it).
        matches!(verdict(&servers, &snapshot), Verdict::SoleReplicas(_)).then_some((servers, host))
    })
    .await;
    assert_eq!(servers.len(), 2, "{servers:?}");
    let other = servers.iter().find(|s| **s != host).unwrap().clone();
    let original_tags = client.get_instance(&host).await.unwrap().unwrap().tags;

    // Drain the host: untagged, the segment rebalanced onto the other server.
    let leaving = vec![host.clone()];
    poll("the drain to finish", || async {
        let PinotView::Reachable(snapshot) = read_view(&client).await else {
            return None;
        };
        untag(&client, &leaving).await.unwrap();
        match progress(&snapshot, &leaving) {
            DrainProgress::Done => Some(()),
            DrainProgress::Moving {
                rebalance: tables, ..
            } => {
                rebalance(&client, &tables).await.unwrap();
                None
            }
        }
    })
    .await;
    eprintln!("drained {host}: its segment moved to {other}");
    assert!(
        client
            .get_instance(&host)
            .await
            .unwrap()
            .unwrap()
            .tags
            .is_empty()
    );
    // `Done` says the host is out of the ideal state and the external view; a
    // single-replica table moves with downtime, so the segment may still be loading on
    // `other`. Wait for Pinot's external view to show it ONLINE there (the event the
    // verdicts below read) rather than reading the view once, a race on a busy machine.
    let loaded = format!("the moved segment ONLINE on {other}");
    let snapshot = poll(&loaded, || async {
        let view = read_view(&client).await;
        let PinotView::Reachable(snapshot) = &view else {
            return Err(format!("{view:?}"));
        };
        let states = snapshot.tables.iter().find(|t| t.name == table).unwrap();
        let online = states.ideal.iter().all(|(segment, hosts)| {
            let state = states.external.get(segment).and_then(|h| h.get(&other));
            !hosts.contains_key(&other) || state.is_some_and(|s| s == "ONLINE")
        });
        if online {
            Ok(view)
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    let PinotView::Reachable(snapshot) = snapshot else {
        panic!("Pinot unreachable");
    };
    let states = snapshot.tables.iter().find(|t| t.name == table).unwrap();
    assert!(!states.hosts(&host), "segment still on {host}: {states:?}");
    assert!(states.ideal.values().all(|s| s.contains_key(&other)));
    // `other` now serves the only replica; the drained host serves nothing.
    let on_other = verdict(std::slice::from_ref(&other), &snapshot);
    assert!(matches!(on_other, Verdict::SoleReplicas(_)), "{on_other:?}");
    assert_eq!(
        verdict(std::slice::from_ref(&host), &snapshot),
        Verdict::Healthy
    );

    // Put things back for whoever uses this Pinot next.
    client
        .update_instance_tags(&host, &original_tags)
        .await
        .unwrap();
    client
        .delete_table(table, pinot_client::TableType::Offline, Some("0d"))
        .await
        .unwrap();

    // Unreachable Pinot: reported, never guessed (the planner then blocks the
    // scale-down: plan::tests::a_server_scale_down_without_pinot_is_blocked_...).
    let dead = pinot_client::PinotClient::new(pinot_client::ClientConfig::new(
        "http://127.0.0.1:9".parse().unwrap(),
    ))
    .unwrap();
    let view = read_view(&dead).await;
    assert!(matches!(view, PinotView::Unreachable(_)), "{view:?}");
}

fn drain_schema(name: &str) -> Value {
    json!({"schemaName": name,
        "dimensionFieldSpecs": [{"name": "user_id", "dataType": "STRING"}],
        "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
        "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
                                "granularity": "1:MILLISECONDS"}]})
}

fn drain_table(name: &str) -> Value {
    json!({"tableName": name, "tableType": "OFFLINE",
        "segmentsConfig": {"replication": "1", "timeColumnName": "ts", "schemaName": name},
        "tenants": {"server": "DefaultTenant", "broker": "DefaultTenant"},
        "tableIndexConfig": {"loadMode": "MMAP"},
        "metadata": {}})
}

/// Polls `check` every second for up to two minutes.
async fn poll<T, P, F, Fut>(what: &str, check: F) -> T
where
    P: Probe<T>,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    let (timeout, interval) = (Duration::from_secs(120), Duration::from_secs(1));
    wait::eventually(what, timeout, interval, check).await
}

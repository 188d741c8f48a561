//! Rollout: a deployed PinotCluster on the KWOK nodes with 3 server pools of 4 (one
//! ZooKeeper, controller and broker), every pod becoming Ready only after
//! `--ready-delay` (KWOK's pod-ready delay annotation). The image changes; the
//! benchmark samples the operator's `pod_restarts` counter every 100 ms and counts
//! waves (samples in which restarts grew) until the cluster reports the rollout
//! complete, for `serverStrategy: PoolByPool` and `OneByOne`. Pinot is not reachable
//! in KWOK pods, so the operator trusts the spec (PoolByPool restarts a pool at once).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use testenv::kubernetes::READY_DELAY_ANNOTATION;

use crate::Options;
use crate::env::Env;
use crate::report::{Table, seconds, verdict};

const OLD_IMAGE: &str = "apachepinot/pinot:1.5.1";
const NEW_IMAGE: &str = "apachepinot/pinot:1.5.2";
const SERVER_POOLS: usize = 3;
const SERVERS_PER_POOL: usize = 4;
const SAMPLE: Duration = Duration::from_millis(100);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(900);

fn spec(strategy: &str, ready_delay: &str) -> Value {
    let pools: Vec<Value> = (0..SERVER_POOLS)
        .map(|i| json!({"name": format!("p{i}"), "replicas": SERVERS_PER_POOL, "tenant": "DefaultTenant"}))
        .collect();
    json!({
        "image": OLD_IMAGE,
        "zookeeper": {"managed": {"replicas": 1, "storage": "1Gi"}},
        "kubernetes": {"nodeSelector": {"type": "kwok"},
                       "podAnnotations": {READY_DELAY_ANNOTATION: ready_delay}},
        "controller": {"pools": [{"name": "main", "replicas": 1}],
                       "kubernetes": {"storage": {"size": "1Gi"}}},
        "broker": {"pools": [{"name": "default", "replicas": 1, "tenant": "DefaultTenant"}]},
        "server": {"kubernetes": {"storage": {"size": "1Gi"}}, "pools": pools},
        // On KWOK no Pinot runs: go on without Pinot's checks.
        "rollout": {"serverStrategy": strategy, "pinotChecks": "SkipWhenUnreachable"}
    })
}

/// Restart waves: seconds after the change, and the pods restarted per pool then.
pub type Waves = Vec<(f64, Vec<(String, f64)>)>;

/// Merges `spec` into PinotCluster `name` and samples the operator's `pod_restarts`
/// every 100 ms until the cluster settles on the new generation; returns how long that
/// took and the waves (samples in which restarts grew).
pub fn roll(
    env: &Env,
    clusters: &Api<DynamicObject>,
    name: &str,
    spec: Value,
) -> anyhow::Result<(Duration, Waves)> {
    let before = env.metrics()?;
    let generation = env
        .runtime
        .block_on(clusters.get(name))?
        .metadata
        .generation;
    let mut previous = BTreeMap::new();
    let mut waves = Vec::new();
    let changed = Instant::now();
    let patch = json!({ "spec": spec });
    env.runtime
        .block_on(clusters.patch(name, &PatchParams::default(), &Patch::Merge(&patch)))?;
    loop {
        let restarts = env.metrics()?.since(&before).restarts;
        let grew: Vec<(String, f64)> = restarts
            .iter()
            .filter_map(|(pool, n)| {
                let was = previous.get(pool).copied().unwrap_or(0.0);
                (*n > was).then(|| (pool.clone(), n - was))
            })
            .collect();
        if !grew.is_empty() {
            waves.push((changed.elapsed().as_secs_f64(), grew));
        }
        previous = restarts;
        let cluster = env.runtime.block_on(clusters.get(name))?;
        if settled(&cluster) && cluster.metadata.generation > generation {
            return Ok((changed.elapsed(), waves));
        }
        if changed.elapsed() > SETTLE_TIMEOUT {
            bail!("the rollout of {name} never settled");
        }
        std::thread::sleep(SAMPLE);
    }
}

/// True when the status describes the current generation, says the rollout is
/// complete, and every pool is updated and ready.
pub fn settled(cluster: &DynamicObject) -> bool {
    let status = &cluster.data["status"];
    let current = status["observedGeneration"].as_i64() == cluster.metadata.generation;
    let complete = status["conditions"].as_array().is_some_and(|conditions| {
        conditions
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "RolloutComplete")
    });
    let pools_done = status["pools"].as_array().is_some_and(|pools| {
        !pools.is_empty()
            && pools.iter().all(|p| {
                p["readyReplicas"] == p["replicas"] && p["updatedReplicas"] == p["replicas"]
            })
    });
    current && complete && pools_done
}

struct Outcome {
    strategy: &'static str,
    deploy: Duration,
    total: Duration,
    /// (seconds since the image change, pool, pods restarted) per sample that grew.
    waves: Waves,
}

/// The PinotClusters of `namespace`, for a client on the environment's runtime.
pub fn clusters(env: &Env, namespace: &str) -> anyhow::Result<Api<DynamicObject>> {
    let gvk = GroupVersionKind::gvk("pinot.operator.dev", "v1alpha1", "PinotCluster");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "pinotclusters");
    Ok(Api::namespaced_with(env.client()?, namespace, &resource))
}

/// Creates PinotCluster `name` with `spec` and waits until it settles; returns how long
/// that took.
pub fn deploy(
    env: &Env,
    clusters: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
    spec: Value,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    env.apply(
        namespace,
        &json!({"apiVersion": "pinot.operator.dev/v1alpha1", "kind": "PinotCluster",
                "metadata": {"name": name}, "spec": spec})
        .to_string(),
    )?;
    env.runtime.block_on(async {
        while !settled(&clusters.get(name).await?) {
            if started.elapsed() > SETTLE_TIMEOUT {
                bail!("{name} in {namespace} never settled");
            }
            tokio::time::sleep(SAMPLE).await;
        }
        Ok(started.elapsed())
    })
}

fn one(env: &Env, strategy: &'static str, ready_delay: &str) -> anyhow::Result<Outcome> {
    let namespace = format!("rollout-{}", strategy.to_lowercase());
    env.create_namespace(&namespace)?;
    let clusters = clusters(env, &namespace)?;
    let spec = spec(strategy, ready_delay);
    let deploy = deploy(env, &clusters, &namespace, "bench", spec)?;
    let (total, waves) = roll(env, &clusters, "bench", json!({"image": NEW_IMAGE}))?;
    Ok(Outcome {
        strategy,
        deploy,
        total,
        waves,
    })
}

pub fn run(env: &Env, options: &Options) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (strategy, expected) in [
        ("PoolByPool", SERVER_POOLS),
        ("OneByOne", SERVER_POOLS * SERVERS_PER_POOL),
    ] {
        let outcome = one(env, strategy, &options.ready_delay)?;
        let server_waves = outcome
            .waves
            .iter()
            .filter(|(_, grew)| grew.iter().any(|(pool, _)| pool.starts_with("server/")))
            .count();
        let restarted: f64 = outcome
            .waves
            .iter()
            .flat_map(|(_, grew)| grew.iter().map(|(_, n)| n))
            .sum();
        rows.push(vec![
            outcome.strategy.to_owned(),
            server_waves.to_string(),
            outcome.waves.len().to_string(),
            format!("{restarted:.0}"),
            seconds(outcome.total),
            seconds(outcome.deploy),
            expected.to_string(),
            verdict(server_waves == expected),
        ]);
        notes.push(format!(
            "{}: {}",
            outcome.strategy,
            outcome
                .waves
                .iter()
                .map(|(t, grew)| format!(
                    "{t:.1} s {}",
                    grew.iter()
                        .map(|(pool, n)| format!("{pool}×{n:.0}"))
                        .collect::<Vec<_>>()
                        .join("+")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Table {
        title: &format!(
            "4. Rollout: image change, {SERVER_POOLS} server pools × {SERVERS_PER_POOL} on KWOK \
             (+1 controller, 1 broker), every pod Ready {} after it starts",
            options.ready_delay
        ),
        headers: &[
            "serverStrategy",
            "server waves",
            "all waves",
            "pods restarted",
            "image change -> settled",
            "(initial deploy)",
            "server waves expected",
            "as expected",
        ],
        rows,
        notes,
    }
    .print();
    println!(
        "A wave is a 100 ms sample of the operator's pod_restarts counter in which it grew \
         (pods deleted together). Waves listed as seconds after the image change.\n"
    );
    Ok(())
}

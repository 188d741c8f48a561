//! Prometheus metrics served on `/metrics`: reconciles and failures per controller,
//! reconcile duration, Pinot API calls by endpoint and outcome, rollout progress.

use std::sync::Arc;
use std::time::Duration;

use pinot_client::{CallObserver, CallOutcome};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub controller: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PinotCallLabels {
    pub endpoint: &'static str,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub namespace: String,
    pub cluster: String,
    /// `<role>/<pool>`, e.g. `server/hot`.
    pub pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    pub namespace: String,
    pub cluster: String,
}

/// All metrics of the process.
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ControllerLabels, Counter>,
    pub failures: Family<FailureLabels, Counter>,
    pub reconcile_seconds: Family<ControllerLabels, Histogram>,
    pub pinot_calls: Family<PinotCallLabels, Counter>,
    /// Pods on the target revision / all pods, per cluster (1.0 when settled).
    pub rollout_progress: Family<ClusterLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Pods the operator deleted to roll them onto a new revision, per pool.
    pub pod_restarts: Family<PoolLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("pinot_operator");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let reconcile_seconds = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
        });
        let pinot_calls = Family::<PinotCallLabels, Counter>::default();
        let rollout_progress = Family::default();
        let pod_restarts = Family::<PoolLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles per controller",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_failures",
            "Failed reconciles by reason",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_seconds.clone(),
        );
        registry.register(
            "pinot_api_calls",
            "Pinot controller API calls by endpoint and outcome",
            pinot_calls.clone(),
        );
        registry.register(
            "rollout_progress_ratio",
            "Pods on the target revision per cluster",
            rollout_progress.clone(),
        );
        registry.register(
            "pod_restarts",
            "Pods deleted by the operator to roll them, per pool",
            pod_restarts.clone(),
        );
        Metrics {
            registry,
            reconciles,
            failures,
            reconcile_seconds,
            pinot_calls,
            rollout_progress,
            pod_restarts,
        }
    }
}

impl Metrics {
    /// Records one reconcile of `controller`: its duration and, if it failed, the reason.
    pub fn reconciled(
        &self,
        controller: &'static str,
        elapsed: Duration,
        failure: Option<&'static str>,
    ) {
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        self.reconcile_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Some(reason) = failure {
            self.failures
                .get_or_create(&FailureLabels { controller, reason })
                .inc();
        }
    }

    /// Records a failed sync (reported in status, not a reconcile error) by reason.
    pub fn sync_failed(&self, controller: &'static str, reason: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { controller, reason })
            .inc();
    }

    /// Counts pods the operator deleted to roll pool `pool` (`<role>/<pool>`).
    pub fn pods_restarted(&self, namespace: &str, cluster: &str, pool: &str, count: u64) {
        self.pod_restarts
            .get_or_create(&pool_labels(namespace, cluster, pool))
            .inc_by(count);
    }

    /// Pods the operator deleted so far to roll pool `pool` (`<role>/<pool>`).
    pub fn restarts_of(&self, namespace: &str, cluster: &str, pool: &str) -> u64 {
        self.pod_restarts
            .get_or_create(&pool_labels(namespace, cluster, pool))
            .get()
    }

    /// Text exposition for `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encode metrics");
        out
    }
}

fn pool_labels(namespace: &str, cluster: &str, pool: &str) -> PoolLabels {
    PoolLabels {
        namespace: namespace.into(),
        cluster: cluster.into(),
        pool: pool.into(),
    }
}

/// Feeds the Pinot client's per-call reports into [`Metrics::pinot_calls`].
pub struct PinotCallMetrics(pub Arc<Metrics>);

impl CallObserver for PinotCallMetrics {
    fn observe(&self, endpoint: &'static str, outcome: CallOutcome, _elapsed: Duration) {
        let outcome = match outcome {
            CallOutcome::Ok => "ok".to_owned(),
            CallOutcome::HttpError(code) => code.to_string(),
            CallOutcome::Transport => "unreachable".to_owned(),
        };
        self.0
            .pinot_calls
            .get_or_create(&PinotCallLabels { endpoint, outcome })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_reconciles_failures_and_pinot_calls() {
        let metrics = Arc::new(Metrics::default());
        metrics.reconciled(
            "pinottable",
            Duration::from_millis(20),
            Some("PinotUnreachable"),
        );
        PinotCallMetrics(metrics.clone()).observe(
            "GET /schemas/{name}",
            CallOutcome::HttpError(404),
            Duration::ZERO,
        );
        let text = metrics.encode();
        assert!(
            text.contains(r#"pinot_operator_reconciles_total{controller="pinottable"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"reason="PinotUnreachable""#), "{text}");
        assert!(
            text.contains(r#"endpoint="GET /schemas/{name}",outcome="404""#),
            "{text}"
        );
    }
}

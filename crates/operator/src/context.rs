//! What every reconcile shares: the Kubernetes client, the watched stores, the Pinot
//! clients, the Event recorder, metrics and settings.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, Recorder, Reporter};
use kube::runtime::{controller, watcher};

use crate::metrics::{Metrics, PinotCallMetrics};
use crate::pinot::PinotClients;
use crate::stores::{Stores, Writers, stores};

/// Reconciles each controller runs at once unless told otherwise. Unbounded, a bulk
/// apply of 1,000 objects held 1,000 Pinot requests, their buffers and connections at
/// once, for no gain: Pinot creates tables one at a time.
pub const DEFAULT_CONCURRENCY: u16 = 16;

pub struct Context {
    pub client: Client,
    reporter: Reporter,
    pub metrics: Arc<Metrics>,
    /// How often content is compared with Pinot even when nothing changed in
    /// Kubernetes, which is what reverts drift made directly in Pinot.
    pub resync: Duration,
    /// Namespace to watch, or all namespaces when `None`.
    pub namespace: Option<String>,
    /// Pinot clients of every controller, one per cluster and use.
    pub pinot: PinotClients,
    /// Plain HTTP, for ZooKeeper's AdminServer.
    pub http: reqwest::Client,
    /// Watched objects, read from memory.
    pub stores: Stores,
    /// What the content controllers remember of Pinot between syncs.
    pub known: crate::content::known::Known,
    writers: Mutex<Writers>,
    /// Reconciles each controller runs at once.
    concurrency: u16,
    /// The Kubernetes cluster's DNS domain, which Pinot instance ids end in.
    pub cluster_domain: String,
    /// Label selector the clusters, schemas, tables and tenants this operator
    /// manages must match; `None`: all of them.
    pub selector: Option<String>,
}

impl Context {
    pub fn new(
        client: Client,
        metrics: Arc<Metrics>,
        resync: Duration,
        namespace: Option<String>,
    ) -> Self {
        let reporter = Reporter {
            controller: crate::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        let (stores, writers) = stores();
        Context {
            client,
            reporter,
            pinot: PinotClients::new(Arc::new(PinotCallMetrics(metrics.clone()))),
            http: reqwest::Client::new(),
            metrics,
            resync,
            namespace,
            stores,
            known: Default::default(),
            writers,
            concurrency: DEFAULT_CONCURRENCY,
            cluster_domain: crate::cluster::names::CLUSTER_DOMAIN.into(),
            selector: None,
        }
    }

    /// Manages only the objects matching label selector `selector` (empty: all).
    pub fn with_selector(mut self, selector: &str) -> Self {
        self.selector = (!selector.trim().is_empty()).then(|| selector.to_owned());
        self
    }

    /// How the objects users create (clusters and content) are watched: those the
    /// selector matches, if one is set.
    pub fn managed_objects(&self) -> watcher::Config {
        let config = watcher::Config::default();
        match &self.selector {
            Some(selector) => config.labels(selector),
            None => config,
        }
    }

    /// Builds DNS names (and expects Pinot instance ids) in `domain`.
    pub fn with_cluster_domain(mut self, domain: &str) -> Self {
        self.cluster_domain = domain.into();
        self
    }

    /// Runs at most `concurrency` reconciles at once in each controller (0: unbounded).
    pub fn with_concurrency(mut self, concurrency: u16) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// When to compare an object with Pinot again: the resync interval, give or take
    /// 10 %. Objects created together would otherwise resync together forever, and a
    /// burst of 1,000 resyncs queues every real change behind it (reaction p99 went
    /// from 0.15 s to 1.05 s with 16 reconciles at once).
    pub fn next_resync(&self) -> Duration {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        jittered(self.resync, random as f64 / u64::MAX as f64)
    }

    /// The writing ends of the stores, for the controllers whose watches feed them.
    pub fn writers(&self) -> MutexGuard<'_, Writers> {
        self.writers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings every controller runs with.
    pub fn controller_config(&self) -> controller::Config {
        controller::Config::default().concurrency(self.concurrency)
    }

    /// An `Api` for kind `K` over the watched namespace(s).
    pub fn api<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        match &self.namespace {
            Some(ns) => kube::Api::namespaced(self.client.clone(), ns),
            None => kube::Api::all(self.client.clone()),
        }
    }

    pub fn cluster_api(&self) -> kube::Api<api::PinotCluster> {
        self.api()
    }

    /// Publishes an Event; a failure to do so is logged, never fatal.
    ///
    /// Each Event gets a fresh `Recorder`: a shared one keeps every Event it sent for
    /// six minutes, to fold repeats into a series. The controllers publish only when a
    /// state changes, so there are no repeats to fold, and after a bulk create of 2,000
    /// objects that cache alone held 9 MiB.
    pub async fn publish(&self, event: &Event, reference: &ObjectReference) {
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        if let Err(error) = recorder.publish(event, reference).await {
            tracing::warn!(%error, reason = %event.reason, "could not publish Event");
        }
    }
}

/// `base` scaled by a factor between 0.9 and 1.1, picked by `unit` in [0, 1].
fn jittered(base: Duration, unit: f64) -> Duration {
    base.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resyncs_spread_over_ten_percent_either_side() {
        let base = Duration::from_secs(60);
        assert_eq!(jittered(base, 0.0), Duration::from_secs(54));
        assert_eq!(jittered(base, 0.5), base);
        assert_eq!(jittered(base, 1.0), Duration::from_secs(66));
        assert_eq!(jittered(base, 7.0), Duration::from_secs(66));
    }
}

//! What every reconcile shares: the Kubernetes client, the Event recorder, metrics
//! and settings.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, Recorder, Reporter};

use crate::content::clients::PinotClients;
use crate::metrics::Metrics;

pub struct Context {
    pub client: Client,
    recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// How often content is compared with Pinot even when nothing changed in
    /// Kubernetes, which is what reverts drift made directly in Pinot.
    pub resync: Duration,
    /// Namespace to watch, or all namespaces when `None`.
    pub namespace: Option<String>,
    /// Pinot clients of the content controllers, one per cluster.
    pub pinot_clients: PinotClients,
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
        let recorder = Recorder::new(client.clone(), reporter);
        Context {
            client,
            recorder,
            metrics,
            resync,
            namespace,
            pinot_clients: PinotClients::default(),
        }
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
    pub async fn publish(&self, event: &Event, reference: &ObjectReference) {
        if let Err(error) = self.recorder.publish(event, reference).await {
            tracing::warn!(%error, reason = %event.reason, "could not publish Event");
        }
    }
}

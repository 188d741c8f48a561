//! What the brokers route, read only while server pods are about to restart or wait
//! for their readiness gate: whether those servers have `queriesDisabled` set, and,
//! per broker pod, which instances a query on each table they host would go to. The
//! decisions are [`crate::cluster::plan::quiesce`]'s and
//! [`crate::cluster::plan::routable`]'s.

use std::collections::{BTreeMap, BTreeSet};

use pinot_client::PinotClient;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredCluster;
use crate::cluster::names::{Naming, pod_fqdn};
use crate::cluster::observe::workloads::Observed;

/// table (with type) -> segment -> every instance the broker was seen routing it to.
pub type TableRoutes = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// The brokers' view of the servers about to restart or waiting for their gate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    /// Those instances that have `queriesDisabled` set.
    pub disabled: BTreeSet<String>,
    /// Per broker pod, its routes, or why it could not be asked.
    pub brokers: BTreeMap<String, Result<TableRoutes, String>>,
}

/// A table to ask every broker about, and how many times: a balanced broker picks
/// one replica per segment per query, rotating, so asking as many times as a segment
/// has replicas shows every replica it routes to (when no query came in between).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub table: String,
    pub times: usize,
}

/// A broker pod that receives queries (ready, not terminating), to ask for its routes.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerPod {
    pub name: String,
    pub fqdn: String,
    /// Its plain query port.
    pub port: i32,
}

/// Every broker pod of the cluster that receives queries.
pub fn broker_pods(
    desired: &DesiredCluster,
    observed: &Observed,
    naming: &Naming<'_>,
) -> Vec<BrokerPod> {
    let mut out = Vec::new();
    for pool in desired
        .pools
        .iter()
        .filter(|p| p.id.component == Component::Broker)
    {
        let (Some(port), Some(pods)) = (pool.instance_port, observed.pool(pool.workload())) else {
            continue;
        };
        let service = pool.id.headless_service(naming.cluster);
        for pod in pods.pods.iter().filter(|p| p.ready && !p.terminating) {
            out.push(BrokerPod {
                name: pod.name.clone(),
                fqdn: pod_fqdn(&pod.name, &service, naming.namespace, naming.domain),
                port,
            });
        }
    }
    out
}

/// Reads the flags of `instances` from the controller and the routes of `samples`
/// from every broker (or why a broker's client could not be built).
pub async fn read(
    controller: &PinotClient,
    brokers: &[(String, Result<PinotClient, String>)],
    instances: &[String],
    samples: &[Sample],
) -> Routing {
    let mut disabled = BTreeSet::new();
    for id in instances {
        // An instance that cannot be read counts as not disabled: it gets disabled.
        if let Ok(Some(instance)) = controller.get_instance(id).await
            && instance.queries_disabled
        {
            disabled.insert(id.clone());
        }
    }
    let mut routing = Routing {
        disabled,
        brokers: BTreeMap::new(),
    };
    for (pod, broker) in brokers {
        let routes = match broker {
            Ok(broker) => routes(broker, samples).await.map_err(|e| e.to_string()),
            Err(why) => Err(why.clone()),
        };
        routing.brokers.insert(pod.clone(), routes);
    }
    routing
}

async fn routes(
    broker: &PinotClient,
    samples: &[Sample],
) -> Result<TableRoutes, pinot_client::Error> {
    let mut out = TableRoutes::new();
    for sample in samples {
        let table = out.entry(sample.table.clone()).or_default();
        for _ in 0..sample.times {
            for (instance, segments) in broker.routing_table(&sample.table).await? {
                for segment in segments {
                    table.entry(segment).or_default().insert(instance.clone());
                }
            }
        }
    }
    Ok(out)
}

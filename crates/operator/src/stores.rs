//! The watched objects every reconcile reads from memory instead of asking the
//! apiserver. Each store is fed by the watch of the controller that owns it: the
//! cluster controller's (`PinotCluster`, its StatefulSets and pods) and the table
//! controller's watch of the schemas its tables wait for (`PinotSchema`). Secrets are not here: they are read by name, so the
//! operator needs no right to list or watch them.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use api::{PinotCluster, PinotSchema};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::core::NamespaceResourceScope;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

/// The reading ends.
#[derive(Clone)]
pub struct Stores {
    pub clusters: Store<PinotCluster>,
    pub schemas: Store<PinotSchema>,
    /// The operator's StatefulSets (labelled as managed by it).
    pub statefulsets: Store<StatefulSet>,
    /// The pods of those StatefulSets.
    pub pods: Store<Pod>,
    /// The claims of those pods (labelled with their cluster by the StatefulSet
    /// controller, from the selector).
    pub claims: Store<PersistentVolumeClaim>,
}

/// The writing ends, each taken once by the controller whose watch feeds it.
pub struct Writers {
    clusters: Option<Writer<PinotCluster>>,
    schemas: Option<Writer<PinotSchema>>,
    statefulsets: Option<Writer<StatefulSet>>,
    pods: Option<Writer<Pod>>,
    claims: Option<Writer<PersistentVolumeClaim>>,
}

/// Empty stores and their writers.
pub fn stores() -> (Stores, Mutex<Writers>) {
    let (clusters, cluster_writer) = reflector::store();
    let (schemas, schema_writer) = reflector::store();
    let (statefulsets, statefulset_writer) = reflector::store();
    let (pods, pod_writer) = reflector::store();
    let (claims, claim_writer) = reflector::store();
    let stores = Stores {
        clusters,
        schemas,
        statefulsets,
        pods,
        claims,
    };
    let writers = Writers {
        clusters: Some(cluster_writer),
        schemas: Some(schema_writer),
        statefulsets: Some(statefulset_writer),
        pods: Some(pod_writer),
        claims: Some(claim_writer),
    };
    (stores, Mutex::new(writers))
}

/// Takes a writer; a second taker is a wiring bug (two watches feeding one store).
fn take<K: kube::Resource<DynamicType = ()> + Clone>(writer: &mut Option<Writer<K>>) -> Writer<K> {
    writer
        .take()
        .expect("each store is fed by exactly one controller per Context")
}

impl Writers {
    pub fn clusters(&mut self) -> Writer<PinotCluster> {
        take(&mut self.clusters)
    }

    pub fn schemas(&mut self) -> Writer<PinotSchema> {
        take(&mut self.schemas)
    }

    pub fn statefulsets(&mut self) -> Writer<StatefulSet> {
        take(&mut self.statefulsets)
    }

    pub fn pods(&mut self) -> Writer<Pod> {
        take(&mut self.pods)
    }

    pub fn claims(&mut self) -> Writer<PersistentVolumeClaim> {
        take(&mut self.claims)
    }
}

/// Object `name` in `namespace`, from `store`. A miss is confirmed with one GET: the
/// store may not have seen an object created a moment ago, and "not found" is
/// reported to users.
pub async fn find<K>(
    store: &Store<K>,
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Arc<K>>, kube::Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned,
{
    if let Some(found) = store.get(&ObjectRef::new(name).within(namespace)) {
        return Ok(Some(found));
    }
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.get_opt(name).await?.map(Arc::new))
}

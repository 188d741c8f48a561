//! Real pods: a `PinotCluster` the operator deploys runs real Pinot on the test
//! environment's real node (kubelet, containerd, CNI, kube-proxy, CoreDNS), and the
//! operator runs in the cluster the way users install it: an image built here from the
//! release binary, `helm install` of the chart, two replicas with leader election, the
//! chart's RBAC as its only permissions.
//!
//! One cluster goes through every stage in order, because a deployed Pinot takes
//! minutes to come up on a 2-core machine:
//!
//! - **deploy**: managed ZooKeeper (3 members), 1 controller, 2 brokers, servers in two pools of
//!   2, 1 minion, basic auth; it becomes Available and Pinot lists every instance,
//!   alive, with its pool's tags and Pinot pool;
//! - **content and data**: a schema and a table with replication 2 in replica groups
//!   across the two server pools, synced by the operator as admin; rows uploaded
//!   through the controller Service are answered by the broker Service, to the reader,
//!   and refused to an anonymous client;
//! - **rollouts under load**: a client queries the broker every 100 ms through a server
//!   config change (`PoolByPool`), a broker config change, an image change
//!   (`PoolByPool`, the leading operator pod deleted midway) and an image change
//!   (`OneByOne`), a controller restart and a ZooKeeper rollout (3 members, the
//!   leader restarted last); each rollout keeps the role and pool order, consults
//!   Pinot's gates, asks the brokers before restarting servers, restarts no pod twice
//!   and loses no rows, and no query fails (a partial answer is asserted away on
//!   the OFFLINE table, reported on the REALTIME one);
//! - **sole replicas**: with a table whose two replicas both live in server pool `a`, a
//!   `PoolByPool` rollout restarts pool `a` one pod at a time and pool `b` whole;
//! - **scale-in**: a server pool shrinks from 2 to 1, its segments move first, the
//!   instance leaves Pinot, no row is lost;
//! - **storage**: the servers' `storage.size` grows from 1Gi to 2Gi under load; every
//!   claim grows in place, the StatefulSets are re-created around the running pods,
//!   no pod restarts and no query fails (`storage.rs`);
//! - **crash**: a server pod force-deleted under load comes back with its segments
//!   ONLINE;
//! - **node drain**: every pod evicted at once, budgets honoured (`drain.rs`);
//! - **realtime**: throughout, a producer writes to Kafka on the node's bridge and a
//!   REALTIME table with a replica per server pool consumes it under its own query
//!   load; at the end every message is in Pinot exactly once (`realtime.rs`).
//!
//! The figures go to stderr and to `<target>/real-pods-report.md` (scripts/test.sh
//! prints it).

mod common;
#[path = "real_pods/control_plane.rs"]
mod control_plane;
#[path = "real_pods/drain.rs"]
mod drain;
#[path = "real_pods/install.rs"]
mod install;
#[path = "real_pods/realtime.rs"]
mod realtime;
#[path = "real_pods/restarts.rs"]
mod restarts;
#[path = "real_pods/rig.rs"]
mod rig;
#[path = "real_pods/stages.rs"]
mod stages;
#[path = "real_pods/storage.rs"]
mod storage;

use rig::Rig;
use testenv::kubernetes::Kubernetes;

#[tokio::test]
async fn a_deployed_cluster_runs_real_pinot_through_rollouts_scale_in_and_a_crash() {
    let k8s = Kubernetes::shared_with_real_node();
    let client = k8s.client().await;
    let ns = k8s.create_namespace("real").await;
    let image = install::operator_image(k8s);
    install::install(k8s, &image, &ns, 10);
    let rig = Rig {
        k8s,
        client,
        ns,
        cluster: "rt".into(),
    };
    let mut report = stages::Report::default();
    stages::deploy(&rig, &mut report).await;
    let data = stages::content_and_data(&rig).await;
    let stream = realtime::start(&rig).await;
    let restarts = stages::watch_restarts(&rig).await;
    stages::rollouts_under_load(&rig, &data, &stream.query, &restarts, &mut report).await;
    stages::sole_replicas(&rig, &stream.query, &restarts, &mut report).await;
    stages::scale_in(&rig, &data, &mut report).await;
    storage::grow(&rig, &data, &mut report).await;
    stages::crash(&rig, &data, &mut report).await;
    drain::drain(&rig, &data, &stream.query, &mut report).await;
    report.line(realtime::check_exactly_once(&rig, stream).await);
    report.write();
}

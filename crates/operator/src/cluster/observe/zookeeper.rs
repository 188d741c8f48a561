//! Which member leads a managed ZooKeeper ensemble, read only while an ensemble of
//! more than one member has pods to restart. The rollout restarts the leader last
//! ([`crate::cluster::plan::rollout`]): the ensemble then elects once per rollout,
//! not once per member it loses.

use std::time::Duration;

use serde::Deserialize;

use crate::cluster::component::Component;
use crate::cluster::desired::DesiredCluster;
use crate::cluster::desired::ZOOKEEPER_ADMIN_PORT;
use crate::cluster::names::{Naming, PoolId, pod_fqdn};
use crate::cluster::observe::workloads::Observed;

/// A member answers its AdminServer at once or not at all.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// What the ensemble says about its leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quorum {
    /// The pod whose member leads.
    Led(String),
    /// No member could say (why).
    Unknown(String),
}

/// A member to ask: its pod and AdminServer address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub pod: String,
    pub url: String,
}

/// The members to ask, or `None` when no rollout needs the leader: a standalone
/// server, an ensemble with nothing to restart, or a cluster on external ZooKeeper.
pub fn members_to_ask(
    desired: &DesiredCluster,
    observed: &Observed,
    naming: &Naming<'_>,
) -> Option<Vec<Member>> {
    let pool = desired
        .pools
        .iter()
        .find(|p| p.id.component == Component::Zookeeper && p.replicas > 1)?;
    let running = observed.pool(pool.workload())?;
    let revision = running.set.as_ref()?.update_revision.as_deref();
    running
        .pods
        .iter()
        .any(|p| p.revision.as_deref() != revision)
        .then_some(())?;
    let service = PoolId::zookeeper().headless_service(naming.cluster);
    let members = running
        .pods
        .iter()
        .filter(|p| p.ready && !p.terminating)
        .map(|p| Member {
            pod: p.name.clone(),
            url: format!(
                "http://{}:{ZOOKEEPER_ADMIN_PORT}/commands/leader",
                pod_fqdn(&p.name, &service, naming.namespace, naming.domain)
            ),
        })
        .collect();
    Some(members)
}

/// The AdminServer's `leader` command (ZooKeeper 3.6 and later). A member outside the
/// quorum answers `200` with only an `error`.
#[derive(Deserialize)]
struct LeaderAnswer {
    is_leader: Option<bool>,
    error: Option<String>,
}

/// Asks each member whether it leads; the first that says so is the leader.
pub async fn read(http: &reqwest::Client, members: &[Member]) -> Quorum {
    let mut answers = Vec::new();
    for member in members {
        match ask(http, &member.url).await {
            Ok(true) => return Quorum::Led(member.pod.clone()),
            Ok(false) => answers.push(format!("{}: follows", member.pod)),
            Err(why) => answers.push(format!("{}: {why}", member.pod)),
        }
    }
    if answers.is_empty() {
        return Quorum::Unknown("no member is ready".into());
    }
    Quorum::Unknown(format!("no member says it leads ({})", answers.join("; ")))
}

async fn ask(http: &reqwest::Client, url: &str) -> Result<bool, String> {
    let answer: LeaderAnswer = http
        .get(url)
        .timeout(ASK_TIMEOUT)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    match (answer.is_leader, answer.error) {
        (Some(leads), _) => Ok(leads),
        (None, error) => Err(error.unwrap_or_else(|| "no is_leader in the answer".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::desired::build;
    use crate::cluster::desired::tests::{HETEROGENEOUS, NAMING};
    use crate::cluster::names::CLUSTER_DOMAIN;
    use crate::cluster::observe::workloads::{ObservedPod, ObservedPool, ObservedSet};
    use crate::secrets::SecretValues;

    fn pod(ordinal: i32, revision: &str, ready: bool) -> ObservedPod {
        ObservedPod {
            name: format!("analytics-zookeeper-{ordinal}"),
            uid: format!("uid-{ordinal}"),
            ordinal,
            revision: Some(revision.into()),
            ready,
            ..ObservedPod::default()
        }
    }

    fn observed(pods: Vec<ObservedPod>) -> Observed {
        let mut observed = Observed::default();
        observed.pools.insert(
            "analytics-zookeeper".into(),
            ObservedPool {
                set: Some(ObservedSet {
                    update_revision: Some("new".into()),
                    ..ObservedSet::default()
                }),
                pods,
            },
        );
        observed
    }

    fn desired(zookeeper_replicas: i32) -> DesiredCluster {
        let yaml = HETEROGENEOUS.replace(
            "zookeeper: {managed: {replicas: 1}}",
            &format!("zookeeper: {{managed: {{replicas: {zookeeper_replicas}}}}}"),
        );
        build(
            &serde_norway::from_str(&yaml).unwrap(),
            &SecretValues::new(),
            CLUSTER_DOMAIN,
        )
        .unwrap()
    }

    #[test]
    fn an_ensemble_with_pods_to_restart_asks_its_ready_members() {
        let running = observed(vec![
            pod(0, "new", true),
            pod(1, "old", true),
            pod(2, "old", false),
        ]);
        let members = members_to_ask(&desired(3), &running, &NAMING).unwrap();
        let pods: Vec<&str> = members.iter().map(|m| m.pod.as_str()).collect();
        assert_eq!(pods, ["analytics-zookeeper-0", "analytics-zookeeper-1"]);
        assert_eq!(
            members[0].url,
            "http://analytics-zookeeper-0.analytics-zookeeper-headless.data.svc.cluster.local:8080\
             /commands/leader"
        );
    }

    #[test]
    fn nobody_is_asked_when_nothing_restarts_or_the_server_stands_alone() {
        let settled = observed(vec![pod(0, "new", true), pod(1, "new", true)]);
        assert_eq!(members_to_ask(&desired(3), &settled, &NAMING), None);
        let outdated = observed(vec![pod(0, "old", true)]);
        assert_eq!(members_to_ask(&desired(1), &outdated, &NAMING), None);
    }
}

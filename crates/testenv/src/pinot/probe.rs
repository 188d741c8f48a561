//! Readiness checks against the running JVMs, and a loop that waits for them.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use super::processes::Processes;

const POLL: Duration = Duration::from_millis(500);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP client for probes; timeouts keep a hung JVM from stalling the wait loop.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

/// True when `GET url` answers 200; a refused connection (not listening yet) is `false`.
pub async fn http_ok(client: &reqwest::Client, url: &str) -> anyhow::Result<bool> {
    match client.get(url).send().await {
        Ok(response) => Ok(response.status().is_success()),
        Err(e) if e.is_connect() => Ok(false),
        Err(e) => Err(e).with_context(|| format!("GET {url}")),
    }
}

#[derive(Deserialize)]
struct Instances {
    instances: Vec<String>,
}

/// Ids of the instances that have registered with the cluster (`GET /instances`), even
/// if they have since stopped.
pub async fn registered_instances(
    client: &reqwest::Client,
    controller: &str,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{controller}/instances");
    let body: Instances = client
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .with_context(|| format!("GET {url}"))?;
    Ok(body.instances)
}

/// Ids of the instances with a live Helix session: `/instances` keeps stopped ones, so
/// liveness comes from ZooKeeper's `LIVEINSTANCES`, through the controller's ZK browser.
pub async fn live_instances(
    client: &reqwest::Client,
    controller: &str,
    cluster: &str,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{controller}/zk/ls");
    let path = format!("/{cluster}/LIVEINSTANCES");
    client
        .get(&url)
        .query(&[("path", path.as_str())])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .with_context(|| format!("GET {url}?path={path}"))
}

/// Names of the `expected` ids missing from `actual`.
pub fn missing<'a>(expected: &'a [String], actual: &[String]) -> Vec<&'a str> {
    expected
        .iter()
        .filter(|id| !actual.contains(id))
        .map(String::as_str)
        .collect()
}

/// Polls `probe` until it returns `Ok(true)`, failing at `timeout` (with the last probe
/// error) or as soon as one of `processes` has exited.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    processes: &mut Processes,
    probe: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    crate::wait::wait_until(what, timeout, POLL, processes, probe).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_missing_instances() {
        let expected = vec!["Broker_h_1".to_owned(), "Server_h_2".to_owned()];
        let actual = vec!["Server_h_2".to_owned(), "Minion_h_3".to_owned()];
        assert_eq!(missing(&expected, &actual), vec!["Broker_h_1"]);
    }
}

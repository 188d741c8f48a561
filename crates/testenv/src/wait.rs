//! Waiting for components to come up, shared by the Kubernetes and Pinot halves.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

/// A set of child processes that can say whether they all still run.
pub trait Supervised {
    /// An error naming the process that exited (with its log tail), if one did.
    fn ensure_running(&mut self) -> anyhow::Result<()>;
}

/// Polls `probe` every `poll` until it returns `Ok(true)`, failing at `timeout` (with
/// the last probe error) or as soon as one of `processes` has exited. Probe errors
/// count as "not yet": components come up in any order.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    processes: &mut impl Supervised,
    mut probe: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        processes.ensure_running()?;
        let last_error = match probe().await {
            Ok(true) => return Ok(()),
            Ok(false) => None,
            Err(e) => Some(e),
        };
        if Instant::now() >= deadline {
            match last_error {
                Some(e) => bail!("timed out after {timeout:?} waiting for {what}: {e:#}"),
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(poll).await;
    }
}

/// Runs the future made by `make` on a fresh runtime on a scoped thread, so a caller
/// inside a `#[tokio::test]` neither blocks its own runtime nor nests runtimes.
pub fn on_own_runtime<'a, F, Fut, T>(make: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut + Send + 'a,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(make())
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the start-up thread panicked")))
    })
}

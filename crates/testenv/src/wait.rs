//! Waiting: for components to come up (shared by the Kubernetes and Pinot halves), and
//! [`eventually`], the one poll helper tests use to wait for something to happen.

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

/// What one probe of [`eventually`] saw: the value waited for, or the state it observed
/// instead (shown when the wait times out).
pub trait Probe<T> {
    fn into_result(self) -> Result<T, String>;
}

impl Probe<()> for bool {
    fn into_result(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("false".into()) }
    }
}

impl<T> Probe<T> for Option<T> {
    fn into_result(self) -> Result<T, String> {
        self.ok_or_else(|| "None".into())
    }
}

/// `Err` carries the observed state, e.g. `Err(format!("2 of 3 ready: {pods:?}"))`.
impl<T, E: std::fmt::Display> Probe<T> for Result<T, E> {
    fn into_result(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Polls `probe` every `interval` until it yields its value, and returns it. After
/// `timeout` it panics naming `what` and the state the last probe observed: a test
/// waits on something observable happening, never on a fixed time.
pub async fn eventually<T, P, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    probe: F,
) -> T
where
    P: Probe<T>,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    eventually_with(what, timeout, interval, String::new, probe).await
}

/// [`eventually`], with `diag()` (e.g. a listing of the namespace) added to the panic.
pub async fn eventually_with<T, P, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    diag: impl FnOnce() -> String,
    mut probe: F,
) -> T
where
    P: Probe<T>,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    let started = Instant::now();
    let mut probes = 0u32;
    loop {
        probes += 1;
        let last = match probe().await.into_result() {
            Ok(value) => return value,
            Err(last) => last,
        };
        // Checked after the probe, so the last look is at or past the deadline.
        if started.elapsed() >= timeout {
            let diag = diag();
            let diag = if diag.is_empty() {
                diag
            } else {
                format!("\n{diag}")
            };
            panic!(
                "timed out after {timeout:?} ({probes} probes) waiting for {what}\nlast observed: {last}{diag}"
            );
        }
        tokio::time::sleep(interval).await;
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

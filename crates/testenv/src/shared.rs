//! What the shared environments ([`Kubernetes::shared`](crate::kubernetes::Kubernetes::shared),
//! [`Pinot::shared`](crate::pinot::Pinot::shared)) have in common: started once per
//! test binary on first use, and torn down at exit.

use std::sync::{Mutex, MutexGuard, Once, OnceLock};

use tempfile::TempDir;

/// An environment that can stop its processes and remove its directory.
pub(crate) trait Environment: Send + Sync + 'static {
    /// Idempotent, and never panics: it also runs from `atexit`.
    fn teardown(&self);
}

/// The environment of this test binary in a `static`, started on first use. A failed
/// start is kept too, so every later caller gets the same panic rather than a second
/// slow attempt.
pub(crate) struct Shared<T>(OnceLock<Result<T, String>>);

impl<T: Environment> Shared<T> {
    pub const fn new() -> Shared<T> {
        Shared(OnceLock::new())
    }

    /// The environment, started by `start` on first use; panics with the reason if
    /// it cannot start.
    pub fn get_or_start(&'static self, start: impl FnOnce() -> anyhow::Result<T>) -> &'static T {
        let result = self.0.get_or_init(|| {
            let result = start().map_err(|e| format!("{e:#}"));
            if result.is_ok() {
                at_exit(self);
            }
            result
        });
        match result {
            Ok(environment) => environment,
            Err(e) => panic!("{e}"),
        }
    }
}

trait AtExit: Sync {
    fn run(&self);
}

impl<T: Environment> AtExit for Shared<T> {
    fn run(&self) {
        if let Some(Ok(environment)) = self.0.get() {
            environment.teardown();
        }
    }
}

/// The started environments, in start order.
static STARTED: Mutex<Vec<&'static dyn AtExit>> = Mutex::new(Vec::new());

/// Tears `shared` down at exit: statics are never dropped, and without this every
/// test run would leave its directory (etcd and ZooKeeper data, segments, logs,
/// volumes) and a real node behind.
fn at_exit(shared: &'static dyn AtExit) {
    static REGISTER: Once = Once::new();
    lock(&STARTED).push(shared);
    // SAFETY: registers a plain `extern "C"` function that never unwinds.
    REGISTER.call_once(|| unsafe {
        libc::atexit(teardown_started);
    });
}

extern "C" fn teardown_started() {
    // Last started first, as separate `atexit` registrations would run.
    for shared in lock(&STARTED).iter().rev() {
        // Unwinding out of an `extern "C"` function aborts; teardown does not panic,
        // but a poisoned lock or a panicking drop must not turn exit into an abort.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.run()));
    }
}

/// Removes the environment's directory, or keeps it when `TESTENV_KEEP` is set.
pub(crate) fn remove_dir(dir: &Mutex<Option<TempDir>>) {
    let dir = lock(dir).take();
    if std::env::var_os("TESTENV_KEEP").is_some() {
        let _ = dir.map(TempDir::keep);
    }
    // Otherwise `dir` is dropped here, which deletes it.
}

/// A lock that survives a panic in another holder: teardown must always proceed.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

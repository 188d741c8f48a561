//! What the content controllers know of Pinot between syncs, so a create or a change
//! need not read first: each cluster's tenants, and the follow-up fingerprint of the
//! table config each PinotTable applied last. Both are hints that save a read, never
//! the truth: a miss or any failure sends the sync back to reading Pinot, and every
//! resync still compares with what Pinot has.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pinot_client::Tenants;

use super::follow_up::Fingerprint;

#[derive(Default)]
pub struct Known {
    pub tenants: TenantCache,
    pub tables: AppliedTables,
}

/// The tenants of each cluster (`namespace/name controller-url`) as Pinot listed
/// them last. A table naming a tenant the list lacks refreshes it; a failed sync or a
/// tenant written by the operator drops it.
#[derive(Default)]
pub struct TenantCache {
    listed: Mutex<HashMap<String, Listed>>,
    /// One listing at a time per cluster, so the syncs that miss together share one
    /// (a bulk apply of 1,000 tables once made 9 listings within the same 100 ms).
    listing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Clone)]
struct Listed {
    tenants: Tenants,
    at: Instant,
}

impl TenantCache {
    pub fn get(&self, cluster: &str) -> Option<Tenants> {
        lock(&self.listed).get(cluster).map(|l| l.tenants.clone())
    }

    pub fn put(&self, cluster: &str, tenants: Tenants) {
        let listed = Listed {
            tenants,
            at: Instant::now(),
        };
        lock(&self.listed).insert(cluster.to_owned(), listed);
    }

    pub fn forget(&self, cluster: &str) {
        lock(&self.listed).remove(cluster);
    }

    /// The cluster's tenants as listed now: by `list`, or by another sync that listed
    /// them after this one asked (while it waited its turn).
    pub async fn refresh<E>(
        &self,
        cluster: &str,
        list: impl Future<Output = Result<Tenants, E>>,
    ) -> Result<Tenants, E> {
        let asked = Instant::now();
        let turn = Arc::clone(lock(&self.listing).entry(cluster.to_owned()).or_default());
        let _one_listing_at_a_time = turn.lock().await;
        let since_asked = lock(&self.listed)
            .get(cluster)
            .filter(|l| l.at >= asked)
            .cloned();
        if let Some(listed) = since_asked {
            return Ok(listed.tenants);
        }
        let tenants = list.await?;
        self.put(cluster, tenants.clone());
        Ok(tenants)
    }
}

/// A table config the operator applied (or found in sync): its hash, as status records
/// it, and the fingerprint a later change compares with to pick its follow-ups.
struct Applied {
    hash: String,
    fingerprint: Fingerprint,
    at: Instant,
}

/// The last applied config of each PinotTable, by object uid. Every sync that leaves
/// Pinot matching the spec refreshes its entry, so an entry left alone for
/// [`AppliedTables::MAX_AGE`] resyncs belongs to a deleted (or ignored) object and goes.
#[derive(Default)]
pub struct AppliedTables {
    entries: Mutex<HashMap<String, Applied>>,
    swept: Mutex<Option<Instant>>,
}

impl AppliedTables {
    /// Resync intervals an entry outlives without a sync.
    const MAX_AGE: u32 = 3;

    /// The fingerprint of what `uid` applied, if that is the config of hash `applied`
    /// (status's `appliedHash`): after a restart, or a sync by another replica, there
    /// is none and the sync reads Pinot instead.
    pub fn recall(&self, uid: &str, applied: &str) -> Option<Fingerprint> {
        let entries = lock(&self.entries);
        let entry = entries.get(uid).filter(|e| e.hash == applied)?;
        Some(entry.fingerprint.clone())
    }

    pub fn remember(&self, uid: &str, hash: String, fingerprint: Fingerprint, resync: Duration) {
        let now = Instant::now();
        let max_age = resync * Self::MAX_AGE;
        let mut entries = lock(&self.entries);
        let mut swept = lock(&self.swept);
        if swept.is_none_or(|at| now.duration_since(at) > max_age) {
            entries.retain(|_, e| now.duration_since(e.at) <= max_age);
            *swept = Some(now);
        }
        let entry = Applied {
            hash,
            fingerprint,
            at: now,
        };
        entries.insert(uid.to_owned(), entry);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fingerprint(replication: &str) -> Fingerprint {
        Fingerprint::of(&json!({"segmentsConfig": {"replication": replication}}))
    }

    #[test]
    fn a_fingerprint_is_recalled_only_for_the_hash_status_records() {
        let tables = AppliedTables::default();
        let resync = Duration::from_secs(60);
        tables.remember("uid-1", "h1".into(), fingerprint("1"), resync);
        assert_eq!(tables.recall("uid-1", "h1"), Some(fingerprint("1")));
        // Status says another config was applied since (another replica, a restart).
        assert_eq!(tables.recall("uid-1", "h0"), None);
        assert_eq!(tables.recall("uid-2", "h1"), None);
    }

    #[test]
    fn entries_no_sync_refreshed_for_three_resyncs_are_swept() {
        let tables = AppliedTables::default();
        let resync = Duration::from_millis(10);
        tables.remember("gone", "h".into(), fingerprint("1"), resync);
        std::thread::sleep(resync * 4);
        tables.remember("kept", "h".into(), fingerprint("1"), resync);
        assert_eq!(tables.len(), 1);
        assert!(tables.recall("kept", "h").is_some());
    }

    fn default_tenants() -> Tenants {
        Tenants {
            server_tenants: vec!["DefaultTenant".into()],
            broker_tenants: vec!["DefaultTenant".into()],
        }
    }

    #[tokio::test]
    async fn syncs_that_miss_together_share_one_listing() {
        let cache = Arc::new(TenantCache::default());
        let listings = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let syncs = (0..16).map(|_| {
            let (cache, listings) = (Arc::clone(&cache), Arc::clone(&listings));
            tokio::spawn(async move {
                let list = async {
                    listings.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, ()>(default_tenants())
                };
                cache.refresh("ns/pinot", list).await
            })
        });
        for sync in futures::future::join_all(syncs).await {
            assert_eq!(sync.unwrap(), Ok(default_tenants()));
        }
        assert_eq!(listings.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A miss after that listing lists again: a refresh is never older than the miss.
        let list = async { Ok::<_, ()>(Tenants::default()) };
        assert_eq!(
            cache.refresh("ns/pinot", list).await,
            Ok(Tenants::default())
        );
    }

    #[test]
    fn forgotten_tenants_are_listed_again() {
        let cache = TenantCache::default();
        let tenants = default_tenants();
        cache.put("ns/pinot", tenants.clone());
        assert_eq!(cache.get("ns/pinot"), Some(tenants));
        cache.forget("ns/pinot");
        assert_eq!(cache.get("ns/pinot"), None);
    }
}

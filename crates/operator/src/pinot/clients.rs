//! One Pinot client per cluster and use, reused across reconciles of every
//! controller. Building a client sets up a TLS configuration and a connection pool;
//! doing that on every reconcile cost CPU and most of the operator's memory at 1,000
//! resources (docs/benchmarks.md). A client is rebuilt when its cluster's address,
//! credentials or TLS settings change, and dropped when its cluster is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::PinotCluster;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use pinot_client::{Auth, CallObserver, ClientConfig, PinotClient, TlsConfig};

/// What a client is for, which sets how long it waits and whether it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Content syncs: Pinot's default patience, with retries of transient failures.
    Content,
    /// A cluster reconcile's health checks and upkeep: a reconcile must not stall on
    /// an unreachable Pinot, so one attempt of at most 5 s.
    FailFast,
}

impl Profile {
    fn apply(self, config: &mut ClientConfig) {
        if self == Profile::FailFast {
            config.timeout = Duration::from_secs(5);
            config.max_retries = 0;
        }
    }
}

/// What a cached client was built from; a different one means a new client.
#[derive(Clone, PartialEq)]
struct Fingerprint {
    url: String,
    auth: Option<Auth>,
    tls: TlsConfig,
}

/// `(namespace, cluster, profile)`.
type Key = (String, String, Profile);

/// The clients, and the observer every call reports to (metrics).
pub struct PinotClients {
    cache: Mutex<HashMap<Key, (Fingerprint, PinotClient)>>,
    observer: Arc<dyn CallObserver>,
}

impl PinotClients {
    pub fn new(observer: Arc<dyn CallObserver>) -> Self {
        PinotClients {
            cache: Mutex::default(),
            observer,
        }
    }

    /// The cached client of `cluster` for `profile` if `config` matches what it was
    /// built from, otherwise a new one (which replaces it).
    pub fn get(
        &self,
        cluster: &PinotCluster,
        profile: Profile,
        mut config: ClientConfig,
    ) -> Result<PinotClient, pinot_client::Error> {
        profile.apply(&mut config);
        config.observer = Some(self.observer.clone());
        let fingerprint = Fingerprint {
            url: config.base_url.to_string(),
            auth: config.auth.clone(),
            tls: config.tls.clone(),
        };
        let key = (
            cluster.namespace().unwrap_or_default(),
            cluster.name_any(),
            profile,
        );
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built_from, client)) = cache.get(&key)
            && *built_from == fingerprint
        {
            return Ok(client.clone());
        }
        let client = PinotClient::new(config)?;
        cache.insert(key, (fingerprint, client.clone()));
        Ok(client)
    }

    /// A client of one broker pod (its routing table), built afresh: asked only while
    /// server pods restart, so not worth a cache entry per pod. Fail-fast like the
    /// cluster controller's own client.
    pub fn broker(&self, mut config: ClientConfig) -> Result<PinotClient, pinot_client::Error> {
        Profile::FailFast.apply(&mut config);
        config.observer = Some(self.observer.clone());
        PinotClient::new(config)
    }

    /// Drops the clients of clusters no longer in `clusters` (deleted), with their
    /// connection pools.
    pub fn forget_deleted(&self, clusters: &Store<PinotCluster>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(namespace, name, _), _| {
            let object = ObjectRef::new(name).within(namespace);
            clusters.get(&object).is_some()
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cache.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher;

    use super::*;

    struct Ignore;
    impl CallObserver for Ignore {
        fn observe(&self, _: &'static str, _: pinot_client::CallOutcome, _: Duration) {}
    }

    fn config(url: &str, password: &str) -> ClientConfig {
        let mut config = ClientConfig::new(url.parse().unwrap());
        config.auth = Some(Auth::Basic {
            username: "admin".into(),
            password: password.into(),
        });
        config
    }

    fn cluster(name: &str) -> PinotCluster {
        let yaml = format!("metadata: {{name: {name}, namespace: ns}}\nspec: {{}}");
        serde_norway::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_client_is_reused_until_its_settings_change() {
        let clients = PinotClients::new(Arc::new(Ignore));
        let a = cluster("a");
        clients
            .get(&a, Profile::Content, config("http://a:9000", "p1"))
            .unwrap();
        clients
            .get(&a, Profile::Content, config("http://a:9000", "p1"))
            .unwrap();
        assert_eq!(clients.len(), 1);
        clients
            .get(&a, Profile::Content, config("http://a:9000", "p2"))
            .unwrap();
        let key = ("ns".to_owned(), "a".to_owned(), Profile::Content);
        let auth = clients.cache.lock().unwrap()[&key].0.auth.clone();
        assert_eq!(
            auth,
            Some(Auth::Basic {
                username: "admin".into(),
                password: "p2".into()
            })
        );
        clients
            .get(&a, Profile::FailFast, config("http://a:9000", "p2"))
            .unwrap();
        clients
            .get(
                &cluster("b"),
                Profile::Content,
                config("http://b:9000", "p1"),
            )
            .unwrap();
        assert_eq!(clients.len(), 3);
    }

    #[test]
    fn clients_of_deleted_clusters_are_dropped() {
        let clients = PinotClients::new(Arc::new(Ignore));
        for name in ["kept", "deleted"] {
            clients
                .get(
                    &cluster(name),
                    Profile::Content,
                    config("http://x:9000", "p"),
                )
                .unwrap();
        }
        let mut writer = Writer::<PinotCluster>::default();
        writer.apply_watcher_event(&watcher::Event::Apply(cluster("kept")));
        clients.forget_deleted(&writer.as_reader());
        let left: Vec<_> = clients
            .cache
            .lock()
            .unwrap()
            .keys()
            .map(|k| k.1.clone())
            .collect();
        assert_eq!(left, ["kept"]);
    }
}

//! One Pinot client per cluster, reused across reconciles. Building a client sets up
//! a TLS configuration and a connection pool; doing that on every reconcile cost CPU
//! and most of the operator's memory at 1,000 resources (docs/benchmarks.md). A
//! cluster's client is rebuilt when its address, credentials or TLS settings change.

use std::collections::HashMap;
use std::sync::Mutex;

use pinot_client::{Auth, ClientConfig, PinotClient, TlsConfig};

/// What a cached client was built from; a different one means a new client.
#[derive(Clone, PartialEq)]
struct Fingerprint {
    url: String,
    auth: Option<Auth>,
    tls: TlsConfig,
}

/// Clients keyed by `(namespace, cluster)`.
#[derive(Default)]
pub struct PinotClients {
    cache: Mutex<HashMap<(String, String), (Fingerprint, PinotClient)>>,
}

impl PinotClients {
    /// The cached client of `namespace/cluster` if `config` matches what it was built
    /// from, otherwise a new one (which replaces it).
    pub fn get(
        &self,
        namespace: &str,
        cluster: &str,
        config: ClientConfig,
    ) -> Result<PinotClient, pinot_client::Error> {
        let fingerprint = Fingerprint {
            url: config.base_url.to_string(),
            auth: config.auth.clone(),
            tls: config.tls.clone(),
        };
        let key = (namespace.to_owned(), cluster.to_owned());
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, password: &str) -> ClientConfig {
        let mut config = ClientConfig::new(url.parse().unwrap());
        config.auth = Some(Auth::Basic {
            username: "admin".into(),
            password: password.into(),
        });
        config
    }

    #[test]
    fn a_client_is_reused_until_its_settings_change() {
        let clients = PinotClients::default();
        let len = || clients.cache.lock().unwrap().len();
        clients
            .get("ns", "a", config("http://a:9000", "p1"))
            .unwrap();
        clients
            .get("ns", "a", config("http://a:9000", "p1"))
            .unwrap();
        assert_eq!(len(), 1);
        let fingerprint = |c: &PinotClients| {
            c.cache.lock().unwrap()[&("ns".to_owned(), "a".to_owned())]
                .0
                .auth
                .clone()
        };
        clients
            .get("ns", "a", config("http://a:9000", "p2"))
            .unwrap();
        assert_eq!(
            fingerprint(&clients),
            Some(Auth::Basic {
                username: "admin".into(),
                password: "p2".into()
            })
        );
        clients
            .get("ns", "b", config("http://b:9000", "p1"))
            .unwrap();
        assert_eq!(len(), 2);
    }
}

//! `spec.tls` → HTTPS listeners on controllers and brokers, with the keystore from
//! the user's Secret. Plain HTTP stays on for kubelet probes and Pinot's own traffic.

use super::additions::Additions;
use crate::cluster::component::Component;
use crate::cluster::desired::{read_only_mount, secret_key_volume};
use crate::pinot::access::{CONTROLLER_HTTPS_PORT, ca_ref};
use crate::secrets::SecretValues;
use api::auth::SecretKeyRef;
use api::tls::TlsSpec;

pub const BROKER_HTTPS_PORT: i32 = 8443;
const KEYSTORE: &str = "/var/pinot/tls/keystore.p12";
const VOLUME: &str = "tls";
const KEYSTORE_KEY: &str = "keystore.p12";

/// Secret keys TLS reads: the keystore password, and the CA the operator trusts.
pub fn secret_refs(tls: Option<&TlsSpec>) -> Vec<SecretKeyRef> {
    tls.iter()
        .flat_map(|t| [t.keystore_password_secret_ref.clone(), ca_ref(t)])
        .collect()
}

/// What TLS adds to `component`'s pods (controllers and brokers only).
pub fn additions(tls: &TlsSpec, component: Component, secrets: &SecretValues) -> Additions {
    // The role's plain port (`controller.port`, `pinot.broker.client.queryPort`) keeps
    // its HTTP listener; `access.protocols` adds listeners next to it.
    let (listeners, namespace, https_port) = match component {
        Component::Controller => (
            "controller.access.protocols",
            "controller.tls",
            CONTROLLER_HTTPS_PORT,
        ),
        Component::Broker => (
            "pinot.broker.client.access.protocols",
            "pinot.broker.tls",
            BROKER_HTTPS_PORT,
        ),
        _ => return Additions::default(),
    };
    let mut out = Additions::default();
    let mut set = |key: String, value: String| out.properties.push((key, value));
    set(listeners.into(), "https".into());
    set(format!("{listeners}.https.port"), https_port.to_string());
    set(format!("{namespace}.keystore.path"), KEYSTORE.into());
    set(format!("{namespace}.keystore.type"), "PKCS12".into());
    let password = &tls.keystore_password_secret_ref;
    out.secret_properties.push((
        format!("{namespace}.keystore.password"),
        secrets.get(password).cloned().unwrap_or_default(),
    ));
    out.secret_inputs = vec![password.clone()];
    out.extra_ports.push(("https", https_port));
    out.volumes.push(secret_key_volume(
        VOLUME,
        &tls.secret_name,
        KEYSTORE_KEY,
        KEYSTORE_KEY,
    ));
    out.mounts.push(read_only_mount(VOLUME, "/var/pinot/tls"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> (TlsSpec, SecretValues) {
        let password = SecretKeyRef {
            name: "tls-pw".into(),
            key: "password".into(),
        };
        let tls = TlsSpec {
            secret_name: "pinot-tls".into(),
            keystore_password_secret_ref: password.clone(),
        };
        (tls, SecretValues::from([(password, "ks-pw".into())]))
    }

    #[test]
    fn controllers_listen_on_https_with_the_password_kept_secret() {
        let (tls, secrets) = spec();
        let out = additions(&tls, Component::Controller, &secrets);
        let has = |k: &str, v: &str| out.properties.iter().any(|(a, b)| a == k && b == v);
        assert!(has("controller.access.protocols", "https"));
        assert!(has("controller.access.protocols.https.port", "9443"));
        assert!(has("controller.tls.keystore.path", KEYSTORE));
        assert!(!format!("{:?}", out.properties).contains("ks-pw"));
        assert_eq!(
            out.secret_properties,
            vec![("controller.tls.keystore.password".into(), "ks-pw".into())]
        );
        assert_eq!(out.extra_ports, vec![("https", 9443)]);
    }

    #[test]
    fn brokers_use_their_client_listener_and_servers_get_nothing() {
        let (tls, secrets) = spec();
        let out = additions(&tls, Component::Broker, &secrets);
        assert!(
            out.properties.iter().any(|(k, v)| k
                == "pinot.broker.client.access.protocols.https.port"
                && v == "8443")
        );
        assert_eq!(
            additions(&tls, Component::Server, &secrets),
            Additions::default()
        );
    }
}

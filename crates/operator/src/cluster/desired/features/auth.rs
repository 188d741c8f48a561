//! `spec.auth` → Pinot's basic-auth configuration. Principals, rights and tables go
//! into the `.conf` (ConfigMap); passwords and service tokens only into the
//! credentials Secret.

use api::auth::{AuthSpec, AuthUser, SecretKeyRef};
use base64::Engine;

use super::additions::Additions;
use crate::cluster::component::Component;
use crate::pinot::access::admin_secret_ref;
use crate::secrets::SecretValues;

const CONTROLLER_FACTORY: &str =
    "org.apache.pinot.controller.api.access.BasicAuthAccessControlFactory";
const BROKER_FACTORY: &str = "org.apache.pinot.broker.broker.BasicAuthAccessControlFactory";
const CONTROLLER_PRINCIPALS: &str = "controller.admin.access.control.principals";
const BROKER_PRINCIPALS: &str = "pinot.broker.access.control.principals";

/// Secret keys holding the users' passwords.
pub fn secret_refs(auth: Option<&AuthSpec>) -> Vec<SecretKeyRef> {
    auth.iter()
        .flat_map(|a| &a.users)
        .map(|u| u.password_secret_ref.clone())
        .collect()
}

/// What auth adds to `component`'s pods.
pub fn additions(auth: &AuthSpec, component: Component, secrets: &SecretValues) -> Additions {
    let password = |user: &AuthUser| {
        secrets
            .get(&user.password_secret_ref)
            .cloned()
            .unwrap_or_default()
    };
    let token = auth
        .users
        .iter()
        .find(|u| u.name == auth.admin_user)
        .map(|admin| basic_token(&admin.name, &password(admin)))
        .unwrap_or_default();
    let mut out = Additions::default();
    let mut public = |k: String, v: String| out.properties.push((k, v));
    match component {
        Component::Controller => {
            public(
                "controller.admin.access.control.factory.class".into(),
                CONTROLLER_FACTORY.into(),
            );
            principals(auth, CONTROLLER_PRINCIPALS, true, &mut public);
        }
        Component::Broker => {
            public(
                "pinot.broker.access.control.class".into(),
                BROKER_FACTORY.into(),
            );
            // Queries only read: the broker has no notion of permissions.
            principals(auth, BROKER_PRINCIPALS, false, &mut public);
        }
        Component::Server | Component::Minion | Component::Zookeeper => {}
    }
    let secret = &mut out.secret_properties;
    let prefix = match component {
        Component::Controller => Some(CONTROLLER_PRINCIPALS),
        Component::Broker => Some(BROKER_PRINCIPALS),
        _ => None,
    };
    if let Some(prefix) = prefix {
        for user in &auth.users {
            secret.push((format!("{prefix}.{}.password", user.name), password(user)));
        }
    }
    for key in token_keys(component) {
        secret.push(((*key).to_owned(), token.clone()));
    }
    if component != Component::Zookeeper {
        out.secret_inputs = secret_refs(Some(auth));
        // Servers and minions only hold the admin's token.
        if matches!(component, Component::Server | Component::Minion) {
            out.secret_inputs = admin_secret_ref(auth).into_iter().collect();
        }
    }
    out
}

fn principals(
    auth: &AuthSpec,
    prefix: &str,
    with_permissions: bool,
    public: &mut impl FnMut(String, String),
) {
    let names: Vec<_> = auth.users.iter().map(|u| u.name.as_str()).collect();
    public(prefix.into(), names.join(","));
    for user in &auth.users {
        if let (true, Some(permissions)) = (with_permissions, &user.permissions) {
            let mut words: Vec<_> = permissions.iter().map(|p| p.as_pinot()).collect();
            words.sort();
            words.dedup();
            public(
                format!("{prefix}.{}.permissions", user.name),
                words.join(","),
            );
        }
        if let Some(tables) = &user.tables {
            public(format!("{prefix}.{}.tables", user.name), tables.join(","));
        }
    }
}

/// Where each role takes the token it sends to the controller (segment upload and
/// download, realtime segment completion, minion tasks). Minions read both spellings
/// depending on the release.
fn token_keys(component: Component) -> &'static [&'static str] {
    match component {
        // 0.11 reads the `pinot.`-prefixed key; Pinot's docs name the other.
        Component::Controller => &[
            "pinot.controller.segment.fetcher.auth.token",
            "controller.segment.fetcher.auth.token",
        ],
        Component::Server => &[
            "pinot.server.segment.fetcher.auth.token",
            "pinot.server.segment.uploader.auth.token",
            "pinot.server.instance.auth.token",
        ],
        Component::Minion => &[
            "segment.fetcher.auth.token",
            "task.auth.token",
            "pinot.minion.segment.fetcher.auth.token",
            "pinot.minion.task.auth.token",
        ],
        Component::Broker | Component::Zookeeper => &[],
    }
}

/// `Basic <base64(user:password)>`, as Pinot's static token providers send it.
pub fn basic_token(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::auth::Permission;

    fn key(name: &str) -> SecretKeyRef {
        SecretKeyRef {
            name: name.into(),
            key: "password".into(),
        }
    }

    fn spec() -> (AuthSpec, SecretValues) {
        let auth = AuthSpec {
            admin_user: "admin".into(),
            users: vec![
                AuthUser {
                    name: "admin".into(),
                    password_secret_ref: key("admin-pw"),
                    permissions: None,
                    tables: None,
                },
                AuthUser {
                    name: "reader".into(),
                    password_secret_ref: key("reader-pw"),
                    permissions: Some(vec![Permission::Read]),
                    tables: Some(vec!["orders".into(), "events".into()]),
                },
            ],
        };
        let secrets = SecretValues::from([
            (key("admin-pw"), "s3cret".into()),
            (key("reader-pw"), "r3ad".into()),
        ]);
        (auth, secrets)
    }

    fn has(pairs: &[(String, String)], key: &str, value: &str) -> bool {
        pairs.iter().any(|(k, v)| k == key && v == value)
    }

    #[test]
    fn controller_gets_principals_in_the_conf_and_passwords_in_the_secret() {
        let (auth, secrets) = spec();
        let out = additions(&auth, Component::Controller, &secrets);
        assert!(has(
            &out.properties,
            "controller.admin.access.control.factory.class",
            CONTROLLER_FACTORY
        ));
        assert!(has(&out.properties, CONTROLLER_PRINCIPALS, "admin,reader"));
        assert!(has(
            &out.properties,
            "controller.admin.access.control.principals.reader.permissions",
            "READ"
        ));
        assert!(has(
            &out.properties,
            "controller.admin.access.control.principals.reader.tables",
            "orders,events"
        ));
        assert!(has(
            &out.secret_properties,
            "controller.admin.access.control.principals.admin.password",
            "s3cret"
        ));
        let public = format!("{:?}", out.properties);
        assert!(!public.contains("s3cret") && !public.contains("r3ad"));
        assert_eq!(out.secret_inputs.len(), 2);
    }

    #[test]
    fn broker_has_tables_but_no_permissions() {
        let (auth, secrets) = spec();
        let out = additions(&auth, Component::Broker, &secrets);
        assert!(has(&out.properties, BROKER_PRINCIPALS, "admin,reader"));
        assert!(has(
            &out.properties,
            "pinot.broker.access.control.principals.reader.tables",
            "orders,events"
        ));
        assert!(
            !out.properties
                .iter()
                .any(|(k, _)| k.ends_with("permissions"))
        );
        assert!(has(
            &out.secret_properties,
            "pinot.broker.access.control.principals.reader.password",
            "r3ad"
        ));
    }

    #[test]
    fn servers_and_minions_carry_only_the_admin_token() {
        let (auth, secrets) = spec();
        let token = basic_token("admin", "s3cret");
        assert_eq!(token, "Basic YWRtaW46czNjcmV0");
        for component in [Component::Server, Component::Minion] {
            let out = additions(&auth, component, &secrets);
            assert!(out.properties.is_empty());
            assert!(out.secret_properties.iter().all(|(_, v)| v == &token));
            assert!(out.secret_properties.len() >= 3);
            // A reader's password change must not restart servers and minions.
            assert_eq!(out.secret_inputs, vec![key("admin-pw")]);
        }
    }
}

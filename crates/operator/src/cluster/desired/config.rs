//! Renders a pool's Pinot `.conf` file.
//!
//! Precedence, lowest first: what the operator must set (cluster, ZooKeeper, ports,
//! data directories, instance id from the pod hostname), the pool's tenant tags,
//! the production settings (auth, deep storage; secrets stay out: they are in a
//! file `config.paths` names), the operator's role defaults, then the user's merged
//! `pinot.properties`. A key is
//! written once, at the level that wins: Pinot reads the file with
//! commons-configuration, which turns a repeated key into a list rather than letting
//! the last one win.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::cluster::component::Component;

/// What a pool's config depends on besides the user's properties.
#[derive(Debug, Clone)]
pub struct ConfInput<'a> {
    pub component: Component,
    /// Helix cluster name.
    pub cluster_name: &'a str,
    /// ZooKeeper connect string (with chroot if any).
    pub zookeeper: &'a str,
    pub tenant: Option<&'a str>,
    /// Merged `pinot.properties` of cluster, role and pool.
    pub properties: &'a BTreeMap<String, String>,
    /// Properties from `spec.auth` and `spec.deepStorage` (no secrets).
    pub production: &'a [(String, String)],
    /// File with the secret properties, loaded by Pinot through `config.paths`.
    pub secret_file: Option<&'a str>,
}

/// The rendered file and the effective key/value map it encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedConf {
    pub text: String,
    pub effective: BTreeMap<String, String>,
}

impl RenderedConf {
    /// Port `key` as Pinot will read it, or `default`.
    pub fn port(&self, key: &str, default: i32) -> i32 {
        self.effective
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }
}

type Layer = (&'static str, Vec<(String, String)>);

/// Pinot loads the properties files this key lists as extra, lower-precedence sources.
pub const SECRET_FILES_KEY: &str = "config.paths";

/// Renders the `.conf` of one pool.
pub fn render(input: &ConfInput<'_>) -> RenderedConf {
    let mut production = input.production.to_vec();
    if let Some(file) = input.secret_file {
        production.push(pair(SECRET_FILES_KEY, file));
    }
    let layers: [Layer; 5] = [
        ("required by the operator", required(input)),
        ("tenant tags", tenant_tags(input)),
        ("spec auth and deepStorage", production),
        (
            "operator defaults for this role",
            role_defaults(input.component),
        ),
        (
            "spec pinot.properties (cluster, role, pool)",
            input
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    ];
    let mut effective = BTreeMap::new();
    for (_, pairs) in &layers {
        effective.extend(pairs.iter().cloned());
    }
    let mut text = format!(
        "# Pinot {} configuration, rendered by pinot-operator. Do not edit: changes are overwritten.\n",
        input.component
    );
    for (index, (title, pairs)) in layers.iter().enumerate() {
        let overridden = |key: &str| {
            layers[index + 1..]
                .iter()
                .any(|(_, l)| l.iter().any(|(k, _)| k == key))
        };
        let lines: Vec<_> = pairs.iter().filter(|(k, _)| !overridden(k)).collect();
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(text, "\n# {title}");
        for (key, value) in lines {
            let _ = writeln!(text, "{key}={}", escape_value(value));
        }
    }
    RenderedConf { text, effective }
}

fn pair(key: &str, value: impl ToString) -> (String, String) {
    (key.to_owned(), value.to_string())
}

fn required(input: &ConfInput<'_>) -> Vec<(String, String)> {
    let mut pairs = vec![
        pair("pinot.cluster.name", input.cluster_name),
        pair("pinot.zk.server", input.zookeeper),
        // Instance ids from the stable pod DNS name: a restarted pod is the same instance.
        pair("pinot.set.instance.id.to.hostname", true),
    ];
    for port in input.component.ports() {
        pairs.push(pair(port.key, port.default));
    }
    match input.component {
        Component::Controller => {
            pairs.push(pair("controller.helix.cluster.name", input.cluster_name));
            pairs.push(pair("controller.zk.str", input.zookeeper));
            pairs.push(pair("controller.data.dir", "/var/pinot/controller/data"));
        }
        Component::Server => {
            pairs.push(pair(
                "pinot.server.instance.dataDir",
                "/var/pinot/server/data/index",
            ));
            pairs.push(pair(
                "pinot.server.instance.segmentTarDir",
                "/var/pinot/server/data/segment",
            ));
        }
        Component::Minion => {
            // Older releases read `dataDir`, newer ones `pinot.minion.dataDir`.
            pairs.push(pair("dataDir", "/var/pinot/minion/data"));
            pairs.push(pair("pinot.minion.dataDir", "/var/pinot/minion/data"));
        }
        Component::Broker | Component::Zookeeper => {}
    }
    pairs
}

/// Brokers take their tenant tag at start-up; servers are tagged through the
/// controller API (Pinot has no start-up setting for server tags).
fn tenant_tags(input: &ConfInput<'_>) -> Vec<(String, String)> {
    match (input.component, input.tenant) {
        (Component::Broker, Some(tenant)) => {
            vec![pair(
                "pinot.broker.instance.tags",
                format!("{tenant}_BROKER"),
            )]
        }
        _ => vec![],
    }
}

/// Settings the operator recommends per role, each overridable by the user.
fn role_defaults(component: Component) -> Vec<(String, String)> {
    match component {
        // Minion tasks are only scheduled when the controller's task scheduler runs.
        Component::Controller => vec![pair("controller.task.scheduler.enabled", true)],
        // Consuming segments off-heap, as the Pinot docs recommend for production.
        Component::Server => vec![pair("pinot.server.instance.realtime.alloc.offheap", true)],
        // Leave the cluster before shutting down so in-flight queries finish.
        Component::Broker => vec![pair("pinot.broker.delayShutdownTimeMs", 10000)],
        Component::Minion | Component::Zookeeper => vec![],
    }
}

/// A properties file of `pairs`, under a header.
pub fn properties_text(header: &str, pairs: &[(String, String)]) -> String {
    let mut text = format!("# {header}\n");
    for (key, value) in pairs {
        let _ = writeln!(text, "{key}={}", escape_value(value));
    }
    text
}

/// A value must stay on one line: a newline would inject another property. Leading
/// whitespace is escaped too, since properties readers drop it (a password `" x"`
/// would otherwise reach Pinot as `"x"`). Commas pass through: commons-configuration reads
/// them as list delimiters, and Pinot has list properties (e.g.
/// `controller.admin.access.control.principals=admin,user`). Not the
/// `java-properties` crate (checked: 2.0.0): it escapes every space, `:`, `=`, `!` and
/// `#`, changing the bytes (and so the config hash, restarting every pool on upgrade).
fn escape_value(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    let body = escaped.trim_start_matches([' ', '\t', '\x0c']);
    let mut out = String::with_capacity(escaped.len() + 4);
    for c in escaped[..escaped.len() - body.len()].chars() {
        out.push_str(match c {
            ' ' => "\\ ",
            '\t' => "\\t",
            _ => "\\f",
        });
    }
    out.push_str(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_with(
        component: Component,
        tenant: Option<&str>,
        props: &[(&str, &str)],
    ) -> RenderedConf {
        let properties = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        render(&ConfInput {
            component,
            cluster_name: "analytics",
            zookeeper: "analytics-zookeeper.data.svc:2181",
            tenant,
            properties: &properties,
            production: &[],
            secret_file: None,
        })
    }

    fn lines(conf: &RenderedConf) -> Vec<&str> {
        conf.text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    }

    #[test]
    fn server_conf_has_cluster_zookeeper_ports_dirs_and_hostname_ids() {
        let conf = render_with(Component::Server, Some("DefaultTenant"), &[]);
        let lines = lines(&conf);
        for expected in [
            "pinot.cluster.name=analytics",
            "pinot.zk.server=analytics-zookeeper.data.svc:2181",
            "pinot.set.instance.id.to.hostname=true",
            "pinot.server.netty.port=8098",
            "pinot.server.adminapi.port=8097",
            "pinot.server.instance.dataDir=/var/pinot/server/data/index",
            "pinot.server.instance.realtime.alloc.offheap=true",
        ] {
            assert!(
                lines.contains(&expected),
                "{expected} missing in\n{}",
                conf.text
            );
        }
    }

    #[test]
    fn user_properties_win_and_each_key_is_written_once() {
        let conf = render_with(
            Component::Server,
            None,
            &[
                ("pinot.server.adminapi.port", "9097"),
                ("pinot.server.instance.realtime.alloc.offheap", "false"),
                ("pinot.server.query.executor.timeout", "30000"),
            ],
        );
        let lines = lines(&conf);
        let admin: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("pinot.server.adminapi.port="))
            .collect();
        assert_eq!(admin, [&"pinot.server.adminapi.port=9097"]);
        assert!(lines.contains(&"pinot.server.instance.realtime.alloc.offheap=false"));
        assert!(lines.contains(&"pinot.server.query.executor.timeout=30000"));
        assert_eq!(conf.port("pinot.server.adminapi.port", 8097), 9097);
        // The user's section comes last.
        let user = conf.text.find("# spec pinot.properties").unwrap();
        assert!(conf.text.find("pinot.server.adminapi.port=9097").unwrap() > user);
    }

    #[test]
    fn broker_takes_its_tenant_tag_and_controller_its_keys() {
        let broker = render_with(Component::Broker, Some("sales"), &[]);
        assert!(lines(&broker).contains(&"pinot.broker.instance.tags=sales_BROKER"));
        assert!(lines(&broker).contains(&"pinot.broker.client.queryPort=8099"));
        let controller = render_with(Component::Controller, None, &[]);
        let lines = lines(&controller);
        assert!(lines.contains(&"controller.port=9000"));
        assert!(lines.contains(&"controller.zk.str=analytics-zookeeper.data.svc:2181"));
        assert!(lines.contains(&"controller.helix.cluster.name=analytics"));
        assert!(lines.contains(&"controller.data.dir=/var/pinot/controller/data"));
    }

    #[test]
    fn values_cannot_inject_lines() {
        let conf = render_with(Component::Minion, None, &[("x", "a\npinot.zk.server=evil")]);
        assert!(lines(&conf).contains(&"x=a\\npinot.zk.server=evil"));
        assert_eq!(
            lines(&conf)
                .iter()
                .filter(|l| l.starts_with("pinot.zk.server="))
                .count(),
            1
        );
    }

    #[test]
    fn rendering_is_deterministic() {
        let a = render_with(Component::Server, Some("t"), &[("b", "1"), ("a", "2")]);
        let b = render_with(Component::Server, Some("t"), &[("a", "2"), ("b", "1")]);
        assert_eq!(a, b);
    }
}

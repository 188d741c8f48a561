//! Extra configuration for a Pinot test cluster ([`PinotOptions`]): per-role Pinot
//! properties, and the basic-auth credentials testenv itself uses against the cluster.
//!
//! Properties reach a role through Pinot's own `config.paths` key, which names a file
//! loaded as an extra, lower-precedence source of the role's configuration (testenv
//! concatenates a role's properties into that one file: 0.11 cannot read a list there). Pinot 0.11 reads that key only from the role's base configuration,
//! never from the environment (its `Start*Command`s build `new PinotConfiguration(map)`,
//! whose environment map is empty, so `PINOT_CONFIG_PATHS` is ignored), and takes extra
//! keys on the command line only as a whole config file (`-configFileName`, which
//! replaces the configuration the flags would generate). So for a role with properties,
//! testenv writes that file itself: the keys `PinotConfigUtils.generate*Conf` derives from
//! the flags testenv passes (see `jvm.rs`), plus `config.paths`. Roles without
//! properties start exactly as before, from flags only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
// Standard alphabet with padding (RFC 4648 §4), as HTTP basic auth uses.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::layout::{HOST, Layout, Ports, SERVERS};
use crate::process::free_port;

/// Where testenv writes the role files and the [`Properties::Text`] files, under the
/// cluster's temporary directory.
const OPTIONS_DIR: &str = "conf/options";
/// Same bound as the readiness probes' own client: a hung JVM must not stall a wait.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A Pinot role that takes extra properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Controller,
    Broker,
    /// Both servers get the same properties.
    Server,
    Minion,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Controller, Role::Broker, Role::Server, Role::Minion];

    /// Lower-case name, as used in file names (`controller`, `broker`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Broker => "broker",
            Role::Server => "server",
            Role::Minion => "minion",
        }
    }
}

/// One source of extra properties for a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Properties {
    /// An existing `.properties` file, copied into the role's properties file.
    File(PathBuf),
    /// `.properties` text that testenv writes to a file under the cluster's temporary
    /// directory (`conf/options/<role>.properties`).
    Text(String),
}

/// HTTP basic-auth credentials. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl BasicAuth {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> BasicAuth {
        BasicAuth {
            username: username.into(),
            password: password.into(),
        }
    }

    /// `Basic <base64(username:password)>`: the `Authorization` header value, and the
    /// form Pinot's `*.auth.token` properties take.
    pub fn token(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What [`Pinot::start_with`](super::Pinot::start_with) adds to a default cluster.
///
/// Each role's [`Properties`] are concatenated, in order, into the file that role's
/// `config.paths` names; do not repeat a key (commons-configuration makes a list of it).
/// What testenv itself sets (hosts, ports, ZooKeeper, cluster name, data directories)
/// takes precedence over them. ZooKeeper and Kafka take no extra properties.
///
/// `basic_auth` is what testenv sends on every REST call it makes itself (readiness
/// probes, [`Pinot::ingest_json_rows`](super::Pinot::ingest_json_rows), ...); it does
/// not configure Pinot: the properties switching authentication on are the caller's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinotOptions {
    pub controller: Vec<Properties>,
    pub broker: Vec<Properties>,
    pub server: Vec<Properties>,
    pub minion: Vec<Properties>,
    pub basic_auth: Option<BasicAuth>,
}

impl PinotOptions {
    /// The properties of `role`.
    pub fn role(&self, role: Role) -> &[Properties] {
        match role {
            Role::Controller => &self.controller,
            Role::Broker => &self.broker,
            Role::Server => &self.server,
            Role::Minion => &self.minion,
        }
    }

    /// The properties of `role`, to add to.
    pub fn role_mut(&mut self, role: Role) -> &mut Vec<Properties> {
        match role {
            Role::Controller => &mut self.controller,
            Role::Broker => &mut self.broker,
            Role::Server => &mut self.server,
            Role::Minion => &mut self.minion,
        }
    }

    /// Adds `.properties` text for `role` (written to a file by testenv).
    pub fn with_properties(mut self, role: Role, text: impl Into<String>) -> PinotOptions {
        self.role_mut(role).push(Properties::Text(text.into()));
        self
    }

    /// Adds an existing `.properties` file for `role`.
    pub fn with_properties_file(mut self, role: Role, path: impl Into<PathBuf>) -> PinotOptions {
        self.role_mut(role).push(Properties::File(path.into()));
        self
    }

    /// Sets the credentials testenv uses for its own REST calls.
    pub fn with_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> PinotOptions {
        self.basic_auth = Some(BasicAuth::new(username, password));
        self
    }
}

/// [`PinotOptions`] made concrete for one cluster: the files written and HTTP clients
/// carrying the credentials.
#[derive(Debug)]
pub(super) struct ClusterConfig {
    pub options: PinotOptions,
    /// The `-configFileName` of each process with extra properties, by process name
    /// (`controller`, `broker`, `server-0`, ..., `minion`).
    config_files: Vec<(String, PathBuf)>,
}

impl ClusterConfig {
    /// Writes, for every role with properties, its [`Properties::Text`] entries and one
    /// config file per process of that role; checks the [`Properties::File`] ones exist.
    pub fn write(
        options: PinotOptions,
        root: &Path,
        layout: &Layout,
        ports: &Ports,
        cluster: &str,
    ) -> anyhow::Result<ClusterConfig> {
        let dir = root.join(OPTIONS_DIR);
        let mut config_files = Vec::new();
        for role in Role::ALL {
            let Some(properties) = properties_file(role, options.role(role), &dir)? else {
                continue;
            };
            let instances = if role == Role::Server { SERVERS } else { 1 };
            for index in 0..instances {
                let name = process_name(role, index);
                let mut text = String::new();
                for (key, value) in base_properties(role, index, layout, ports, cluster) {
                    text.push_str(&format!("{key}={}\n", escape(&value)));
                }
                let path = escape(&properties.display().to_string());
                text.push_str(&format!("config.paths={path}\n"));
                let file = dir.join(format!("{name}.conf"));
                std::fs::write(&file, text).with_context(|| format!("write {}", file.display()))?;
                config_files.push((name, file));
            }
        }
        Ok(ClusterConfig {
            options,
            config_files,
        })
    }

    /// `command` (the JVM of the `index`th process of `role`) reading its config file,
    /// if its role has properties; otherwise unchanged.
    pub fn command(&self, role: Role, index: usize, mut command: Command) -> Command {
        if let Some(file) = self.config_file(role, index) {
            command.arg("-configFileName").arg(file);
        }
        command
    }

    fn config_file(&self, role: Role, index: usize) -> Option<&Path> {
        let name = process_name(role, index);
        (self.config_files.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, file)| file.as_path())
    }

    /// A client for readiness probes (short timeout), sending the credentials if any;
    /// without credentials, exactly the probes' own client.
    pub fn probe_client(&self) -> anyhow::Result<reqwest::Client> {
        match self.options.basic_auth {
            None => super::probe::client(),
            Some(_) => self.client(Some(PROBE_TIMEOUT)),
        }
    }

    /// A client sending the credentials (if any) on every request.
    pub fn client(&self, timeout: Option<Duration>) -> anyhow::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder();
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(auth) = &self.options.basic_auth {
            let mut value = reqwest::header::HeaderValue::from_str(&auth.token())
                .context("basic-auth credentials are not a valid header value")?;
            value.set_sensitive(true);
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::AUTHORIZATION, value);
            builder = builder.default_headers(headers);
        }
        Ok(builder.build()?)
    }
}

/// The name `pinot.rs` gives the process (and its log file).
fn process_name(role: Role, index: usize) -> String {
    match role {
        Role::Server => format!("server-{index}"),
        _ => role.name().to_owned(),
    }
}

/// Writes all of a role's properties, in order, into one file under `dir` and returns
/// its path (`None` without properties). One file, because Pinot 0.11 turns a
/// `config.paths` holding a comma into a list and then fails to read "[a".
fn properties_file(role: Role, all: &[Properties], dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if all.is_empty() {
        return Ok(None);
    }
    let mut text = String::new();
    for properties in all {
        match properties {
            Properties::File(path) => {
                let content = std::fs::read_to_string(path).with_context(|| {
                    format!("{} properties file {}", role.name(), path.display())
                })?;
                text.push_str(&content);
            }
            Properties::Text(content) => text.push_str(content),
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.properties", role.name()));
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(Some(std::path::absolute(path)?))
}

/// What Pinot 0.11's `PinotConfigUtils.generate{Controller,Broker,Server,Minion}Conf`
/// build from the flags `jvm.rs` passes: a `-configFileName` replaces them, so the file
/// must carry them. The multi-stage engine ports (unused: that engine is off by
/// default in 0.11) are free ports, as Pinot picks them when no flag sets them.
fn base_properties(
    role: Role,
    index: usize,
    layout: &Layout,
    ports: &Ports,
    cluster: &str,
) -> Vec<(&'static str, String)> {
    let zk = format!("{HOST}:{}", ports.zookeeper);
    let path = |p: PathBuf| p.display().to_string();
    match role {
        Role::Controller => vec![
            ("controller.zk.str", zk),
            ("controller.helix.cluster.name", cluster.to_owned()),
            ("controller.host", HOST.to_owned()),
            ("controller.port", ports.controller.to_string()),
            ("controller.data.dir", path(layout.controller.join("data"))),
            ("controller.vip.host", HOST.to_owned()),
            ("cluster.tenant.isolation.enable", "true".to_owned()),
            (
                "controller.retention.frequencyInSeconds",
                "21600".to_owned(),
            ),
            (
                "controller.offline.segment.interval.checker.frequencyInSeconds",
                "3600".to_owned(),
            ),
            (
                "controller.realtime.segment.validation.frequencyInSeconds",
                "3600".to_owned(),
            ),
            (
                "controller.broker.resource.validation.frequencyInSeconds",
                "3600".to_owned(),
            ),
            ("controller.mode", "DUAL".to_owned()),
        ],
        Role::Broker => vec![
            ("pinot.cluster.name", cluster.to_owned()),
            ("pinot.zk.server", zk),
            ("pinot.broker.hostname", HOST.to_owned()),
            ("pinot.broker.client.queryPort", ports.broker.to_string()),
            ("pinot.query.runner.port", free_port().to_string()),
        ],
        Role::Server => {
            let server = ports.servers[index];
            let dir = &layout.servers[index];
            vec![
                ("pinot.cluster.name", cluster.to_owned()),
                ("pinot.zk.server", zk),
                ("pinot.server.netty.host", HOST.to_owned()),
                ("pinot.server.netty.port", server.netty.to_string()),
                ("pinot.query.server.port", free_port().to_string()),
                ("pinot.query.runner.port", free_port().to_string()),
                ("pinot.server.adminapi.port", server.admin.to_string()),
                ("pinot.server.grpc.port", server.grpc.to_string()),
                ("pinot.server.instance.dataDir", path(dir.join("data"))),
                (
                    "pinot.server.instance.segmentTarDir",
                    path(dir.join("segments")),
                ),
            ]
        }
        Role::Minion => vec![
            ("pinot.cluster.name", cluster.to_owned()),
            ("pinot.zk.server", zk),
            ("pinot.minion.host", HOST.to_owned()),
            ("pinot.minion.port", ports.minion.to_string()),
        ],
    }
}

/// A `.properties` value that commons-configuration 1.x reads back as this one string:
/// backslashes and list delimiters escaped.
///
/// Not the `java-properties` crate (checked: 2.0.0): its writer follows
/// `java.util.Properties`, which has no list delimiter, so it leaves `,` alone (Pinot
/// would split the value into a list), and it escapes every space, `:`, `=`, `!` and
/// `#`, which would change the bytes of every file written. The operator's
/// `cluster::config::escape_value` is a different escaper on purpose (commas pass
/// through there, for Pinot's list properties); testenv does not depend on the operator.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace(',', "\\,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in vectors {
            assert_eq!(STANDARD.encode(input), expected, "{input:?}");
        }
    }

    #[test]
    fn token_is_a_basic_auth_header_value() {
        // The example of Pinot's basic-auth docs, which leave out the padding.
        let auth = BasicAuth::new("admin", "verysecret");
        assert_eq!(auth.token(), "Basic YWRtaW46dmVyeXNlY3JldA==");
        assert!(!format!("{auth:?}").contains("verysecret"));
    }

    #[test]
    fn writes_a_config_file_per_process_of_a_role_with_properties() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::create(root.path()).unwrap();
        let ports = Ports::pick();
        let existing = root.path().join("secret.properties");
        std::fs::write(&existing, "a=b\n").unwrap();
        let options = PinotOptions::default()
            .with_properties(Role::Controller, "x=1\n")
            .with_properties_file(Role::Controller, &existing)
            .with_properties(Role::Server, "y=2\n");
        let config = ClusterConfig::write(options, root.path(), &layout, &ports, "C").unwrap();

        let text = root.path().join("conf/options/controller.properties");
        assert_eq!(std::fs::read_to_string(&text).unwrap(), "x=1\na=b\n");
        let file = config.config_file(Role::Controller, 0).unwrap();
        let conf = std::fs::read_to_string(file).unwrap();
        let paths = format!("config.paths={}\n", text.display());
        assert!(conf.contains(&paths), "{conf}");
        let port = format!("controller.port={}\n", ports.controller);
        assert!(conf.contains(&port), "{conf}");
        assert!(conf.contains("controller.helix.cluster.name=C\n"), "{conf}");

        for index in 0..SERVERS {
            let conf = std::fs::read_to_string(config.config_file(Role::Server, index).unwrap());
            let port = format!("pinot.server.netty.port={}\n", ports.servers[index].netty);
            assert!(conf.unwrap().contains(&port));
        }
        assert!(config.config_file(Role::Broker, 0).is_none());
        assert!(config.config_file(Role::Minion, 0).is_none());

        let command = config.command(Role::Server, 1, Command::new("java"));
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args[0], "-configFileName");
        let command = config.command(Role::Broker, 0, Command::new("java"));
        assert_eq!(command.get_args().count(), 0);
    }

    #[test]
    fn escapes_list_delimiters_and_backslashes() {
        assert_eq!(escape(r"a,b\c"), r"a\,b\\c");
    }

    #[test]
    fn refuses_a_missing_file() {
        let root = tempfile::tempdir().unwrap();
        let options = PinotOptions::default()
            .with_properties_file(Role::Server, root.path().join("missing.properties"));
        let layout = Layout::create(root.path()).unwrap();
        let ports = Ports::pick();
        let error = ClusterConfig::write(options, root.path(), &layout, &ports, "C").unwrap_err();
        assert!(
            format!("{error:#}").contains("missing.properties"),
            "{error:#}"
        );
    }
}

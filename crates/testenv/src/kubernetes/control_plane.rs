//! The control-plane processes: which binaries, which flags, and how to tell they died.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_norway::Value;

use super::network::{BRIDGE_IP, KWOK_POD_CIDR, SERVICE_CIDR};
use super::pki::Pki;
use crate::process::{ManagedProcess, free_port};
use crate::versions::component_dir;

const KWOK_STAGES: &str = include_str!("../../assets/kubernetes/kwok-stages.yaml");
/// Pod annotation delaying the pod-ready stage by a Go duration (`"5s"`, `"1500ms"`);
/// KWOK's own name for it. Pods without it become Ready at once, as before.
pub const READY_DELAY_ANNOTATION: &str = "pod-ready.stage.kwok.x-k8s.io/delay";
/// The pod-ready stage's `spec.delay`: KWOK reads the duration from the pod's
/// [`READY_DELAY_ANNOTATION`], and uses `durationMilliseconds` when it is absent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StageDelay {
    duration_milliseconds: u64,
    duration_from: DurationFrom,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DurationFrom {
    expression_from: String,
}

/// The stages KWOK runs: the verbatim defaults, with the pod-ready stage delayed by
/// [`READY_DELAY_ANNOTATION`] when a pod has it (0 ms otherwise). Edited as YAML
/// values, not text, so a reformatted asset cannot silently lose the delay.
fn kwok_stages() -> anyhow::Result<String> {
    let mut stages = Vec::new();
    for document in serde_norway::Deserializer::from_str(KWOK_STAGES) {
        stages.push(Value::deserialize(document).context("kwok-stages.yaml")?);
    }
    let mut pod_ready = stages
        .iter_mut()
        .filter(|stage| stage["metadata"]["name"].as_str() == Some("pod-ready"));
    let (Some(stage), None) = (pod_ready.next(), pod_ready.next()) else {
        bail!("kwok-stages.yaml: cannot find the pod-ready stage to add a readiness delay to");
    };
    let Some(spec) = stage.get_mut("spec").and_then(Value::as_mapping_mut) else {
        bail!("kwok-stages.yaml: the pod-ready stage has no spec to add a readiness delay to");
    };
    let delay = StageDelay {
        duration_milliseconds: 0,
        duration_from: DurationFrom {
            expression_from: format!(".metadata.annotations[\"{READY_DELAY_ANNOTATION}\"]"),
        },
    };
    spec.insert("delay".into(), serde_norway::to_value(delay)?);
    let mut text = String::new();
    for stage in &stages {
        text.push_str("---\n");
        text.push_str(&serde_norway::to_string(stage)?);
    }
    Ok(text)
}

/// The binaries `tools/build-kubernetes.sh` puts in the cache.
#[derive(Debug)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub kube_scheduler: PathBuf,
    pub kwok: PathBuf,
}

impl Binaries {
    /// Finds every binary, or fails naming the missing ones and the script that builds them.
    pub fn locate() -> anyhow::Result<Binaries> {
        let k8s = component_dir("kubernetes", "KUBERNETES_VERSION").join("bin");
        let bins = Binaries {
            etcd: component_dir("etcd", "ETCD_VERSION").join("bin/etcd"),
            kube_apiserver: k8s.join("kube-apiserver"),
            kube_controller_manager: k8s.join("kube-controller-manager"),
            kube_scheduler: k8s.join("kube-scheduler"),
            kwok: component_dir("kwok", "KWOK_VERSION").join("bin/kwok"),
        };
        let missing: Vec<String> = [
            &bins.etcd,
            &bins.kube_apiserver,
            &bins.kube_controller_manager,
            &bins.kube_scheduler,
            &bins.kwok,
        ]
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
        if !missing.is_empty() {
            bail!(
                "Kubernetes test binaries are missing ({}): run tools/build-kubernetes.sh",
                missing.join(", ")
            );
        }
        Ok(bins)
    }
}

/// Where everything of one environment lives, under its temporary directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub logs: PathBuf,
    pub pki: PathBuf,
    pub etcd_data: PathBuf,
    pub kwok_home: PathBuf,
    pub volumes: PathBuf,
    pub admin_kubeconfig: PathBuf,
    /// The real node's configuration files and kubeconfigs (when it has one).
    pub real_node: PathBuf,
    pub controller_manager_kubeconfig: PathBuf,
    pub scheduler_kubeconfig: PathBuf,
}

impl Layout {
    pub fn create(root: &Path) -> anyhow::Result<Layout> {
        let layout = Layout {
            logs: root.join("logs"),
            pki: root.join("pki"),
            etcd_data: root.join("etcd"),
            kwok_home: root.join("kwok"),
            volumes: root.join("volumes"),
            admin_kubeconfig: root.join("admin.kubeconfig"),
            real_node: root.join("real-node"),
            controller_manager_kubeconfig: root.join("kube-controller-manager.kubeconfig"),
            scheduler_kubeconfig: root.join("kube-scheduler.kubeconfig"),
        };
        for dir in [&layout.logs, &layout.kwok_home, &layout.volumes] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(layout)
    }
}

/// The running processes, in start order (stopped in reverse), each with what it
/// takes to start it again.
#[derive(Default)]
pub struct Processes(Vec<(ManagedProcess, Recipe)>);

/// How a process was started: program, arguments, environment and log directory.
struct Recipe {
    program: std::ffi::OsString,
    args: Vec<std::ffi::OsString>,
    envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)>,
    logs: PathBuf,
}

impl Recipe {
    fn of(command: &Command, logs: &Path) -> Recipe {
        Recipe {
            program: command.get_program().to_owned(),
            args: command.get_args().map(ToOwned::to_owned).collect(),
            envs: command
                .get_envs()
                .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
                .collect(),
            logs: logs.to_owned(),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        for (key, value) in &self.envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }
}

impl Processes {
    pub fn spawn(&mut self, name: &str, command: Command, layout: &Layout) -> anyhow::Result<()> {
        let recipe = Recipe::of(&command, &layout.logs);
        let process = ManagedProcess::spawn(name, command, &layout.logs)
            .map_err(|e| anyhow::anyhow!("start {name}: {e}"))?;
        self.0.push((process, recipe));
        Ok(())
    }

    /// Stops process `name` (SIGTERM, SIGKILL after `grace`), waits `down`, and starts it
    /// again with the same command line (same ports, certificates and data), appending
    /// to the same log.
    pub fn restart(
        &mut self,
        name: &str,
        grace: std::time::Duration,
        down: std::time::Duration,
    ) -> anyhow::Result<()> {
        let Some((process, recipe)) = self.0.iter_mut().find(|(p, _)| p.name() == name) else {
            bail!("no process named {name}");
        };
        process.stop(grace);
        std::thread::sleep(down);
        *process = ManagedProcess::spawn(name, recipe.command(), &recipe.logs)
            .map_err(|e| anyhow::anyhow!("restart {name}: {e}"))?;
        Ok(())
    }

    /// The pid of process `name`, if it was started.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.0
            .iter()
            .find(|(p, _)| p.name() == name)
            .map(|(p, _)| p.pid())
    }

    /// Kills process `name` (if started) and forgets it.
    pub fn kill(&mut self, name: &str) {
        self.0.retain(|(p, _)| p.name() != name);
    }

    /// Fails naming the first process that has exited: nothing restarts them, so a dead
    /// component means the environment can never become ready.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        for (process, _) in &mut self.0 {
            if let Some(status) = process.exited() {
                bail!("{} exited ({status})", process.name());
            }
        }
        Ok(())
    }

    /// The end of every log, for error messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.0
            .iter()
            .map(|(p, _)| {
                format!(
                    "--- {} ({}) ---\n{}",
                    p.name(),
                    p.log_path().display(),
                    p.log_tail(lines)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kills every process, the last started first (KWOK before the apiserver before etcd).
    pub fn kill_all(&mut self) {
        while let Some((process, _)) = self.0.pop() {
            drop(process);
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// etcd's client and peer ports.
pub struct EtcdPorts {
    pub client: u16,
    pub peer: u16,
}

impl EtcdPorts {
    /// Two free ports, and different ones: each `free_port` call only knows the port
    /// was free a moment ago, not that the previous call did not return it too.
    pub fn pick(avoid: u16) -> EtcdPorts {
        let client = free_port_except(&[avoid]);
        let peer = free_port_except(&[avoid, client]);
        EtcdPorts { client, peer }
    }
}

/// A single-member etcd on loopback. fsync is off: the data is thrown away anyway and
/// fsync dominates write latency on a busy disk.
pub fn etcd(bins: &Binaries, layout: &Layout, ports: &EtcdPorts) -> Command {
    let client = format!("http://127.0.0.1:{}", ports.client);
    let peer = format!("http://127.0.0.1:{}", ports.peer);
    let mut cmd = Command::new(&bins.etcd);
    cmd.arg("--name=testenv")
        .arg(format!("--data-dir={}", layout.etcd_data.display()))
        .arg(format!("--listen-client-urls={client}"))
        .arg(format!("--advertise-client-urls={client}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=testenv={peer}"))
        .arg("--unsafe-no-fsync")
        .arg("--log-level=warn");
    cmd
}

/// kube-apiserver with secure serving only, client-certificate authentication and
/// Node,RBAC authorization, like a kubeadm cluster; admission plugins are the defaults.
pub fn kube_apiserver(
    bins: &Binaries,
    layout: &Layout,
    pki: &Pki,
    etcd_client_port: u16,
    port: u16,
    real_node: bool,
) -> Command {
    let mut cmd = Command::new(&bins.kube_apiserver);
    cmd.arg(format!(
        "--etcd-servers=http://127.0.0.1:{etcd_client_port}"
    ))
    .arg(format!("--secure-port={port}"));
    if real_node {
        real_node_apiserver_flags(&mut cmd, pki);
    } else {
        // Loopback may not be an Endpoints address, so the `kubernetes` Service gets no
        // endpoints; nothing here runs inside a pod that would dial it.
        cmd.arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg("--endpoint-reconciler-type=none");
    }
    cmd.arg(format!("--cert-dir={}", layout.pki.display()))
        .arg(path_flag("--tls-cert-file", &pki.apiserver.cert))
        .arg(path_flag("--tls-private-key-file", &pki.apiserver.key))
        .arg(path_flag("--client-ca-file", &pki.ca.cert))
        .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
        .arg(path_flag(
            "--service-account-key-file",
            &pki.service_account_public_key,
        ))
        .arg(path_flag(
            "--service-account-signing-key-file",
            &pki.service_account_key,
        ))
        .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
        .arg("--authorization-mode=Node,RBAC")
        .arg("--allow-privileged=true")
        .arg("--profiling=false");
    cmd
}

/// With a real node, pods reach the apiserver through the `kubernetes` Service, so it
/// listens on the bridge address and advertises it (the Service's endpoint), and it
/// calls the kubelet (logs, exec, port-forward) by InternalIP with its own client
/// certificate: the node's hostname resolves to 127.0.0.1, which it refuses to dial.
fn real_node_apiserver_flags(cmd: &mut Command, pki: &Pki) {
    cmd.arg(format!("--bind-address={BRIDGE_IP}"))
        .arg(format!("--advertise-address={BRIDGE_IP}"))
        .arg("--kubelet-preferred-address-types=InternalIP")
        .arg(path_flag(
            "--kubelet-client-certificate",
            &pki.apiserver_kubelet_client.cert,
        ))
        .arg(path_flag(
            "--kubelet-client-key",
            &pki.apiserver_kubelet_client.key,
        ));
}

/// kube-controller-manager running every default controller, each with its own
/// service-account credentials, as in a real cluster. No serving port: nothing scrapes it.
pub fn kube_controller_manager(bins: &Binaries, layout: &Layout, pki: &Pki) -> Command {
    let mut cmd = Command::new(&bins.kube_controller_manager);
    cmd.arg(path_flag(
        "--kubeconfig",
        &layout.controller_manager_kubeconfig,
    ))
    .arg(path_flag(
        "--service-account-private-key-file",
        &pki.service_account_key,
    ))
    .arg(path_flag("--root-ca-file", &pki.ca.cert))
    .arg(path_flag("--cluster-signing-cert-file", &pki.ca.cert))
    .arg(path_flag("--cluster-signing-key-file", &pki.ca.key))
    .arg("--use-service-account-credentials=true")
    .arg("--controllers=*")
    .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
    .arg("--leader-elect=false")
    .arg("--secure-port=0")
    // The defaults (20 qps) throttle the controllers when many tests create objects at once.
    .arg("--kube-api-qps=200")
    .arg("--kube-api-burst=400");
    cmd
}

/// kube-scheduler with its default profile.
pub fn kube_scheduler(bins: &Binaries, layout: &Layout) -> Command {
    let mut cmd = Command::new(&bins.kube_scheduler);
    cmd.arg(path_flag("--kubeconfig", &layout.scheduler_kubeconfig))
        .arg("--leader-elect=false")
        .arg("--secure-port=0")
        // A pod found unschedulable (its claim not bound yet) is retried on the claim's
        // change, or else after this long (5 min by default). A CI run restarting the
        // apiserver left a pod Pending 3.5 min with its claim bound, past the test's
        // 4 min: likely the event was lost with the watch (not shown: the scheduler's
        // log was not kept). Deprecated but still served by 1.34.
        .arg("--pod-max-in-unschedulable-pods-duration=30s")
        .arg("--kube-api-qps=200")
        .arg("--kube-api-burst=400");
    cmd
}

/// KWOK playing kubelet for the nodes labelled `type=kwok`, with the stages in
/// `assets/kubernetes/kwok-stages.yaml` (plus an opt-in readiness delay, see
/// [`READY_DELAY_ANNOTATION`]). HOME points into the environment so a
/// developer's own `~/.kwok/kwok.yaml`, which KWOK always loads, cannot change behaviour.
pub fn kwok(bins: &Binaries, layout: &Layout) -> anyhow::Result<Command> {
    let stages = layout.kwok_home.join("stages.yaml");
    std::fs::write(&stages, kwok_stages()?)?;
    let mut cmd = Command::new(&bins.kwok);
    cmd.env("HOME", &layout.kwok_home)
        .arg(path_flag("--kubeconfig", &layout.admin_kubeconfig))
        .arg(path_flag("--config", &stages))
        .arg("--manage-all-nodes=false")
        .arg("--manage-nodes-with-label-selector=type=kwok")
        // Keep node Leases fresh so the node lifecycle controller never marks nodes
        // NotReady and evicts their pods.
        .arg("--node-lease-duration-seconds=40")
        .arg(format!("--cidr={KWOK_POD_CIDR}"));
    Ok(cmd)
}

/// A free port that is none of `taken`.
pub fn free_port_except(taken: &[u16]) -> u16 {
    loop {
        let port = free_port();
        if !taken.contains(&port) {
            return port;
        }
    }
}

fn path_flag(flag: &str, path: &Path) -> String {
    format!("{flag}={}", path.display())
}

impl crate::wait::Supervised for Processes {
    fn ensure_running(&mut self) -> anyhow::Result<()> {
        Processes::ensure_running(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Value> {
        serde_norway::Deserializer::from_str(text)
            .map(|document| Value::deserialize(document).unwrap())
            .collect()
    }

    #[test]
    fn kwok_stages_are_the_defaults_with_a_pod_ready_delay() {
        let original = parse(KWOK_STAGES);
        let mut written = parse(&kwok_stages().unwrap());
        let names: Vec<_> = (written.iter())
            .map(|stage| stage["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "node-initialize",
                "node-heartbeat-with-lease",
                "pod-ready",
                "pod-complete",
                "pod-delete"
            ]
        );
        let spec = written[2]["spec"].as_mapping_mut().unwrap();
        let delay = spec.remove("delay").unwrap();
        let expected: Value = serde_norway::from_str(
            "durationMilliseconds: 0\n\
             durationFrom:\n  expressionFrom: '.metadata.annotations[\"pod-ready.stage.kwok.x-k8s.io/delay\"]'\n",
        )
        .unwrap();
        assert_eq!(delay, expected);
        // Everything else, the pod-ready stage's status template included, as shipped.
        assert_eq!(written, original);
    }
}

//! Pod-level building blocks shared by Pinot pools and ZooKeeper: security context,
//! probes, and the pod spec assembled from a pool's merged Kubernetes settings.

use api::settings::KubernetesSettings;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EnvVar, ExecAction, HTTPGetAction, KeyToPath, Lifecycle,
    LifecycleHandler, PodSecurityContext, PodSpec, Probe, SeccompProfile, SecretVolumeSource,
    SecurityContext, SleepAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// User and group of the Pinot and ZooKeeper images' unprivileged user.
pub const RUN_AS: i64 = 1000;

/// Runs as a non-root user; `fsGroup` makes the data volume writable to it.
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        fs_group: Some(RUN_AS),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..PodSecurityContext::default()
    }
}

/// No privilege escalation and no Linux capabilities.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        ..SecurityContext::default()
    }
}

/// A volume holding one key of Secret `secret` as the file `file`, readable by the
/// pod's group only.
pub fn secret_key_volume(volume: &str, secret: &str, key: &str, file: &str) -> Volume {
    Volume {
        name: volume.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            items: Some(vec![KeyToPath {
                key: key.into(),
                path: file.into(),
                mode: None,
            }]),
            default_mode: Some(0o440),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// `volume` mounted read-only at `path`.
pub fn read_only_mount(volume: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: volume.into(),
        mount_path: path.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// An HTTP GET probe on a named container port.
pub fn http_probe(path: &str, port: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// A probe that runs `command` in the container.
pub fn exec_probe(command: &[&str], period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|c| (*c).to_owned()).collect()),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

/// Startup, liveness and readiness probes. The startup probe gives a JVM loading
/// segments up to 10 minutes before liveness starts counting, asking every 5 s: a
/// rollout waits for each restarted pod, and a 10 s period cost it 5 s a pod on
/// average (about 100 s over the 20 restarts of the real-pod test's rollouts).
pub fn probes(container: &mut Container, port: &str, readiness: &str, liveness: &str) {
    container.startup_probe = Some(http_probe(liveness, port, 5, 120));
    container.liveness_probe = Some(http_probe(liveness, port, 10, 3));
    container.readiness_probe = Some(http_probe(readiness, port, 5, 3));
}

/// A `preStop` hook that sleeps `seconds` (kubelet's own sleep action: the image
/// needs no `sleep` binary).
pub fn pre_stop_sleep(seconds: i64) -> Lifecycle {
    Lifecycle {
        pre_stop: Some(LifecycleHandler {
            sleep: Some(SleepAction { seconds }),
            ..LifecycleHandler::default()
        }),
        ..Lifecycle::default()
    }
}

/// Operator variables first, then the user's (merged by name: a user variable of the
/// same name replaces the operator's, e.g. to take over `JAVA_OPTS` entirely).
pub fn env(operator: Vec<EnvVar>, settings: &KubernetesSettings) -> Vec<EnvVar> {
    let mut vars = operator;
    crate::cluster::desired::merge::override_env(&mut vars, settings.env.iter().flatten());
    vars
}

pub fn env_var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// The pod spec around `container`, with the pool's scheduling settings.
pub fn pod_spec(
    container: Container,
    volumes: Vec<Volume>,
    settings: &KubernetesSettings,
    default_grace: i64,
) -> PodSpec {
    PodSpec {
        containers: vec![container],
        volumes: (!volumes.is_empty()).then_some(volumes),
        node_selector: (!settings.node_selector.is_empty()).then(|| settings.node_selector.clone()),
        tolerations: settings.tolerations.clone(),
        affinity: settings.affinity.clone(),
        service_account_name: settings.service_account_name.clone(),
        image_pull_secrets: settings.image_pull_secrets.clone(),
        termination_grace_period_seconds: Some(
            settings
                .termination_grace_period_seconds
                .unwrap_or(default_grace),
        ),
        security_context: Some(pod_security_context()),
        ..PodSpec::default()
    }
}

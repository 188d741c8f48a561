//! A real node leaves nothing on the machine: not after a normal teardown, and not
//! after a crashed (SIGKILLed) run, whose leftovers the next start removes. One test,
//! because only one real node can exist on a machine at a time.

mod real_node_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use real_node_common::{apply, namespace, pod_ip, pod_manifest};
use testenv::kubernetes::real_node::{BRIDGE, CGROUP_ROOT, GUARD_CHAIN, host_directories};
use testenv::kubernetes::{Kubernetes, KubernetesOptions, pinot_image};

const OPTIONS: KubernetesOptions = KubernetesOptions { real_node: true };

#[test]
fn teardown_and_a_crashed_run_leave_nothing_behind() {
    let crashed = Kubernetes::start_with(OPTIONS).expect("start a real node");
    run_a_pod(&crashed, "before-crash");
    crashed.abandon();
    let left = leftovers();
    assert!(
        left.iter().any(|l| l.starts_with("process"))
            && left.iter().any(|l| l.starts_with("bridge")),
        "a crash should leave containers and the bridge behind, found {left:?}"
    );

    let next = Kubernetes::start_with(OPTIONS).expect("start over a crashed run");
    let containers = ctr(&["containers", "ls", "--quiet"]);
    assert_eq!(
        containers.trim(),
        "",
        "containers of the crashed run survived"
    );
    run_a_pod(&next, "after-crash");
    drop(next);

    assert_eq!(leftovers(), Vec::<String>::new());
    let containers = with_bare_containerd(|| ctr(&["containers", "ls", "--quiet"]));
    assert_eq!(
        containers.trim(),
        "",
        "containers left in containerd's k8s.io namespace"
    );
}

fn run_a_pod(k8s: &Kubernetes, prefix: &str) {
    let ns = namespace(k8s, prefix);
    apply(
        k8s,
        &ns,
        &pod_manifest("sleeper", &pinot_image(), "Always", &["sleep", "infinity"]),
    );
    pod_ip(k8s, &ns, "sleeper");
}

/// Everything of a real node still on the machine, one description per finding.
fn leftovers() -> Vec<String> {
    let (_, run, lib) = host_directories();
    let mut found = Vec::new();
    let socket = run.join("containerd.sock").display().to_string();
    for pid in pids_with_cmdline(&socket)
        .into_iter()
        .chain(pids_with_cmdline("sleep\0infinity"))
    {
        found.push(format!("process {pid}"));
    }
    if Path::new("/sys/class/net").join(BRIDGE).exists() {
        found.push(format!("bridge {BRIDGE}"));
    }
    for save in ["iptables-save", "ip6tables-save"] {
        let rules = output(save, &[]);
        for chain in rules.lines().filter_map(|l| l.strip_prefix(':')) {
            if chain.starts_with("KUBE-") || chain.starts_with(GUARD_CHAIN) {
                found.push(format!("{save} chain {chain}"));
            }
        }
    }
    if output("ip", &["route"]).contains("198.18.") {
        found.push("a route into 198.18.0.0/15".into());
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for line in mounts
        .lines()
        .filter(|l| l.contains(&*run.to_string_lossy()) || l.contains(&*lib.to_string_lossy()))
    {
        found.push(format!("mount {line}"));
    }
    for dir in [run, lib] {
        if dir.exists() {
            found.push(format!("directory {}", dir.display()));
        }
    }
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .filter_map(Result::ok)
    {
        if hierarchy.path().join(CGROUP_ROOT).exists() {
            found.push(format!(
                "cgroup {}",
                hierarchy.path().join(CGROUP_ROOT).display()
            ));
        }
    }
    found
}

fn pids_with_cmdline(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const BARE_SOCKET: &str = "/tmp/real-node-cleanup-check.sock";

fn ctr(args: &[&str]) -> String {
    let mut all = vec!["--address", BARE_SOCKET, "--namespace", "k8s.io"];
    all.extend_from_slice(args);
    output("ctr", &all)
}

/// Runs `check` against a containerd on the real node's root (where its metadata
/// lives) with a state directory and socket of its own, stopped afterwards.
fn with_bare_containerd<T>(check: impl FnOnce() -> T) -> T {
    let (root, ..) = host_directories();
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "version = 2\nroot = \"{}\"\nstate = \"{}\"\n[grpc]\n  address = \"{BARE_SOCKET}\"\n",
            root.display(),
            state.path().display()
        ),
    )
    .unwrap();
    let mut containerd: Child = Command::new("unshare")
        .args(["--mount", "--", "containerd", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if Command::new("ctr")
            .args(["--address", BARE_SOCKET, "version"])
            .output()
            .unwrap()
            .status
            .success()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = check();
    let _ = containerd.kill();
    let _ = containerd.wait();
    let _ = std::fs::remove_file(BARE_SOCKET);
    result
}

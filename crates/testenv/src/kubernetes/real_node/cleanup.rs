//! Removing what a real node leaves on the host, whether it was stopped or SIGKILLed.
//!
//! The node's processes run in a private mount namespace (see `containerd`), so the
//! container root filesystems, volume mounts and network-namespace mounts exist only
//! there and vanish with its last process; what a crash leaves on the host is:
//! containers and their shims (they outlive containerd by design), pod cgroups, the
//! bridge, routes, iptables chains, a changed `ip_forward`, and the state directories.
//! Each is found by its fixed name (see `paths`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::cgroups;
use super::host::run_quietly;
use super::iptables;
use super::network;
use super::paths::HostPaths;

/// How long killed processes get to disappear before cgroups are removed anyway.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// Removes everything the node may have left, in dependency order: processes first
/// (they hold cgroups, namespaces and mounts), then host state, then files.
pub fn remove_leftovers(paths: &HostPaths) {
    kill_node_processes(paths);
    cgroups::remove();
    unmount_under(&[&paths.run, &paths.lib]);
    network::tear_down(paths);
    iptables::remove_chains();
    let _ = std::fs::remove_dir_all(&paths.run);
    let _ = std::fs::remove_dir_all(&paths.lib);
}

/// SIGKILLs every process in the pods' cgroups and every containerd shim serving our
/// socket, then waits for them to go.
pub fn kill_node_processes(paths: &HostPaths) {
    let mut pids = cgroups::pids();
    pids.extend(shim_pids(&paths.containerd_socket()));
    for &pid in &pids {
        // SAFETY: plain syscall; a pid that already exited only makes it fail.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let deadline = Instant::now() + EXIT_WAIT;
    while pids.iter().any(|pid| alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes whose command line names our containerd socket: the shims.
fn shim_pids(socket: &Path) -> Vec<i32> {
    let needle = socket.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| cmd.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; its state letter says it is gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit(") ").next().unwrap_or("").starts_with('Z'))
}

/// Lazily unmounts anything mounted under `dirs` in the host's namespace. Normally
/// nothing is (mounts live in the node's private namespace); this covers a mount that
/// propagated anyway, before the directories are deleted.
fn unmount_under(dirs: &[&Path]) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = mountinfo
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter(|point| dirs.iter().any(|d| Path::new(point).starts_with(d)))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        run_quietly("umount", &["-l", point]);
    }
}

//! The pods' cgroups: the kubelet's `cgroupRoot` in every cgroup v1 hierarchy. Created
//! before the kubelet starts (it refuses a root that does not exist), removed on
//! teardown with everything below it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::paths::CGROUP_ROOT;

/// Creates the root in every hierarchy. cpuset children start with no CPUs or memory
/// nodes (v1 does not inherit them): copy the parent's, or no task could join.
pub fn create_root() -> anyhow::Result<()> {
    for entry in std::fs::read_dir("/sys/fs/cgroup")?.filter_map(Result::ok) {
        let hierarchy = entry.path();
        if !hierarchy.join("cgroup.procs").exists() || hierarchy.ends_with("unified") {
            continue;
        }
        let root = hierarchy.join(CGROUP_ROOT);
        std::fs::create_dir_all(&root)?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(value) = std::fs::read_to_string(hierarchy.join(file)) {
                std::fs::write(root.join(file), value.trim())?;
            }
        }
    }
    Ok(())
}

/// Our cgroup root in every mounted hierarchy (`/sys/fs/cgroup/<name>/<root>`).
fn roots() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path().join(CGROUP_ROOT))
        .filter(|p| p.is_dir())
        .collect()
}

pub fn pids() -> Vec<i32> {
    let mut pids = Vec::new();
    for root in roots() {
        for dir in subtree(&root) {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `dir` and every directory below it, parents before children.
fn subtree(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_owned()];
    let mut index = 0;
    while index < all.len() {
        if let Ok(entries) = std::fs::read_dir(&all[index]) {
            all.extend(
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
        index += 1;
    }
    all
}

/// Removes our cgroup subtrees, children first; retried briefly because a cgroup whose
/// last task just died can still be busy.
pub fn remove() {
    for root in roots() {
        for attempt in 0..20 {
            let mut dirs = subtree(&root);
            dirs.reverse();
            let failed = dirs
                .iter()
                .filter(|d| std::fs::remove_dir(d).is_err())
                .count();
            if failed == 0 {
                break;
            }
            if attempt == 19 {
                tracing::warn!("cgroup {} could not be removed", root.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

//! One real node per machine: it owns fixed names (bridge, cgroup root, iptables chains,
//! state directories), so a second one would tear down the first one's pods. An
//! exclusive `flock` on a fixed file says who runs; the kernel drops it when the holder
//! dies, even by SIGKILL, so a crashed run never blocks the next.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, bail};

/// Held for as long as the real node exists.
pub struct MachineLock {
    _file: File,
}

impl MachineLock {
    /// Takes the lock or fails naming the process holding it.
    pub fn acquire(path: &Path) -> anyhow::Result<MachineLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("open {}", path.display()))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "another real-node test environment runs on this machine (pid {}, lock {}): \
                 only one can, because they share the bridge, cgroups and iptables chains",
                holder.trim(),
                path.display()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        Ok(MachineLock { _file: file })
    }
}

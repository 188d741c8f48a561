//! The JVMs of one cluster.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::ManagedProcess;

/// The running processes, in start order (killed in reverse).
#[derive(Default)]
pub struct Processes(Vec<ManagedProcess>);

impl Processes {
    /// Starts `command` as `name`, logging to `<log_dir>/<name>.log`.
    pub fn spawn(
        &mut self,
        name: &str,
        command: Command,
        log_dir: &std::path::Path,
    ) -> anyhow::Result<()> {
        let process = ManagedProcess::spawn(name, command, log_dir)
            .with_context(|| format!("start {name} (is Java 11+ on PATH as `java`?)"))?;
        self.0.push(process);
        Ok(())
    }

    pub fn is_running(&mut self, name: &str) -> bool {
        self.0
            .iter_mut()
            .any(|p| p.name() == name && p.exited().is_none())
    }

    /// Stops the process `name` (SIGTERM, then SIGKILL after `grace`) and forgets it.
    pub fn stop(&mut self, name: &str, grace: Duration) {
        if let Some(index) = self.0.iter().position(|p| p.name() == name) {
            self.0.remove(index).stop(grace);
        }
    }

    /// Fails naming the first process that has exited: nothing restarts them, so a dead
    /// JVM means the cluster can never become ready.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        for process in &mut self.0 {
            if let Some(status) = process.exited() {
                bail!(
                    "{} exited ({status}); see {}",
                    process.name(),
                    process.log_path().display()
                );
            }
        }
        Ok(())
    }

    /// The end of every log (or only of `name`'s), for error messages.
    pub fn log_tails(&self, only: Option<&str>, lines: usize) -> String {
        self.0
            .iter()
            .filter(|p| only.is_none_or(|name| p.name() == name))
            .map(|p| {
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

    /// The log text of `name` so far, empty if it has none.
    pub fn log(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|p| p.name() == name)
            .and_then(|p| std::fs::read_to_string(p.log_path()).ok())
            .unwrap_or_default()
    }

    /// Kills every process, the last started first.
    pub fn kill_all(&mut self) {
        while let Some(process) = self.0.pop() {
            drop(process);
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.kill_all();
    }
}

impl crate::wait::Supervised for Processes {
    fn ensure_running(&mut self) -> anyhow::Result<()> {
        Processes::ensure_running(self)
    }
}

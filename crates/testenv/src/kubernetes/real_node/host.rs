//! Running the host's own tools (ip, iptables, ctr, sysctl files) with errors that say
//! what failed and what the tool printed.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Runs `program args`, failing with its stderr when it exits non-zero; returns stdout.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {program}"))?;
    succeeded(program, args, &output)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Fails with the command and its stderr unless it exited 0.
fn succeeded(program: &str, args: &[&str], output: &std::process::Output) -> anyhow::Result<()> {
    if !output.status.success() {
        bail!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Like [`run`], but a failure is only logged: cleanup goes on with the next step.
pub fn run_quietly(program: &str, args: &[&str]) -> Option<String> {
    run(program, args)
        .inspect_err(|e| tracing::debug!("cleanup step failed: {e:#}"))
        .ok()
}

/// Runs `program args` with `input` on stdin, failing with its stderr.
pub fn run_with_input(program: &str, args: &[&str], input: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("run {program}"))?;
    child.stdin.take().expect("piped stdin").write_all(input)?;
    succeeded(program, args, &child.wait_with_output()?)
}

/// Writes a `/proc/sys` value, e.g. `write_sysctl("net/ipv4/ip_forward", "1")`.
pub fn write_sysctl(key: &str, value: &str) -> anyhow::Result<()> {
    let path = Path::new("/proc/sys").join(key);
    std::fs::write(&path, value).with_context(|| format!("write {}", path.display()))
}

/// Reads a `/proc/sys` value, trimmed.
pub fn read_sysctl(key: &str) -> anyhow::Result<String> {
    let path = Path::new("/proc/sys").join(key);
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("read {}", path.display()))?
        .trim()
        .to_owned())
}

//! Benchmark of the operator against the real components: a real kube-apiserver (with
//! KWOK nodes) and a real Apache Pinot, the operator as its own release-built process.
//! Prints figures as markdown tables with each target and whether it was met; asserts
//! nothing (tests assert behaviour, this measures it; a human reads the output).
//!
//! ```text
//! pinot-bench [--sizes 100,1000] [--steady-seconds 300] [--changes 200]
//!             [--resync-seconds 60] [--ready-delay 5s]
//!             [--only admission|convergence|steady|latency|rollout|real-rollout]
//!             [--crds DIR]
//! ```
//!
//! Run it through `scripts/bench.sh` (which builds the release binaries first and
//! passes its arguments through). Results and their reading: `docs/benchmarks.md`.

mod admission;
mod convergence;
mod env;
mod floors;
mod latency;
mod real_rollout;
mod report;
mod rollout;
mod steady;

use std::time::Duration;

use anyhow::{Context, bail};

use env::Env;

const USAGE: &str = "usage: pinot-bench [--sizes 100,1000] [--steady-seconds 300] [--changes 200] \
                     [--resync-seconds 60] [--ready-delay 5s] \
                     [--only admission|convergence|steady|latency|rollout|real-rollout] \
                     [--crds DIR]";

/// What to run, and how big; the defaults are the figures of the issue.
#[derive(Debug, Clone)]
pub struct Options {
    /// Schema + table pairs per convergence run; the largest stays for steady/latency.
    pub sizes: Vec<usize>,
    pub steady: Duration,
    pub changes: usize,
    /// The operator's `--resync-seconds`.
    pub resync: Duration,
    /// KWOK readiness delay of every pod in the rollout benchmark (Go duration).
    pub ready_delay: String,
    pub only: Option<Bench>,
    /// CRDs to install instead of `deploy/crds` (to compare what admission costs).
    pub crds: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bench {
    Admission,
    Convergence,
    Steady,
    Latency,
    Rollout,
    RealRollout,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
        let mut options = Options {
            sizes: vec![100, 1000],
            steady: Duration::from_secs(300),
            changes: 200,
            resync: Duration::from_secs(60),
            ready_delay: "5s".into(),
            only: None,
            crds: None,
        };
        while let Some(flag) = args.next() {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            match flag.as_str() {
                "--sizes" => {
                    options.sizes = value
                        .split(',')
                        .map(|s| s.trim().replace('_', "").parse::<usize>())
                        .collect::<Result<_, _>>()
                        .with_context(|| format!("--sizes {value}"))?;
                    if options.sizes.is_empty() || options.sizes.contains(&0) {
                        bail!("--sizes needs positive numbers");
                    }
                }
                "--steady-seconds" => options.steady = Duration::from_secs(value.parse()?),
                "--changes" => options.changes = value.parse()?,
                "--resync-seconds" => options.resync = Duration::from_secs(value.parse()?),
                "--ready-delay" => options.ready_delay = value,
                "--crds" => options.crds = Some(value.into()),
                "--only" => {
                    options.only = Some(match value.as_str() {
                        "admission" => Bench::Admission,
                        "convergence" => Bench::Convergence,
                        "steady" => Bench::Steady,
                        "latency" => Bench::Latency,
                        "rollout" => Bench::Rollout,
                        "real-rollout" => Bench::RealRollout,
                        other => bail!("unknown benchmark {other}\n{USAGE}"),
                    })
                }
                other => bail!("unknown argument {other}\n{USAGE}"),
            }
        }
        Ok(options)
    }

    /// Every benchmark runs unless one is asked for; admission alone only when asked
    /// for (convergence measures it too).
    fn runs(&self, bench: Bench) -> bool {
        match self.only {
            Some(only) => only == bench,
            None => bench != Bench::Admission,
        }
    }

    /// The size the steady-state and latency benchmarks run at.
    pub fn largest(&self) -> usize {
        self.sizes.iter().copied().max().unwrap_or(1000)
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    report::print_header(&options);
    let mut env = Env::start(&options)?;

    if options.runs(Bench::Admission) {
        convergence::run_admission(&env, &options)?;
    }
    let mut content = None;
    if options.runs(Bench::Convergence) {
        content = Some(convergence::run(&mut env, &options)?);
    }
    if options.runs(Bench::Steady) || options.runs(Bench::Latency) {
        // The content the other two run against, in the Pinot `env` holds now: the
        // largest convergence run's, or a fresh one when convergence was not asked for.
        let content = match content {
            Some(content) => content,
            None => convergence::populate(&mut env, options.largest())?,
        };
        if options.runs(Bench::Steady) {
            steady::run(&env, &options, &content)?;
        }
        if options.runs(Bench::Latency) {
            latency::run(&env, &options, &content)?;
        }
    }
    if options.runs(Bench::Rollout) {
        rollout::run(&env, &options)?;
    }
    if options.runs(Bench::RealRollout) {
        real_rollout::run(&env)?;
    }
    report::print_footer();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_the_issue_s_figures() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.sizes, [100, 1000]);
        assert_eq!(options.steady, Duration::from_secs(300));
        assert_eq!(options.changes, 200);
        assert!(options.only.is_none());
    }

    #[test]
    fn flags_override_and_only_selects_one() {
        let options = parse(&["--sizes", "10,1_000", "--only", "rollout"]).unwrap();
        assert_eq!(options.sizes, [10, 1000]);
        assert!(options.runs(Bench::Rollout) && !options.runs(Bench::Steady));
        assert!(parse(&["--only", "nope"]).is_err());
        assert!(parse(&["--sizes"]).is_err());
    }
}

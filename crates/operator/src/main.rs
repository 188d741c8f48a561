//! pinot-operator: a Kubernetes control plane for Apache Pinot.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use pinot_operator::{crd, rbac, run};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "pinot-operator",
    version,
    about = "Kubernetes operator for Apache Pinot"
)]
struct Cli {
    /// Log filter (e.g. `info`, `pinot_operator=debug`); RUST_LOG works too.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true)]
    log_level: String,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", default_value = "json", value_parser = ["json", "text"], global = true)]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controllers (in a cluster, or against the current kubeconfig).
    Run(run::RunOptions),
    /// Print the CustomResourceDefinitions as YAML.
    Crd {
        /// Write one file per CRD into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Print the RBAC rules the operator needs (the Helm chart's files/rules.yaml).
    Rbac,
}

fn init_logging(level: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd { write: Some(dir) } => crd::write_all(&dir)?,
        Command::Crd { write: None } => print!("{}", crd::all_yaml()),
        Command::Rbac => print!("{}", rbac::rules_yaml()),
        Command::Run(opts) => {
            init_logging(&cli.log_level, &cli.log_format);
            run::run(opts).await?;
        }
    }
    Ok(())
}

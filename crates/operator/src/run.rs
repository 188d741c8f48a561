//! `pinot-operator run`: every controller in one process, behind a leader-election
//! Lease so that of several replicas exactly one acts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::metrics::Metrics;

/// Settings of `pinot-operator run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// Namespaces to watch (repeat or comma-separate); all namespaces when empty.
    #[arg(long = "namespace", env = "WATCH_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Label selector (e.g. `pinot.operator.dev/shard=a`) the PinotClusters,
    /// PinotSchemas, PinotTables and PinotTenants this operator manages must match;
    /// empty: all. Two operators with disjoint selectors split a Kubernetes cluster.
    #[arg(long = "selector", env = "WATCH_SELECTOR", default_value = "")]
    pub selector: String,
    /// Seconds between comparisons of Pinot with the spec when nothing changed
    /// (how fast drift made directly in Pinot is reverted).
    #[arg(long, env = "RESYNC_SECONDS", default_value_t = 60)]
    pub resync_seconds: u64,
    /// Reconciles each controller runs at once (0: unbounded).
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES", default_value_t = crate::context::DEFAULT_CONCURRENCY)]
    pub max_concurrent_reconciles: u16,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "LISTEN_ADDRESS", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Take part in leader election (turn off only for a single replica you run by hand).
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// The Kubernetes cluster's DNS domain (kubelet's `--cluster-domain`): Pinot pods
    /// register under their host names, `<pod>.<service>.<namespace>.svc.<domain>`.
    #[arg(long, env = "CLUSTER_DOMAIN", default_value = crate::cluster::names::CLUSTER_DOMAIN)]
    pub cluster_domain: String,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "pinot-operator-leader")]
    pub lease_name: String,
    /// This replica's identity in the Lease (the pod name in a Deployment).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
}

/// Runs until SIGTERM/SIGINT, or until leadership is lost (then exits so that a
/// restart re-joins the election cleanly).
pub async fn run(opts: RunOptions) -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let server = tokio::spawn(crate::http::serve(
        opts.listen,
        ready.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    client.apiserver_version().await?;
    ready.store(true, Ordering::Relaxed);

    if opts.leader_election {
        lead_then_run(client, metrics, &opts, shutdown.clone()).await?;
    } else {
        run_controllers(client, metrics, &opts, shutdown.clone()).await;
    }
    shutdown.cancel();
    server.await??;
    Ok(())
}

async fn lead_then_run(
    client: Client,
    metrics: Arc<Metrics>,
    opts: &RunOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let identity = opts
        .identity
        .clone()
        .unwrap_or_else(|| format!("pinot-operator-{}", std::process::id()));
    let manager = LeaseManagerBuilder::new(client.clone(), &opts.lease_name)
        .with_namespace(&opts.lease_namespace)
        .with_identity(&identity)
        .with_duration(15)
        .with_grace(5)
        .build()
        .await?;
    let (mut leader, lease_task) = manager.watch().await;
    tracing::info!(%identity, lease = %opts.lease_name, "waiting to become leader");
    let elected = tokio::select! {
        _ = shutdown.cancelled() => false,
        result = leader.wait_for(|is_leader| *is_leader) => result.is_ok(),
    };
    if !elected {
        drop(leader);
        let _ = lease_task.await;
        return Ok(());
    }
    tracing::info!(%identity, "became leader; starting controllers");
    let controllers = shutdown.child_token();
    let lost = controllers.clone();
    let mut watch = leader.clone();
    tokio::spawn(async move {
        tokio::select! {
            result = watch.wait_for(|is_leader| !*is_leader) => if result.is_ok() {
                tracing::error!("lost leadership; stopping controllers");
                lost.cancel();
            },
            // Shutting down: drop this receiver so the lease task sees the channel close.
            _ = lost.cancelled() => {}
        }
    });
    run_controllers(client, metrics, opts, controllers).await;
    drop(leader);
    // Dropping the channel ends the lease task, which releases the Lease for the next leader.
    if let Ok(Ok(manager)) = lease_task.await {
        let _ = manager.release().await;
    }
    tracing::info!(%identity, "released leadership");
    Ok(())
}

/// Runs every controller for every watched namespace until `shutdown` is cancelled.
pub async fn run_controllers(
    client: Client,
    metrics: Arc<Metrics>,
    opts: &RunOptions,
    shutdown: CancellationToken,
) {
    let resync = Duration::from_secs(opts.resync_seconds.max(1));
    let scopes: Vec<Option<String>> = if opts.namespaces.is_empty() {
        vec![None]
    } else {
        opts.namespaces.iter().cloned().map(Some).collect()
    };
    let runs = scopes.into_iter().map(|namespace| {
        let ctx = Context::new(client.clone(), metrics.clone(), resync, namespace)
            .with_concurrency(opts.max_concurrent_reconciles)
            .with_cluster_domain(&opts.cluster_domain)
            .with_selector(&opts.selector);
        let ctx = Arc::new(ctx);
        run_scoped(ctx, shutdown.clone())
    });
    let all = futures::future::join_all(runs);
    let overdue = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = all => {}
        () = overdue => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "controllers still running after the shutdown grace; exiting anyway"
        ),
    }
}

/// How long controllers get to finish their reconciles after a shutdown, within the
/// pod's 30 s termination grace. A controller whose watch had not listed yet when
/// the shutdown came never stopped by itself: a CI run sent SIGTERM 83 ms after a
/// replica became leader, two of the four controllers stayed up, and the process was
/// still there 30 s later.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Runs every controller for the namespace scope of `ctx` until `shutdown` is cancelled.
pub async fn run_scoped(ctx: Arc<Context>, shutdown: CancellationToken) {
    tokio::join!(
        crate::content::run_all(ctx.clone(), shutdown.clone()),
        crate::cluster::run(ctx, shutdown),
    );
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
    shutdown.cancel();
}

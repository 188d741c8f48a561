//! Ingestion lag of a REALTIME table whose rows carry their production time in `ts`
//! (epoch milliseconds): now minus the newest row's `ts`, sampled once a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;

use crate::load::{Query, first_row};

/// Samples the lag until [`LagSampler::stop`], which returns the largest seen.
pub struct LagSampler {
    stop: Arc<AtomicBool>,
    worst_ms: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl LagSampler {
    /// Samples `table` through the broker and credentials of `query`.
    pub fn start(query: &Query, table: &str) -> LagSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let worst_ms = Arc::new(AtomicU64::new(0));
        let mut query = query.clone();
        query.sql = format!("SELECT MAX(ts) FROM {table}");
        let (flag, worst) = (stop.clone(), worst_ms.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(newest) = newest_ts(&client, &query).await {
                    let lag = now_ms().saturating_sub(newest);
                    worst.fetch_max(lag, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        LagSampler {
            stop,
            worst_ms,
            task,
        }
    }

    pub async fn stop(self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        Duration::from_millis(self.worst_ms.load(Ordering::Relaxed))
    }
}

fn now_ms() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_millis()).unwrap()
}

/// `MAX(ts)`: Pinot answers aggregations as DOUBLE.
async fn newest_ts(client: &reqwest::Client, query: &Query) -> Option<u64> {
    let row = first_row(client, query, &query.sql).await?;
    Some(row.first()?.as_f64()? as u64)
}

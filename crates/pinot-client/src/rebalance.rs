//! Table rebalance: `POST /tables/{name}/rebalance`.

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::types::TableType;

/// Rebalance switches. Every one is sent explicitly, so the server-side defaults (which
/// changed: `reassignInstances` defaults to true from 1.4) never matter. `Default` is
/// Pinot 0.11's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebalanceOptions {
    /// Only compute the target assignment.
    pub dry_run: bool,
    /// Recompute instance partitions (needed after tags/pools change).
    pub reassign_instances: bool,
    /// Also move CONSUMING segments of REALTIME tables.
    pub include_consuming: bool,
    /// Allow all replicas of a segment to move at once.
    pub downtime: bool,
    /// Without downtime: replicas to keep up (negative: how many may be down).
    pub min_available_replicas: i32,
    /// Go on when `min_available_replicas` cannot be honoured.
    pub best_efforts: bool,
}

impl Default for RebalanceOptions {
    fn default() -> Self {
        RebalanceOptions {
            dry_run: false,
            reassign_instances: false,
            include_consuming: false,
            downtime: false,
            min_available_replicas: 1,
            best_efforts: false,
        }
    }
}

/// Pinot's `RebalanceResult.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceStatus {
    /// Nothing to move.
    NoOp,
    /// Finished (always the case for a dry run that succeeded).
    Done,
    Failed,
    /// Running in the background; follow it with the job id (Pinot 1.x) or the logs.
    InProgress,
    /// A status this client does not know.
    Other(String),
}

impl RebalanceStatus {
    fn parse(text: &str) -> Self {
        match text {
            "NO_OP" => RebalanceStatus::NoOp,
            "DONE" => RebalanceStatus::Done,
            "FAILED" => RebalanceStatus::Failed,
            "IN_PROGRESS" => RebalanceStatus::InProgress,
            other => RebalanceStatus::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RebalanceResult {
    pub status: RebalanceStatus,
    /// Set by Pinot 1.x; 0.11 has no rebalance jobs.
    pub job_id: Option<String>,
    pub description: String,
    /// The whole answer, including `instanceAssignment` and `segmentAssignment`.
    pub raw: Value,
}

impl RebalanceResult {
    pub(crate) fn from_json(raw: Value) -> Result<Self, String> {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
        let status = text("status").ok_or("no status")?;
        Ok(RebalanceResult {
            status: RebalanceStatus::parse(&status),
            job_id: text("jobId"),
            description: text("description").unwrap_or_default(),
            raw,
        })
    }
}

impl PinotClient {
    /// Rebalances the table of that type. A dry run only reports the target assignment
    /// (and is safe to retry); a real rebalance returns `InProgress` and goes on in the
    /// controller (`NoOp` if nothing has to move).
    pub async fn rebalance(
        &self,
        table: &str,
        table_type: TableType,
        opts: &RebalanceOptions,
    ) -> Result<RebalanceResult, Error> {
        let endpoint = "POST /tables/{name}/rebalance";
        let mut request = Request::new(endpoint, ["tables", table, "rebalance"])
            .query("type", table_type)
            .query("dryRun", opts.dry_run)
            .query("reassignInstances", opts.reassign_instances)
            .query("includeConsuming", opts.include_consuming)
            .query("downtime", opts.downtime)
            .query("minAvailableReplicas", opts.min_available_replicas)
            .query("bestEfforts", opts.best_efforts);
        if opts.dry_run {
            request = request.idempotent();
        }
        let raw: Value = self.json(request).await?;
        RebalanceResult::from_json(raw).map_err(|m| Error::decode(endpoint, m))
    }

    /// `GET /rebalanceStatus/{job_id}` (Pinot 1.x): the job's progress document, `None`
    /// if the job is unknown (or the controller is 0.11, which has no such endpoint).
    pub async fn rebalance_status(&self, job_id: &str) -> Result<Option<Value>, Error> {
        let request = Request::new("GET /rebalanceStatus/{id}", ["rebalanceStatus", job_id]);
        none_if_not_found(self.json(request).await)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_a_0_11_result() {
        let raw = json!({"status": "DONE", "description": "Dry-run mode", "instanceAssignment": {},
                         "segmentAssignment": {"s": {"Server_a": "ONLINE"}}});
        let result = RebalanceResult::from_json(raw).unwrap();
        assert_eq!(result.status, RebalanceStatus::Done);
        assert_eq!(result.job_id, None);
        assert_eq!(result.description, "Dry-run mode");
    }

    #[test]
    fn reads_a_1_x_result() {
        let raw = json!({"jobId": "abc", "status": "IN_PROGRESS", "description": "In progress"});
        let result = RebalanceResult::from_json(raw).unwrap();
        assert_eq!(result.status, RebalanceStatus::InProgress);
        assert_eq!(result.job_id.as_deref(), Some("abc"));
        assert_eq!(
            RebalanceResult::from_json(json!({"status": "WEIRD"}))
                .unwrap()
                .status,
            RebalanceStatus::Other("WEIRD".into())
        );
        assert!(RebalanceResult::from_json(json!({})).is_err());
    }
}

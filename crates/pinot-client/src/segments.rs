//! Segment operations: `/segments`.

use crate::client::PinotClient;
use crate::error::Error;
use crate::request::Request;
use crate::types::TableType;

impl PinotClient {
    /// `POST /segments/{name}/reload?type=..`: reloads every segment of the table so
    /// index and schema changes take effect. Returns once Pinot accepted the job.
    pub async fn reload_table(&self, name: &str, table_type: TableType) -> Result<(), Error> {
        let request = Request::new("POST /segments/{name}/reload", ["segments", name, "reload"])
            .query("type", table_type);
        self.execute(request).await?;
        Ok(())
    }
}

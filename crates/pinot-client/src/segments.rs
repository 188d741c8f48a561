//! Segment operations: `/segments`, and what a reload request did.

use crate::client::PinotClient;
use crate::error::Error;
use crate::request::Request;
use crate::types::TableType;

/// What Pinot did with a request to reload a table's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// Reload messages went to the servers hosting the table's segments.
    Started,
    /// The table has no segments loaded anywhere, so there is nothing to reload. Pinot
    /// 1.x answers this with 404 "Failed to find any segments in table: x on every
    /// instance"; 0.11 with 200.
    NoSegments,
    /// No table is named after the schema (a schema update with `reload`): 404 "Failed
    /// to find table x to reload" (0.11 to 1.5), after the schema itself was updated.
    NoTable,
}

impl Reload {
    /// The 404 Pinot gives when a reload finds nothing to do, as what it means; `None`
    /// for any other error (a missing table is 404 "Table x does not exist").
    pub(crate) fn from_not_found(error: &Error) -> Option<Reload> {
        let Error::Http {
            status: 404,
            message,
            ..
        } = error
        else {
            return None;
        };
        if message.starts_with("Failed to find any segments") {
            Some(Reload::NoSegments)
        } else if message.starts_with("Failed to find table") && message.ends_with("to reload") {
            Some(Reload::NoTable)
        } else {
            None
        }
    }
}

impl PinotClient {
    /// `POST /segments/{name}/reload?type=..`: reloads every segment of the table so
    /// index and schema changes take effect. Returns once Pinot accepted the job, or
    /// [`Reload::NoSegments`] when the table has none loaded. A missing table is an
    /// error ([`Error::is_not_found`]).
    pub async fn reload_table(&self, name: &str, table_type: TableType) -> Result<Reload, Error> {
        let request = Request::new("POST /segments/{name}/reload", ["segments", name, "reload"])
            .query("type", table_type);
        match self.execute(request).await {
            Ok(_) => Ok(Reload::Started),
            Err(e) => Reload::from_not_found(&e).ok_or(e),
        }
    }

    /// `POST /segments/{tableNameWithType}/{segment}/reset?targetInstance=..` (0.11
    /// and 1.x): takes the segment on that server through OFFLINE and back to what
    /// the ideal state wants, so a segment in ERROR is loaded again. The controller
    /// answers once the reset messages are sent, not once the segment is back.
    pub async fn reset_segment(
        &self,
        table_with_type: &str,
        segment: &str,
        instance: &str,
    ) -> Result<(), Error> {
        let request = Request::new(
            "POST /segments/{table}/{segment}/reset",
            ["segments", table_with_type, segment, "reset"],
        )
        .query("targetInstance", instance);
        self.execute(request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(message: &str) -> Error {
        let body = serde_json::json!({"code": 404, "error": message}).to_string();
        Error::from_response("POST /segments/{name}/reload", 404, &body)
    }

    /// Pinot 1.5.1's answers, observed on a real cluster (PINOT-NOTES.md).
    #[test]
    fn nothing_to_reload_is_not_an_error() {
        let empty = not_found("Failed to find any segments in table: events on every instance");
        assert_eq!(Reload::from_not_found(&empty), Some(Reload::NoSegments));
        let no_table = not_found("Failed to find table events to reload");
        assert_eq!(Reload::from_not_found(&no_table), Some(Reload::NoTable));
    }

    #[test]
    fn a_missing_table_or_schema_stays_an_error() {
        for message in [
            "Table events_OFFLINE does not exist",
            "Failed to find schema events",
        ] {
            assert_eq!(Reload::from_not_found(&not_found(message)), None);
        }
        let other = Error::from_response("x", 500, "Failed to find any segments");
        assert_eq!(Reload::from_not_found(&other), None);
    }
}

//! Controller-wide calls: health and version.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::{PinotClient, none_if_not_found};
use crate::error::Error;
use crate::request::Request;
use crate::version::controller_version;

impl PinotClient {
    /// `GET /health`: `Ok` once the controller reports itself `GOOD`. While it starts,
    /// the controller answers 503 (retried, then an [`Error::Http`] that
    /// [`Error::is_unreachable`]).
    pub async fn health(&self) -> Result<(), Error> {
        self.execute(Request::new("GET /health", ["health"]))
            .await?;
        Ok(())
    }

    /// `GET /version`: the controller's release string (e.g. `0.11.0-<git sha>`); parse
    /// it with [`crate::PinotVersion::parse`]. `None` if the endpoint is missing or
    /// lists no usable version.
    pub async fn version(&self) -> Result<Option<String>, Error> {
        let request = Request::new("GET /version", ["version"]);
        // Values are JSON null for jars without an Implementation-Version.
        let components: Option<BTreeMap<String, Value>> =
            none_if_not_found(self.json(request).await)?;
        let strings = components
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(title, version)| Some((title, version.as_str()?.to_owned())))
            .collect();
        Ok(controller_version(&strings))
    }
}

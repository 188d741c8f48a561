//! Checks of Pinot documents that the CRD schema cannot express. Pure: they run
//! before anything is sent to Pinot, so a bad spec never reaches it.

use std::collections::BTreeSet;

use serde_json::Value;

use super::error::SyncError;

/// Column data types Pinot accepts.
const DATA_TYPES: &[&str] = &[
    "INT",
    "LONG",
    "FLOAT",
    "DOUBLE",
    "BIG_DECIMAL",
    "BOOLEAN",
    "TIMESTAMP",
    "STRING",
    "JSON",
    "BYTES",
];
const FIELD_SPEC_LISTS: &[&str] = &[
    "dimensionFieldSpecs",
    "metricFieldSpecs",
    "dateTimeFieldSpecs",
];

/// Validates a schema document: columns, their types, and primary keys.
pub fn schema(doc: &Value) -> Result<(), SyncError> {
    let invalid = |m: String| Err(SyncError::InvalidSchema(m));
    let mut columns = BTreeSet::new();
    for list in FIELD_SPEC_LISTS {
        let Some(specs) = doc.get(*list) else {
            continue;
        };
        let Some(specs) = specs.as_array() else {
            return invalid(format!("{list} must be a list of columns"));
        };
        for spec in specs {
            let name = column(spec, list).map_err(SyncError::InvalidSchema)?;
            if !columns.insert(name.to_owned()) {
                return invalid(format!("column {name:?} is defined more than once"));
            }
        }
    }
    if columns.is_empty() {
        return invalid("the schema defines no columns".into());
    }
    for key in string_list(doc, "primaryKeyColumns").map_err(SyncError::InvalidSchema)? {
        if !columns.contains(key) {
            return invalid(format!(
                "primary key column {key:?} is not a column of the schema"
            ));
        }
    }
    Ok(())
}

fn column<'a>(spec: &'a Value, list: &str) -> Result<&'a str, String> {
    let name = spec
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("every entry of {list} needs a name"))?;
    let data_type = spec
        .get("dataType")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("column {name:?} needs a dataType"))?;
    if !DATA_TYPES.contains(&data_type) {
        return Err(format!(
            "column {name:?} has unknown dataType {data_type:?} (one of {})",
            DATA_TYPES.join(", ")
        ));
    }
    if list == "dateTimeFieldSpecs" {
        for key in ["format", "granularity"] {
            if spec.get(key).and_then(Value::as_str).is_none() {
                return Err(format!("dateTime column {name:?} needs {key}"));
            }
        }
    }
    Ok(name)
}

fn string_list<'a>(doc: &'a Value, key: &str) -> Result<Vec<&'a str>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| format!("{key} must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a list of strings")),
    }
}

/// Validates a table config against its type: REALTIME needs a stream, upsert needs REALTIME.
pub fn table(doc: &Value) -> Result<(), SyncError> {
    let invalid = |m: &str| Err(SyncError::InvalidTable(m.to_owned()));
    let realtime = doc.get("tableType").and_then(Value::as_str) == Some("REALTIME");
    if !doc.get("segmentsConfig").is_some_and(Value::is_object) {
        return invalid("segmentsConfig is required");
    }
    for key in [
        "tenants",
        "tableIndexConfig",
        "metadata",
        "ingestionConfig",
        "upsertConfig",
    ] {
        if doc.get(key).is_some_and(|v| !v.is_object() && !v.is_null()) {
            return Err(SyncError::InvalidTable(format!("{key} must be an object")));
        }
    }
    let has_stream = doc.pointer("/tableIndexConfig/streamConfigs").is_some()
        || doc
            .pointer("/ingestionConfig/streamIngestionConfig")
            .is_some();
    if realtime && !has_stream {
        return invalid(
            "a REALTIME table needs tableIndexConfig.streamConfigs or ingestionConfig.streamIngestionConfig",
        );
    }
    if !realtime && doc.get("upsertConfig").is_some_and(|v| !v.is_null()) {
        return invalid("upsertConfig applies to REALTIME tables only");
    }
    schema_name_is_table_name(doc)
}

/// Admission refuses a `segmentsConfig.schemaName` other than `tableName`; objects
/// admitted before that rule existed are refused here, before anything reaches Pinot.
fn schema_name_is_table_name(doc: &Value) -> Result<(), SyncError> {
    let schema = doc.pointer("/segmentsConfig/schemaName");
    if schema.is_none_or(|s| Some(s) == doc.get("tableName")) {
        return Ok(());
    }
    Err(SyncError::InvalidTable(format!(
        "segmentsConfig.schemaName {} must equal tableName (or be left out): Pinot 1.x \
         finds a table's schema by its table name only",
        schema.unwrap_or(&Value::Null)
    )))
}

/// The schema a table config uses: `segmentsConfig.schemaName`, else the raw table
/// name (configs read back from Pinot carry the `_OFFLINE`/`_REALTIME` suffix). Pinot
/// 0.11 honours `schemaName` in configs it stores; 1.x neither stores nor honours it.
pub fn table_schema_name(doc: &Value) -> Option<&str> {
    doc.pointer("/segmentsConfig/schemaName")
        .and_then(Value::as_str)
        .or_else(|| {
            doc.get("tableName")
                .and_then(Value::as_str)
                .map(raw_table_name)
        })
}

/// `events_OFFLINE` → `events`.
pub fn raw_table_name(name: &str) -> &str {
    name.strip_suffix("_OFFLINE")
        .or_else(|| name.strip_suffix("_REALTIME"))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events_schema() -> Value {
        json!({"schemaName": "events",
            "dimensionFieldSpecs": [{"name": "id", "dataType": "STRING"}],
            "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
            "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}],
            "primaryKeyColumns": ["id"]})
    }

    fn reason(r: Result<(), SyncError>) -> String {
        let e = r.expect_err("must be invalid");
        format!("{}: {e}", e.reason())
    }

    #[test]
    fn accepts_a_realistic_schema() {
        schema(&events_schema()).unwrap();
    }

    #[test]
    fn rejects_unknown_column_types() {
        let mut doc = events_schema();
        doc["metricFieldSpecs"][0]["dataType"] = json!("MONEY");
        assert!(
            reason(schema(&doc))
                .starts_with("InvalidSchema: column \"amount\" has unknown dataType \"MONEY\"")
        );
    }

    #[test]
    fn rejects_duplicate_and_missing_columns() {
        let mut doc = events_schema();
        doc["metricFieldSpecs"][0]["name"] = json!("id");
        assert!(reason(schema(&doc)).contains("defined more than once"));
        assert!(reason(schema(&json!({"schemaName": "x"}))).contains("defines no columns"));
    }

    #[test]
    fn rejects_primary_keys_that_are_not_columns() {
        let mut doc = events_schema();
        doc["primaryKeyColumns"] = json!(["nope"]);
        assert!(reason(schema(&doc)).contains("primary key column \"nope\""));
    }

    #[test]
    fn rejects_datetime_columns_without_format() {
        let mut doc = events_schema();
        doc["dateTimeFieldSpecs"][0]
            .as_object_mut()
            .unwrap()
            .remove("format");
        assert!(reason(schema(&doc)).contains("needs format"));
    }

    #[test]
    fn realtime_tables_need_a_stream() {
        let doc = json!({"tableName": "e", "tableType": "REALTIME", "segmentsConfig": {}});
        assert!(reason(table(&doc)).starts_with("InvalidTable: a REALTIME table needs"));
        let ok = json!({"tableName": "e", "tableType": "REALTIME", "segmentsConfig": {},
            "tableIndexConfig": {"streamConfigs": {"streamType": "kafka"}}});
        table(&ok).unwrap();
    }

    #[test]
    fn upsert_needs_realtime_and_segments_config_is_required() {
        let doc = json!({"tableName": "e", "tableType": "OFFLINE", "segmentsConfig": {}, "upsertConfig": {"mode": "FULL"}});
        assert!(reason(table(&doc)).contains("REALTIME tables only"));
        let doc = json!({"tableName": "e", "tableType": "OFFLINE"});
        assert!(reason(table(&doc)).contains("segmentsConfig is required"));
    }

    #[test]
    fn schema_name_must_be_the_table_name() {
        let doc = |schema: &str| json!({"tableName": "t", "tableType": "OFFLINE", "segmentsConfig": {"schemaName": schema}});
        table(&doc("t")).unwrap();
        let message = reason(table(&doc("other")));
        assert!(
            message.starts_with(
                "InvalidTable: segmentsConfig.schemaName \"other\" must equal tableName"
            ),
            "{message}"
        );
    }

    #[test]
    fn schema_name_defaults_to_the_table_name() {
        assert_eq!(
            table_schema_name(&json!({"tableName": "t", "segmentsConfig": {}})),
            Some("t")
        );
        assert_eq!(
            table_schema_name(&json!({"tableName": "t", "segmentsConfig": {"schemaName": "s"}})),
            Some("s")
        );
    }
}

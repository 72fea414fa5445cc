//! The API object of a dataset (API.md), shared by `POST /api/datasets` and a resumable
//! upload that completes as a dataset, so both answer the same JSON.

use jobs::dataset::Dataset;
use serde_json::{Value, json};

/// The JSON of `ds`, as every dataset route answers it.
pub fn dataset_object(ds: &Dataset) -> Value {
    json!({
        "id": ds.id, "format": ds.format, "rows": ds.rows, "bytes": ds.bytes,
        "created": crate::rfc3339_utc(ds.created_micros), "columns": ds.columns,
        "url": format!("/datasets/{}", ds.id),
    })
}

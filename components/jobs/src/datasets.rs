//! `/api/datasets` and `/datasets/{id}`.

use api::{ApiError, Query, rfc3339_utc};
use darkroom_spin::{Incoming, Reply, incoming::random_hex};
use jobs::dataset::{self, Dataset, Format};
use futures::StreamExt;
use serde_json::{Value, json};

/// The API object of a dataset.
pub fn object(ds: &Dataset) -> Value {
    json!({
        "id": ds.id, "format": ds.format, "rows": ds.rows, "bytes": ds.bytes,
        "created": rfc3339_utc(ds.created_micros), "columns": ds.columns,
        "url": format!("/datasets/{}", ds.id),
    })
}

pub fn create(req: Incoming) -> Result<Reply, ApiError> {
    let config = crate::config()?;
    let content_type = req.header("content-type").unwrap_or("");
    let format = Format::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!("Content-Type {content_type:?}: send text/csv (with a header row) or application/x-ndjson"))
    })?;
    let kv = crate::kv()?;
    let body = req.body_reader(config.max_dataset_bytes, "max_dataset_bytes")?;
    let (ds, created) = dataset::ingest(&kv, body, format, &random_hex(16), &config.ingest_limits(), jobs::driver::now_micros())?;
    Ok(Reply::json(if created { 201 } else { 200 }, &object(&ds)).header("location", &format!("/api/datasets/{}", ds.id)))
}

pub fn list(req: &Incoming) -> Result<Reply, ApiError> {
    let query = Query::parse(req.query())?;
    let (page, next) = dataset::list(&crate::kv()?, query.limit(50, 200)?, query.cursor())?;
    Ok(Reply::json(200, &json!({"datasets": page.iter().map(object).collect::<Vec<_>>(), "next": next})))
}

fn find(id: &str) -> Result<(darkroom_spin::kv::SpinKv, Dataset), ApiError> {
    let kv = crate::kv()?;
    let ds = dataset::get(&kv, id)?.ok_or_else(|| ApiError::NotFound(format!("no dataset {id}")))?;
    Ok((kv, ds))
}

pub fn get(id: &str) -> Result<Reply, ApiError> {
    Ok(Reply::json(200, &object(&find(id)?.1)))
}

pub fn delete(id: &str) -> Result<Reply, ApiError> {
    if dataset::delete(&crate::kv()?, id)? { Ok(Reply::empty(204)) } else { Err(ApiError::NotFound(format!("no dataset {id}"))) }
}

/// The stored bytes, streamed chunk by chunk.
pub fn raw(id: &str) -> Result<Reply, ApiError> {
    let (kv, ds) = find(id)?;
    let content_type = ds.format.content_type();
    // A damaged chunk ends the body early (the client sees a short read), logged.
    let chunks = futures::stream::iter(0..ds.chunk_sha.len() as u32).scan((), move |(), n| {
        std::future::ready(ds.chunk(&kv, n).map_err(|e| eprintln!("darkroom: dataset {}: {e}", ds.id)).ok())
    });
    Ok(Reply::stream(200, content_type, chunks.boxed_local()))
}

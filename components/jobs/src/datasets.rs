//! `/api/datasets` and `/datasets/{id}`.

use api::range::{self, Wanted};
use api::{ApiError, Query};
use darkroom_spin::{Incoming, Reply, incoming::random_hex};
use jobs::dataset::{self, Dataset, Format};
use futures::StreamExt;
use serde_json::{Value, json};

/// The API object of a dataset.
pub fn object(ds: &Dataset) -> Value {
    api::dataset_object(ds)
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

/// The stored bytes, streamed chunk by chunk; a single `Range` answers `206` with only
/// the chunks that hold it (each still checked against its hash), so a dataset past a
/// platform's response cap downloads in parts.
pub fn raw(req: &Incoming, id: &str) -> Result<Reply, ApiError> {
    let (kv, ds) = find(id)?;
    let (content_type, size) = (ds.format.content_type(), ds.bytes);
    let etag = format!("\"{}\"", ds.id);
    let (status, part) = match range::requested(req.header("range"), req.header("if-range"), &etag, size) {
        Wanted::Whole => (200, 0..size),
        Wanted::Part(part) => (206, part),
        Wanted::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { size }),
    };
    let chunk_size = u64::from(ds.chunk_size.max(1));
    let (first, end) = ((part.start / chunk_size) as u32, part.end.div_ceil(chunk_size) as u32);
    // A damaged chunk ends the body early (the client sees a short read), logged.
    let range = part.clone();
    let chunks = futures::stream::iter(first..end).scan((), move |(), n| {
        let piece = ds.chunk(&kv, n).map(|bytes| {
            let at = u64::from(n) * chunk_size;
            let from = range.start.saturating_sub(at) as usize;
            let to = (range.end - at).min(bytes.len() as u64) as usize;
            bytes[from.min(to)..to].to_vec()
        });
        std::future::ready(piece.map_err(|e| eprintln!("darkroom: dataset {}: {e}", ds.id)).ok())
    });
    let mut reply = Reply::stream(status, content_type, chunks.boxed_local()).header("accept-ranges", "bytes").header("etag", &etag);
    if status == 206 {
        reply = reply.header("content-range", &range::content_range(&part, size));
    }
    Ok(reply)
}

//! `/api/datasets` and `/datasets/{id}`.

use api::range::{self, Wanted};
use api::{ApiError, Query};
use darkroom_spin::kv::SpinKv;
use darkroom_spin::{Incoming, Reply, incoming::random_hex};
use jobs::chunked::ChunkSink;
use store::KeyValue;
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
    let (upload, limits, now) = (random_hex(16), config.ingest_limits(), jobs::driver::now_micros());
    let helper = if config.dataset_store_helper { StoreHelper::start(&kv, &upload, limits.chunk_size) } else { None };
    let (ds, created) = match helper {
        Some(sink) => {
            let ingested = dataset::ingest_to(&kv, body, sink, format, &upload, &limits, now);
            let _ = kv.delete(&jobs::keys::dataset_pending(&upload)?);
            ingested?
        }
        None => dataset::ingest(&kv, body, format, &upload, &limits, now)?,
    };
    Ok(Reply::json(if created { 201 } else { 200 }, &object(&ds)).header("location", &format!("/api/datasets/{}", ds.id)))
}

/// The other end of [`StoreHelper`]: stores the body of an upload in progress as its
/// chunks; answers its size, SHA-256 and chunk digests.
pub fn store_chunks(req: Incoming, upload: &str) -> Result<Reply, ApiError> {
    let config = crate::config()?;
    let kv = crate::kv()?;
    if !kv.exists(&jobs::keys::dataset_pending(upload)?)? {
        return Err(ApiError::NotFound(format!("no dataset upload {upload} in progress")));
    }
    let body = req.body_reader(config.max_dataset_bytes, "max_dataset_bytes")?;
    let (bytes, sha256, chunk_sha) = dataset::store_chunks(&kv, body, upload, &config.ingest_limits())?;
    Ok(Reply::json(200, &json!({"bytes": bytes, "sha256": sha256, "chunk_sha": chunk_sha})))
}

/// How far this instance may run ahead of its store helper: bytes parsed but not yet
/// taken by the helper wait here (an instance has 128 MiB; the parse itself needs a few).
const HELPER_QUEUE_BYTES: usize = 16 << 20;

/// A second instance of this component (service chaining) that stores an upload's
/// chunks and computes its SHA-256 (the id) as this one sends the bytes, while this one
/// parses them: the 1 MB store writes, which wait on the disk (SQLite commits), and the
/// hash were over half an upload's time in wasm, and no longer hold up the parse. The
/// helper writes `dsc/{upload}/n` only while `dsp/{upload}` marks the upload as in
/// progress, so a stray request stores nothing.
struct StoreHelper<'a> {
    post: darkroom_spin::chain::StreamingPost,
    chunks: HelperChunks<'a>,
    sent: u64,
}

/// The chunks a store helper writes for an upload.
struct HelperChunks<'a> {
    kv: &'a SpinKv,
    upload: String,
    chunk_size: u32,
}

impl HelperChunks<'_> {
    /// Removes every chunk the helper may have written for `sent` bytes (it has
    /// answered by now, so it writes no more).
    fn remove(&self, sent: u64) {
        dataset::remove_chunks(self.kv, &self.upload, dataset::chunks_owned(sent, self.chunk_size));
    }
}

impl<'a> StoreHelper<'a> {
    /// The helper, started; `None` (store in this instance) when it cannot be.
    fn start(kv: &'a SpinKv, upload: &str, chunk_size: u32) -> Option<Self> {
        let marker = jobs::keys::dataset_pending(upload).ok()?;
        kv.set(&marker, b"").ok()?;
        match darkroom_spin::chain::StreamingPost::start("jobs", &format!("/api/datasets/chunks/{upload}"), HELPER_QUEUE_BYTES) {
            Ok(post) => {
                let chunks = HelperChunks { kv, upload: upload.to_owned(), chunk_size };
                Some(Self { post, chunks, sent: 0 })
            }
            Err(e) => {
                eprintln!("darkroom: dataset upload {upload}: storing in this instance, the helper did not start: {e}");
                let _ = kv.delete(&marker);
                None
            }
        }
    }

    fn failed(detail: String) -> jobs::Error {
        jobs::Error::Store(store::Error::Backend(format!("the dataset store helper: {detail}")))
    }
}

impl ChunkSink for StoreHelper<'_> {
    fn write(&mut self, bytes: &[u8]) -> jobs::Result<()> {
        if let Err(e) = self.post.write(bytes) {
            return Err(Self::failed(self.post.failure(e)));
        }
        self.sent += bytes.len() as u64;
        Ok(())
    }

    fn finish(self) -> jobs::Result<(u64, String, Vec<String>)> {
        let StoreHelper { post, chunks, sent } = self;
        let expected_chunks = sent.div_ceil(u64::from(chunks.chunk_size.max(1)));
        let stored = post.finish().map_err(Self::failed).and_then(|(status, body)| {
            if !(200..300).contains(&status) {
                return Err(Self::failed(format!("{status}: {}", darkroom_spin::chain::problem_detail(&body))));
            }
            let answer: Value = serde_json::from_slice(&body).map_err(|e| Self::failed(e.to_string()))?;
            let chunk_sha: Option<Vec<String>> = answer["chunk_sha"].as_array().and_then(|a| a.iter().map(|d| d.as_str().map(str::to_owned)).collect());
            match (answer["bytes"].as_u64(), answer["sha256"].as_str(), chunk_sha) {
                (Some(bytes), Some(sha256), Some(chunk_sha)) if bytes == sent && sha256.len() == 64 && chunk_sha.len() as u64 == expected_chunks => {
                    Ok((sent, sha256.to_owned(), chunk_sha))
                }
                _ => Err(Self::failed(format!("it answered {answer} for {sent} bytes"))),
            }
        });
        if stored.is_err() {
            chunks.remove(sent);
        }
        stored
    }

    fn abort(self) {
        self.post.abort();
        self.chunks.remove(self.sent);
    }

    fn chunk_size(&self) -> u32 {
        self.chunks.chunk_size
    }
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

//! Reads over the stored vectors: one vector, top-k similar, batch statistics.

use api::{
    ApiError, BatchRequest, BatchResponse, Query, Settings, SimilarResponse, SimilarResult,
    VectorResponse,
};
use darkroom_spin::{Reply, kv};
use ndarray::Array2;
use std::time::{Duration, Instant};

use store::segments::{self, CompactionPolicy};
use store::{BlobKind, KeyValue, Store};
use vectors::TopK;

fn load_vector<K: KeyValue>(store: &Store<K>, id: &str) -> Result<Vec<f32>, ApiError> {
    if !store::is_valid_id(id) {
        return Err(ApiError::NotFound(format!("no image with id {id}")));
    }
    let (_, bytes) = store
        .get_blob(id, BlobKind::Vector)?
        .ok_or_else(|| ApiError::NotFound(format!("no vector for image {id}")))?;
    Ok(vectors::from_le_bytes(&bytes)
        .map_err(|e| ApiError::Internal(format!("stored vector of {id}: {e}")))?)
}

pub fn vector(settings: &Settings, id: &str) -> Result<Reply, ApiError> {
    let store = kv::open_store(settings)?;
    let vector = load_vector(&store, id)?;
    let phash = store
        .get_record(id)?
        .and_then(|r| r.vector)
        .map(|v| v.phash)
        .unwrap_or_default();
    Ok(Reply::json(
        200,
        &VectorResponse {
            id: id.to_owned(),
            dims: vector.len(),
            vector,
            phash,
        },
    ))
}

/// `GET /api/images/{id}/similar?k=`: one key listing, every segment streamed through a
/// running top-k, then the loose vectors no segment covers (see `store::segments`).
/// Answers with a `Server-Timing` header splitting the time into listing, reads, scoring
/// and compaction, which `bench/search.sh` reports.
pub fn similar(settings: &Settings, id: &str, query: &str) -> Result<Reply, ApiError> {
    let k = Query::parse(query)?.k(10, settings.max_similar_k)?;
    let raw =
        segments::raw_id(id).ok_or_else(|| ApiError::NotFound(format!("no image with id {id}")))?;
    let store = kv::open_store(settings)?;
    let started = Instant::now();
    let snap = store.vector_snapshot()?;
    if !snap.is_live(&raw) {
        return Err(ApiError::NotFound(format!("no image with id {id}")));
    }
    let (version, query_vector) = store
        .loose_vector(&raw)?
        .ok_or_else(|| ApiError::NotFound(format!("no vector for image {id}")))?;
    let listed = started.elapsed();

    let mut top = TopK::new(k);
    let mut scoring = Duration::ZERO;
    let stats = store.scan_vectors(&snap, version, query_vector.len(), |ids, rows| {
        let t = Instant::now();
        top.offer_rows(&query_vector, rows, ids, |other| {
            *other != raw && snap.is_live(other)
        });
        scoring += t.elapsed();
    })?;
    let scanned = started.elapsed();

    // Opportunistic compaction, on this request's listing: enough loose vectors that no
    // segment covers, or a segment that could not be read.
    let policy = CompactionPolicy {
        min_loose: segment_min(),
        ..CompactionPolicy::default()
    };
    if version == vectors::FEATURE_VERSION
        && (stats.loose >= policy.min_loose || stats.skipped_segments > 0)
    {
        if let Err(e) = store.compact_vectors(&snap, version, query_vector.len(), policy) {
            // The answer is right without it; the next search tries again.
            eprintln!("darkroom: vector compaction failed: {e}");
        }
    }
    let compacted = started.elapsed();

    let results = top
        .into_sorted()
        .into_iter()
        .map(|(other, score)| SimilarResult {
            id: segments::hex_id(&other),
            score,
        })
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let timing = format!(
        "list;dur={:.3}, read;dur={:.3}, score;dur={:.3}, compact;dur={:.3}",
        ms(listed),
        ms(scanned - listed - scoring),
        ms(scoring),
        ms(compacted - scanned)
    );
    let counts = format!(
        "segments={} rows={} loose={} skipped={}",
        stats.segments, stats.segment_rows, stats.loose, stats.skipped_segments
    );
    Ok(Reply::json(
        200,
        &SimilarResponse {
            id: id.to_owned(),
            results,
        },
    )
    .header("server-timing", &timing)
    .header("darkroom-search", &counts))
}

/// `vector_segment_min`: loose vectors that trigger a compaction (default 256).
fn segment_min() -> usize {
    spin_sdk::variables::get("vector_segment_min")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(CompactionPolicy::default().min_loose)
}

pub fn batch(settings: &Settings, body: &[u8]) -> Result<Reply, ApiError> {
    let request = BatchRequest::parse(body, settings.max_batch)?;
    let store = kv::open_store(settings)?;
    let mut missing = Vec::new();
    let mut rows = Vec::with_capacity(request.ids.len());
    for id in &request.ids {
        match load_vector(&store, id) {
            Ok(v) => rows.push(v),
            Err(ApiError::NotFound(_)) => missing.push(id.clone()),
            Err(e) => return Err(e),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::NotFound(format!(
            "unknown image ids: {}",
            missing.join(", ")
        )));
    }
    let dims = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != dims) {
        return Err(ApiError::Unprocessable(
            "the images' vectors have different dimensions; re-upload them".into(),
        ));
    }
    let matrix = Array2::from_shape_vec((rows.len(), dims), rows.concat())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let stats = vectors::batch_stats(matrix, settings.duplicate_threshold);
    Ok(Reply::json(200, &BatchResponse::new(&request.ids, stats)))
}

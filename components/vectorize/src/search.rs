//! Reads over the stored vectors: one vector, top-k similar, batch statistics.

use api::{
    ApiError, BatchRequest, BatchResponse, Query, Settings, SimilarResponse, SimilarResult,
    VectorResponse,
};
use darkroom_spin::{Reply, kv};
use ndarray::Array2;
use std::time::{Duration, Instant};

use store::segments::{self, CompactionPolicy};
use store::{KeyValue, Store};

/// `id` as raw bytes; an id that is not one names no image.
fn raw_id(id: &str) -> Result<segments::RawId, ApiError> {
    segments::raw_id(id).ok_or_else(|| ApiError::NotFound(format!("no image with id {id}")))
}

/// Image `id`'s stored vector and its feature version.
fn load_vector<K: KeyValue>(store: &Store<K>, id: &str) -> Result<(u32, Vec<f32>), ApiError> {
    store
        .loose_vector(&raw_id(id)?)?
        .ok_or_else(|| ApiError::NotFound(format!("no vector for image {id}")))
}

pub fn vector(settings: &Settings, id: &str) -> Result<Reply, ApiError> {
    let store = kv::open_store(settings)?;
    // The record first: a vector without one belongs to an upload still running, or
    // one that died, and is not an image yet (`Store::has_image`).
    let record = store.get_record(id)?.ok_or_else(|| ApiError::NotFound(format!("no image with id {id}")))?;
    let (_, vector) = load_vector(&store, id)?;
    let phash = record.vector.map(|v| v.phash).unwrap_or_default();
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

/// `GET /api/images/{id}/similar?k=`: [`vectors::similar::search`] over every stored
/// vector (int8 sketches that bound each score, then the few rows that might rank
/// re-scored from their f32 vectors: a brute force's answer for a quarter of the reads).
/// Answers with a `Server-Timing` header splitting the time into finding the vectors,
/// reads, scoring, exact re-scoring and maintenance (compaction, catalog), which
/// `bench/search.sh` reports, and a `darkroom-search` header saying what was read.
pub fn similar(settings: &Settings, id: &str, query: &str) -> Result<Reply, ApiError> {
    let k = Query::parse(query)?.k(10, settings.max_similar_k)?;
    let raw = raw_id(id)?;
    let store = kv::open_store(settings)?;
    let started = Instant::now();
    if !store.has_image(id)? {
        return Err(ApiError::NotFound(format!("no image with id {id}")));
    }
    let (version, query_vector) = load_vector(&store, id)?;
    let query_read = started.elapsed();

    // Only searches of the current feature version maintain segments and the catalog.
    let maintain = (version == vectors::FEATURE_VERSION).then(|| CompactionPolicy {
        min_loose: segment_min(),
        ..CompactionPolicy::default()
    });
    let (top, report) =
        vectors::similar::search(&store, &raw, version, &query_vector, k, maintain)?;
    if let Some(e) = &report.store.maintenance_error {
        eprintln!("darkroom: vector maintenance failed: {e}");
    }

    let results = top
        .into_iter()
        .map(|(other, score)| SimilarResult {
            id: segments::hex_id(&other),
            score,
        })
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let timing = format!(
        "list;dur={:.3}, read;dur={:.3}, score;dur={:.3}, rescore;dur={:.3}, compact;dur={:.3}",
        ms(query_read + report.store.find),
        ms(report.store.scan.saturating_sub(report.scoring)),
        ms(report.scoring),
        ms(report.store.settle),
        ms(report.store.maintain)
    );
    let stats = report.store.stats;
    let counts = format!(
        "view={} segments={} rows={} loose={} skipped={} candidates={} fetched={}",
        report.store.view.as_str(),
        stats.segments,
        stats.segment_rows,
        stats.loose,
        stats.skipped_segments,
        report.candidates,
        report.settling.fetched
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
            Ok((_, v)) => rows.push(v),
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

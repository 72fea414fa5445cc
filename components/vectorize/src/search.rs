//! Reads over the stored vectors: one vector, top-k similar, batch statistics.

use api::{ApiError, BatchRequest, BatchResponse, Query, Settings, SimilarResponse, SimilarResult, VectorResponse};
use darkroom_spin::{Reply, kv};
use ndarray::Array2;
use store::{BlobKind, KeyValue, Store};

fn load_vector<K: KeyValue>(store: &Store<K>, id: &str) -> Result<Vec<f32>, ApiError> {
    if !store::is_valid_id(id) {
        return Err(ApiError::NotFound(format!("no image with id {id}")));
    }
    let (_, bytes) = store
        .get_blob(id, BlobKind::Vector)?
        .ok_or_else(|| ApiError::NotFound(format!("no vector for image {id}")))?;
    Ok(vectors::from_le_bytes(&bytes).map_err(|e| ApiError::Internal(format!("stored vector of {id}: {e}")))?)
}

pub fn vector(settings: &Settings, id: &str) -> Result<Reply, ApiError> {
    let store = kv::open_store(settings)?;
    let vector = load_vector(&store, id)?;
    let phash = store.get_record(id)?.and_then(|r| r.vector).map(|v| v.phash).unwrap_or_default();
    Ok(Reply::json(200, &VectorResponse { id: id.to_owned(), dims: vector.len(), vector, phash }))
}

pub fn similar(settings: &Settings, id: &str, query: &str) -> Result<Reply, ApiError> {
    let k = Query::parse(query)?.k(10, settings.max_similar_k)?;
    let store = kv::open_store(settings)?;
    let query_vector = load_vector(&store, id)?;
    let ids: Vec<String> = store.vector_ids()?.into_iter().filter(|other| other != id).collect();
    let (ids, matrix) = matrix(&store, ids, query_vector.len())?;
    let results = vectors::top_k(&query_vector, matrix.view(), k)
        .into_iter()
        .map(|(row, score)| SimilarResult { id: ids[row].clone(), score })
        .collect();
    Ok(Reply::json(200, &SimilarResponse { id: id.to_owned(), results }))
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
        return Err(ApiError::NotFound(format!("unknown image ids: {}", missing.join(", "))));
    }
    let dims = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != dims) {
        return Err(ApiError::Unprocessable("the images' vectors have different dimensions; re-upload them".into()));
    }
    let matrix = Array2::from_shape_vec((rows.len(), dims), rows.concat())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let stats = vectors::batch_stats(matrix, settings.duplicate_threshold);
    Ok(Reply::json(200, &BatchResponse::new(&request.ids, stats)))
}

/// The stored vectors of `ids` as rows of one matrix; vectors of another length (an
/// older feature version) are left out rather than failing the search.
fn matrix<K: KeyValue>(store: &Store<K>, ids: Vec<String>, dims: usize) -> Result<(Vec<String>, Array2<f32>), ApiError> {
    let mut kept = Vec::with_capacity(ids.len());
    let mut data = Vec::with_capacity(ids.len() * dims);
    for id in ids {
        match load_vector(store, &id) {
            Ok(v) if v.len() == dims => {
                data.extend_from_slice(&v);
                kept.push(id);
            }
            // Deleted between listing and reading, or another dimension: skip.
            Ok(_) | Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let matrix = Array2::from_shape_vec((kept.len(), dims), data).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((kept, matrix))
}

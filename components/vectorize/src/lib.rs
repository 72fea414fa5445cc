//! `vectorize`: feature vectors and the searches over them.
//!
//! - `POST /api/vectorize`: image bytes in, `{dims, vector, phash}` out (stateless);
//!   `{"id": ...}` in (how `upload` chains to it): the vector is stored.
//! - `GET /api/images/{id}/vector`, `GET /api/images/{id}/similar?k=`.
//! - `POST /api/vectorize/batch`: statistics over the n×D matrix of stored vectors.

mod search;

use api::{ApiError, Settings, StepRequest, VectorizeResponse, VectorizeStepResult};
use darkroom_spin::{Incoming, Reply, kv, settings};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use store::BlobKind;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    let settings = settings::load()?;
    if let Some(segments) = req.segments_after("/api/images/") {
        if *req.method() != Method::Get {
            return Err(ApiError::MethodNotAllowed { allowed: "GET" });
        }
        return match segments.as_slice() {
            [id, "vector"] => search::vector(&settings, id),
            [id, "similar"] => search::similar(&settings, id, req.query()),
            _ => Err(ApiError::NotFound(format!("no route for {}", req.path()))),
        };
    }
    if *req.method() != Method::Post {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let is_batch = req.path().trim_end_matches('/').ends_with("/batch");
    let body = req.body(settings.max_upload_bytes).await?;
    if is_batch {
        return search::batch(&settings, &body);
    }
    vectorize(&settings, &body)
}

fn vectorize(settings: &Settings, body: &[u8]) -> Result<Reply, ApiError> {
    if imaging::sniff(body).is_some() {
        let features = features(settings, body)?;
        let response = VectorizeResponse {
            dims: features.vector.len(),
            phash: vectors::phash_hex(features.phash),
            vector: features.vector,
        };
        return Ok(Reply::json(200, &response));
    }
    let step = StepRequest::parse(body)?;
    let store = kv::open_store(settings)?;
    let (_, original) = store
        .get_blob(&step.id, BlobKind::Original)?
        .ok_or_else(|| ApiError::NotFound(format!("no image with id {}", step.id)))?;
    let features = features(settings, &original)?;
    store.put_vector(
        &step.id,
        &vectors::to_le_bytes(&features.vector),
        vectors::FEATURE_VERSION,
    )?;
    Ok(Reply::json(
        200,
        &VectorizeStepResult {
            dims: features.vector.len(),
            phash: vectors::phash_hex(features.phash),
        },
    ))
}

fn features(settings: &Settings, bytes: &[u8]) -> Result<vectors::Features, ApiError> {
    let image = imaging::decode_at_least(
        bytes,
        &settings.imaging_limits(),
        vectors::DECODE_SIDE,
        vectors::DECODE_SIDE,
    )?;
    Ok(vectors::extract(&image))
}

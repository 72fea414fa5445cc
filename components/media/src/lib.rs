//! `media`: serves stored blobs and image records.
//!
//! - `GET /images/{id}`, `GET /images/{id}/thumbnail`: the bytes, immutable and
//!   content-addressed, so they carry a strong ETag and a year-long cache lifetime.
//!   Originals honour a single `Range` (`206`, `416`).
//!   With `url_signing_keys` set, they need a signed URL (`docs/auth.md`).
//! - `GET`/`DELETE /api/images/{id}`: the image object; deleting removes everything
//!   derived from the image.
//! - `GET /healthz`.

use api::{ApiError, ImageObject};
use darkroom_spin::{Incoming, Reply, cached, kv, settings};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use store::BlobKind;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    if req.path() == "/healthz" {
        // Like every route, a method it does not list is a 405 (docs/openapi.json).
        return match req.method() {
            Method::Get | Method::Head => Ok(Reply::json(200, &serde_json::json!({ "status": "ok" }))),
            _ => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD" }),
        };
    }
    if let Some(segments) = req.segments_after("/api/images/") {
        return match (req.method(), segments.as_slice()) {
            (Method::Get | Method::Head, [id]) => record(id),
            (Method::Delete, [id]) => delete(id),
            (_, [_]) => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD, DELETE" }),
            _ => Err(not_found(req.path())),
        };
    }
    let segments = req.segments_after("/images/").unwrap_or_default();
    let kind = match segments.as_slice() {
        [_] => BlobKind::Original,
        [_, "thumbnail"] => BlobKind::Thumbnail,
        _ => return Err(not_found(req.path())),
    };
    if !matches!(req.method(), Method::Get | Method::Head) {
        return Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD" });
    }
    let signed_until = darkroom_spin::auth::require_signature(&req)?;
    Ok(darkroom_spin::auth::signed_caching(blob(&req, segments[0], kind)?, signed_until))
}

fn not_found(path: &str) -> ApiError {
    ApiError::NotFound(format!("no resource at {path}"))
}

fn unknown(id: &str) -> ApiError {
    ApiError::NotFound(format!("no image with id {id}"))
}

fn record(id: &str) -> Result<Reply, ApiError> {
    let store = kv::open_store(&settings::load()?)?;
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let record = store.get_record(id)?.ok_or_else(|| unknown(id))?;
    Ok(Reply::json(200, &ImageObject::from(&record)))
}

fn delete(id: &str) -> Result<Reply, ApiError> {
    let store = kv::open_store(&settings::load()?)?;
    if !store::is_valid_id(id) || !store.delete_image(id)? {
        return Err(unknown(id));
    }
    Ok(Reply::empty(204))
}

fn blob(req: &Incoming, id: &str, kind: BlobKind) -> Result<Reply, ApiError> {
    if !store::is_valid_id(id) {
        return Err(unknown(id));
    }
    let store = kv::open_store(&settings::load()?)?;
    // Blobs are written before the record, which commits the image (`Store::has_image`):
    // an upload that died half-way leaves blobs nobody is shown.
    if !store.has_image(id)? {
        return Err(unknown(id));
    }
    let etag = format!("\"{id}\"");
    if kind == BlobKind::Original {
        // Originals can pass a platform's response cap: `Range` fetches them in parts.
        let part = cached::serve_range(
            req,
            &etag,
            || Ok(store.blob_manifest(id, kind)?),
            |manifest, range| Ok(store.blob_range(id, kind, manifest, range)?),
            || unknown(id),
        )?;
        if let Some(reply) = part {
            return Ok(reply);
        }
    }
    let reply = cached::serve(
        req,
        &etag,
        || Ok(store.has_blob(id, kind)?),
        || Ok(store.get_blob(id, kind)?),
        || unknown(id),
    )?;
    Ok(if kind == BlobKind::Original { reply.header("accept-ranges", "bytes") } else { reply })
}

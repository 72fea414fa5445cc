//! `thumbnail`: `POST /api/thumbnail?size=N`.
//!
//! Image bytes in: the JPEG thumbnail out, nothing stored (the public, stateless step).
//! `{"id": ...}` in (how `upload` chains to it): the stored original's thumbnail is
//! made, stored as a blob, and described in JSON.

use api::{ApiError, Query, Settings, StepRequest, ThumbnailStepResult};
use darkroom_spin::{Incoming, Reply, kv, settings};
use imaging::{Stages, ThumbnailSpec};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use store::BlobKind;

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    if *req.method() != Method::Post {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let mut stages = Stages::start();
    let settings = settings::load()?;
    let spec = spec(&settings, &Query::parse(req.query())?)?;
    stages.mark("settings");
    let body = req.body(settings.max_upload_bytes).await?;
    stages.mark("read");
    if imaging::sniff(&body).is_some() {
        let thumb = imaging::thumbnail_staged(&body, &spec, &settings.imaging_limits(), &mut stages)?;
        // Server-Timing: where the request's time went (docs/performance.md's breakdown).
        return Ok(Reply::new(200, "image/jpeg", thumb.bytes)
            .header("x-content-type-options", "nosniff")
            .header("server-timing", &stages.server_timing()));
    }
    let step = StepRequest::parse(&body)?;
    let store = kv::open_store(&settings)?;
    let (_, original) = store
        .get_blob(&step.id, BlobKind::Original)?
        .ok_or_else(|| ApiError::NotFound(format!("no image with id {}", step.id)))?;
    let thumb = imaging::thumbnail(&original, &spec, &settings.imaging_limits())?;
    store.put_blob(&step.id, BlobKind::Thumbnail, &thumb.bytes, "image/jpeg")?;
    let result = ThumbnailStepResult {
        width: thumb.width,
        height: thumb.height,
        format: "jpeg".into(),
        bytes: thumb.bytes.len() as u64,
        placeholder: Some(store::Placeholder {
            blurhash: thumb.placeholder.blurhash.clone(),
            color: thumb.placeholder.color_hex(),
        }),
    };
    Ok(Reply::json(200, &result))
}

/// The requested box, checked against `max_thumbnail_size` before any pixel is decoded.
fn spec(settings: &Settings, query: &Query) -> Result<ThumbnailSpec, ApiError> {
    let max_side = query.size(settings.thumbnail_size, settings.max_thumbnail_size)?;
    Ok(ThumbnailSpec { max_side, quality: settings.thumbnail_quality })
}

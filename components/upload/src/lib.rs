//! `upload`: `POST /api/images` stores originals and runs the derivative steps;
//! `GET /api/images` lists stored images, newest first; `/api/uploads` takes files past
//! the request cap in resumable parts (tus 1.0) and finishes them as those `POST`s do.
//!
//! The first two live here because Spin routes by path alone, and they share one path;
//! resumable uploads because they finish through the same ingest.

mod ingest;
mod resumable;

use api::{ApiError, BodyKind, ImageList, ImageObject, Query};
use darkroom_spin::{Incoming, Reply, kv, settings};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    if req.path() == "/api/uploads" || req.path().starts_with("/api/uploads/") {
        return Ok(resumable::route(req).await);
    }
    match req.method() {
        Method::Post => upload(req).await,
        Method::Get | Method::Head => list(&req),
        _ => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD, POST" }),
    }
}

fn list(req: &Incoming) -> Result<Reply, ApiError> {
    let settings = settings::load()?;
    let query = Query::parse(req.query())?;
    let limit = query.limit(50, 200)?;
    let store = kv::open_store(&settings)?;
    let page = store.list(limit, query.cursor())?;
    let list = ImageList {
        images: page.records.iter().map(ImageObject::from).collect(),
        next: page.next,
    };
    Ok(Reply::json(200, &list))
}

async fn upload(req: Incoming) -> Result<Reply, ApiError> {
    let settings = settings::load()?;
    let kind = api::body_kind(req.header("content-type"))?;
    let body = req.body(settings.max_upload_bytes).await?;
    match kind {
        BodyKind::Raw => {
            let file = ingest::Validated::check(body, &settings)?;
            let stored = ingest::ingest(&settings, file).await?;
            let status = if stored.created { 201 } else { 200 };
            Ok(Reply::json(status, &stored.object).header("location", &format!("/api/images/{}", stored.object.id)))
        }
        BodyKind::Multipart { boundary } => {
            let parts = api::parse_multipart(&boundary, &body, settings.multipart_limits())?;
            drop(body);
            let files: Vec<Vec<u8>> = parts.into_iter().filter(|p| p.filename.is_some() || !p.bytes.is_empty()).map(|p| p.bytes).collect();
            if files.is_empty() {
                return Err(ApiError::BadRequest("the multipart body holds no file part".into()));
            }
            // Validate every file before storing any, so one bad part stores nothing.
            let files = files
                .into_iter()
                .map(|file| ingest::Validated::check(file, &settings))
                .collect::<Result<Vec<_>, _>>()?;
            let mut images = Vec::with_capacity(files.len());
            let mut any_created = false;
            for file in files {
                let stored = ingest::ingest(&settings, file).await?;
                any_created |= stored.created;
                images.push(stored.object);
            }
            let status = if any_created { 201 } else { 200 };
            Ok(Reply::json(status, &serde_json::json!({ "images": images })))
        }
    }
}

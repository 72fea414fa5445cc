//! `render`: filters, presets, stored variants, share links and render URLs (API-v2).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/filters` | the filter and preset catalog |
//! | `POST /api/filter?filter=|preset=` | stateless: image bytes in, filtered image out; `{"id","preset"}` in: the chained step that stores a variant |
//! | `GET /images/{id}/render?…` | a render URL: planned, rendered, cached in the store |
//! | `POST /images/{id}/render?…` | renders into the cache only (a `render` job's step) |
//! | `GET /images/{id}/variants/{name}` | a stored variant |
//! | `POST /api/images/{id}/variants` | stores one more variant |
//! | `POST /api/images/{id}/share` | a (signed) link to the original or a variant |
//!
//! The pixels are the `render` crate's; this component parses requests, reads and writes
//! the store and maps errors.

mod config;
mod filter;
mod render_url;
mod share;
mod variants;

use api::ApiError;
use darkroom_spin::{Incoming, Reply};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    let path = req.path().to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().clone();
    let read = matches!(method, Method::Get | Method::Head);
    match segments.as_slice() {
        ["api", "filters"] if read => filter::catalog(),
        ["api", "filters"] => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD" }),
        ["api", "filter"] if method == Method::Post => filter::post(req).await,
        ["api", "filter"] => Err(ApiError::MethodNotAllowed { allowed: "POST" }),
        ["images", id, "render"] if read => render_url::get(&req, id),
        ["images", id, "render"] if method == Method::Post => render_url::prerender(&req, id),
        ["images", _, "render"] => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD, POST" }),
        ["images", id, "variants", name] if read => variants::get(&req, id, name),
        ["images", _, "variants", _] => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD" }),
        ["api", "images", id, "variants"] if method == Method::Post => {
            let id = id.to_string();
            variants::post(req, &id).await
        }
        ["api", "images", id, "variants"] if read => variants::list(id),
        ["api", "images", _, "variants"] => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD, POST" }),
        ["api", "images", id, "share"] if method == Method::Post => {
            let id = id.to_string();
            share::post(req, &id).await
        }
        ["api", "images", _, "share"] => Err(ApiError::MethodNotAllowed { allowed: "POST" }),
        _ => Err(ApiError::NotFound(format!("no resource at {path}"))),
    }
}

/// The API error for a render error: the status it names, the detail it gives.
pub(crate) fn api_error(err: render::Error) -> ApiError {
    let detail = err.to_string();
    match err.status() {
        400 => ApiError::BadRequest(detail),
        413 => ApiError::PayloadTooLarge(detail),
        415 => ApiError::UnsupportedMediaType(detail),
        422 => ApiError::Unprocessable(detail),
        _ => ApiError::Internal(detail),
    }
}

/// 404 for an id that is malformed or names no stored image.
pub(crate) fn unknown(id: &str) -> ApiError {
    ApiError::NotFound(format!("no image with id {id}"))
}

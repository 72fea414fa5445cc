//! `web`: the browser UI, embedded in the wasm (`docs/web.md`).
//!
//! - `GET /`: `index.html`, `Cache-Control: no-cache` (it names the current assets).
//! - `GET /assets/NAME.HASH.EXT`: the UI's modules, stylesheet and icons, named by a
//!   hash of their content (`build.rs`), so they are cached for a year, `immutable`.
//! - `GET /api/openapi.json`: the OpenAPI 3.1 document (`docs/openapi.json`).
//!
//! Every answer, errors included, carries a strict Content-Security-Policy (no inline
//! script or style, nothing from another origin) and `X-Content-Type-Options: nosniff`.
//! Pages are routed in the browser by the URL's hash (`#/image/ID`), so no catch-all
//! route is needed.

use api::ApiError;
use darkroom_spin::{Incoming, Reply};
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// The OpenAPI document, as committed.
static OPENAPI: &[u8] = include_bytes!("../../../docs/openapi.json");

/// Scripts, styles, fonts and fetches from this origin only; images also from `data:`
/// (BlurHash placeholders) and `blob:` (previews of files about to be uploaded).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, |req| async move {
        let reply = route(&req).unwrap_or_else(|err| Reply::problem(&err));
        Ok(secure(reply))
    })
    .await
}

fn route(req: &Incoming) -> Result<Reply, ApiError> {
    let path = req.path();
    let reply = if path == "/" || path == "/index.html" {
        Reply::new(200, "text/html; charset=utf-8", assets::INDEX_HTML.to_vec()).header("cache-control", "no-cache")
    } else if path == "/api/openapi.json" {
        Reply::new(200, "application/json", OPENAPI.to_vec()).header("cache-control", "no-cache")
    } else if let Some(name) = path.strip_prefix("/assets/") {
        let (_, content_type, bytes) = asset(name).ok_or_else(|| ApiError::NotFound(format!("no asset {name}")))?;
        Reply::new(200, content_type, bytes.to_vec()).header("cache-control", IMMUTABLE)
    } else {
        return Err(ApiError::NotFound(format!("no resource at {path}")));
    };
    match req.method() {
        Method::Get | Method::Head => Ok(reply),
        _ => Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD" }),
    }
}

fn asset(name: &str) -> Option<&'static (&'static str, &'static str, &'static [u8])> {
    assets::ASSETS.binary_search_by(|(n, _, _)| (*n).cmp(name)).ok().map(|i| &assets::ASSETS[i])
}

/// The security headers every answer of this component carries.
fn secure(reply: Reply) -> Reply {
    reply
        .set_header("content-security-policy", CONTENT_SECURITY_POLICY)
        .set_header("x-content-type-options", "nosniff")
        .set_header("referrer-policy", "same-origin")
        .set_header("x-frame-options", "DENY")
}

//! Spin glue shared by darkroom's components.
//!
//! Components stay a page long: they parse a request with [`Incoming`], call a core
//! crate, and answer with a [`Reply`] or an [`api::ApiError`]. Everything that touches
//! the Spin SDK lives here, so the core crates never depend on Spin.
//!
//! - [`incoming`]: the request head, and a body read with a byte cap (413 past it).
//! - [`reply`]: responses, including `application/problem+json` for every error.
//! - [`kv`]: [`store::KeyValue`] over a Spin key-value store.
//! - [`settings`]: [`api::Settings`] from Spin variables.
//! - [`chain`]: calls to sibling components over local service chaining.
//! - [`auth`]: the API token on writes (checked in [`serve`]) and signed URLs on reads.
//! - [`yielding`]: keeps a self-woken future from trapping Spin's executor.
//! - [`cached`]: stored immutable bytes with `ETag`, `304` and long-lived caching.
//!
//! ```ignore
//! #[spin_sdk::http_component]
//! async fn handle(req: IncomingRequest, out: ResponseOutparam) {
//!     darkroom_spin::serve(req, out, route).await
//! }
//! async fn route(req: Incoming) -> Result<Reply, ApiError> { /* ... */ }
//! ```

pub mod auth;
pub mod cached;
pub mod chain;
pub mod incoming;
pub mod kv;
pub mod reply;
pub mod settings;
pub mod yielding;

pub use incoming::Incoming;
pub use reply::Reply;

use api::ApiError;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

/// Runs `handler` and writes its reply; an error becomes a problem+json response.
/// Writes without the API token (when one is set) are refused before `handler` runs.
pub async fn serve<F, Fut>(req: IncomingRequest, out: ResponseOutparam, handler: F)
where
    F: FnOnce(Incoming) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, ApiError>>,
{
    // The whole request, the streamed reply included, under `Cooperative`: see `yielding`.
    yielding::Cooperative::new(async move {
        let req = Incoming::new(req);
        let result = match auth::require_token(&req) {
            Ok(()) => handler(req).await,
            Err(err) => Err(err),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                if err.status() >= 500 {
                    eprintln!("darkroom: {err:#}");
                }
                Reply::problem(&err)
            }
        };
        reply.send(out).await;
    })
    .await
}

//! `jobs`: datasets (`/api/datasets`, `/datasets/{id}`), the task catalog (`/api/tasks`)
//! and batch jobs (`/api/jobs`), all over the `jobs` core crate.
//!
//! A job is driven by the request that creates or `run`s it: each unit (map shard,
//! reduce partition) goes to `POST {jobs_base_url}/api/jobs/{id}/units/{unit}`, a fresh
//! instance of this component (Spin service chaining, or the app's Service on SpinKube).

mod datasets;
mod driving;
mod routes;
mod steps;

use api::ApiError;
use darkroom_spin::{Incoming, Reply};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    darkroom_spin::serve(req, out, route).await
}

async fn route(req: Incoming) -> Result<Reply, ApiError> {
    routes::route(req).await
}

/// The jobs settings from this component's variables.
pub(crate) fn config() -> Result<jobs::Config, ApiError> {
    jobs::Config::from_lookup(|name| spin_sdk::variables::get(name).ok().filter(|v| !v.trim().is_empty()))
        .map_err(|e| ApiError::Internal(format!("bad configuration: {e}")))
}

/// The store's KV, opened per request.
pub(crate) fn kv() -> Result<darkroom_spin::kv::SpinKv, ApiError> {
    Ok(darkroom_spin::kv::SpinKv::open_default()?)
}

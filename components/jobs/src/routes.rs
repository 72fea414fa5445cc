//! The route table: path and method to handler.

use crate::{datasets, driving};
use api::ApiError;
use darkroom_spin::{Incoming, Reply};
use spin_sdk::http::Method;

pub async fn route(req: Incoming) -> Result<Reply, ApiError> {
    let path = req.path().to_owned();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().clone();
    let not_allowed = |allowed: &'static str| Err(ApiError::MethodNotAllowed { allowed });
    match (segs.as_slice(), method) {
        (["api", "datasets"], Method::Post) => datasets::create(req),
        (["api", "datasets"], Method::Get | Method::Head) => datasets::list(&req),
        (["api", "datasets"], _) => not_allowed("GET, HEAD, POST"),
        (["api", "datasets", "chunks", upload], Method::Post) => datasets::store_chunks(req, upload),
        (["api", "datasets", "chunks", _], _) => not_allowed("POST"),
        (["api", "datasets", id], Method::Get | Method::Head) => datasets::get(id),
        (["api", "datasets", id], Method::Delete) => datasets::delete(id),
        (["api", "datasets", _], _) => not_allowed("GET, HEAD, DELETE"),
        (["datasets", id], Method::Get | Method::Head) => datasets::raw(&req, id),
        (["datasets", _], _) => not_allowed("GET, HEAD"),
        (["api", "tasks"], Method::Get | Method::Head) => Ok(Reply::json(200, &jobs::tasks::catalog())),
        (["api", "tasks"], _) => not_allowed("GET, HEAD"),
        (["api", "jobs"], Method::Post) => driving::create(req).await,
        (["api", "jobs"], Method::Get | Method::Head) => driving::list(&req),
        (["api", "jobs"], _) => not_allowed("GET, HEAD, POST"),
        (["api", "jobs", id], Method::Get | Method::Head) => driving::status(id),
        (["api", "jobs", id], Method::Delete) => driving::delete(id),
        (["api", "jobs", _], _) => not_allowed("GET, HEAD, DELETE"),
        (["api", "jobs", id, "run"], Method::Post) => driving::run(&req, id).await,
        (["api", "jobs", id, "cancel"], Method::Post) => driving::cancel(id),
        (["api", "jobs", _, "run" | "cancel"], _) => not_allowed("POST"),
        (["api", "jobs", id, "result"], Method::Get | Method::Head) => driving::result(&req, id),
        (["api", "jobs", _, "result"], _) => not_allowed("GET, HEAD"),
        (["api", "jobs", id, "units", unit], Method::Post) => driving::unit(id, unit).await,
        (["api", "jobs", _, "units", _], _) => not_allowed("POST"),
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

//! Calls to sibling components over Spin local service chaining.

use api::ApiError;
use serde::{Serialize, de::DeserializeOwned};
use spin_sdk::http::{Method, Request, Response};

/// POSTs `body` as JSON to `http://{component}.spin.internal{path}` and decodes a 2xx
/// JSON answer. A step that refuses the image itself (413, 415, 422: pixel data corrupt
/// past a valid header, over the decode budget) gives the same client error; any other
/// answer (a 5xx, a trap, a 4xx about the call) becomes a 502 naming the step, so the
/// caller can tell a failed derivative from a refused image. The request carries the API token, when
/// one is set.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(component: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let url = format!("http://{component}.spin.internal{path}");
    let payload = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut request = Request::builder();
    request.method(Method::Post).uri(url).header("content-type", "application/json");
    if let Some(authorization) = crate::auth::chain_authorization() {
        request.header("authorization", authorization);
    }
    let request = request.body(payload).build();
    let response: Response = spin_sdk::http::send(request)
        .await
        .map_err(|e| ApiError::BadGateway(format!("the {component} step could not be reached: {e}")))?;
    let status = *response.status();
    if !(200..300).contains(&status) {
        return Err(step_error(component, status, response.body()));
    }
    serde_json::from_slice(response.body())
        .map_err(|e| ApiError::BadGateway(format!("the {component} step answered unreadable JSON: {e}")))
}

/// The error for a step's non-2xx answer (see [`post_json`]).
fn step_error(component: &str, status: u16, body: &[u8]) -> ApiError {
    let detail = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|problem| problem.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let refused = format!("the {component} step refused the image: {detail}");
    match status {
        413 => ApiError::PayloadTooLarge(refused),
        415 => ApiError::UnsupportedMediaType(refused),
        422 => ApiError::Unprocessable(refused),
        _ => ApiError::BadGateway(format!("the {component} step answered {status}: {detail}")),
    }
}

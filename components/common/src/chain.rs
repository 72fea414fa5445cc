//! Calls to sibling components over Spin local service chaining.

use api::ApiError;
use serde::{Serialize, de::DeserializeOwned};
use spin_sdk::http::{Method, Request, Response};

/// POSTs `body` as JSON to `http://{component}.spin.internal{path}` and decodes a 2xx
/// JSON answer. Any other answer becomes a 502 naming the step, so the caller can tell
/// a failed derivative from its own failure. The request carries the API token, when
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
        let detail = String::from_utf8_lossy(response.body());
        return Err(ApiError::BadGateway(format!("the {component} step answered {status}: {detail}")));
    }
    serde_json::from_slice(response.body())
        .map_err(|e| ApiError::BadGateway(format!("the {component} step answered unreadable JSON: {e}")))
}

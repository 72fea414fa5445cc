//! Calls to sibling components: over Spin local service chaining by default, or through
//! the app's own public routes at `chain_base_url` on platforms without chaining
//! (`spin.no-chaining.toml`, docs/deploy.md).

use api::ApiError;
use serde::{Serialize, de::DeserializeOwned};
use spin_sdk::http::{Method, Request, Response};

/// POSTs `body` as JSON to the step's URL ([`step_url`]) and decodes a 2xx
/// JSON answer. A step that refuses the image itself (413, 415, 422: pixel data corrupt
/// past a valid header, over the decode budget) gives the same client error; any other
/// answer (a 5xx, a trap, a 4xx about the call) becomes a 502 naming the step, so the
/// caller can tell a failed derivative from a refused image. The request carries the API token, when
/// one is set.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(component: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let payload = serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (status, body) = post(component, path, Some(payload)).await?;
    if !(200..300).contains(&status) {
        return Err(step_error(component, status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::BadGateway(format!("the {component} step answered unreadable JSON: {e}")))
}

/// POSTs to the step's URL ([`step_url`]; a JSON body, or none) with the API token, and
/// answers the status and body whatever the status; only a step that cannot be reached
/// is an error (502).
pub async fn post(component: &str, path: &str, json_body: Option<Vec<u8>>) -> Result<(u16, Vec<u8>), ApiError> {
    let url = step_url(component, path);
    let mut request = Request::builder();
    request.method(Method::Post).uri(url);
    if json_body.is_some() {
        request.header("content-type", "application/json");
    }
    if let Some(authorization) = crate::auth::chain_authorization() {
        request.header("authorization", authorization);
    }
    let request = request.body(json_body.unwrap_or_default()).build();
    let response: Response = spin_sdk::http::send(request)
        .await
        .map_err(|e| ApiError::BadGateway(format!("the {component} step could not be reached: {e}")))?;
    Ok((*response.status(), response.body().to_vec()))
}

/// Where a step request goes: `{chain_base_url}{path}` when the `chain_base_url` variable
/// is set (e.g. `https://darkroom.fermyon.app`: the app's own public route, at an
/// authority fixed by the manifest), else `http://{component}.spin.internal{path}`.
///
/// The authority is never taken from the incoming request's `Host` header: a client
/// picks that header, so it would pick where the step (and its API token) is sent
/// (CVE-2024-32980, docs/deploy.md).
pub fn step_url(component: &str, path: &str) -> String {
    let base = spin_sdk::variables::get("chain_base_url").unwrap_or_default();
    match base.trim().trim_end_matches('/') {
        "" => format!("http://{component}.spin.internal{path}"),
        base => format!("{base}{path}"),
    }
}

/// The `detail` of a problem+json body, or the body as text.
pub fn problem_detail(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|problem| problem.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect())
}

/// The error for a step's non-2xx answer (see [`post_json`]).
fn step_error(component: &str, status: u16, body: &[u8]) -> ApiError {
    let detail = problem_detail(body);
    let refused = format!("the {component} step refused the image: {detail}");
    match status {
        413 => ApiError::PayloadTooLarge(refused),
        415 => ApiError::UnsupportedMediaType(refused),
        422 => ApiError::Unprocessable(refused),
        _ => ApiError::BadGateway(format!("the {component} step answered {status}: {detail}")),
    }
}


/// A chained POST whose body is written while the callee already reads it (a fresh
/// instance, on another core): `http://{component}.spin.internal{path}`, never
/// `chain_base_url`, since sending a body through the network to hand work to a second
/// core would cost more than it saves. Errors are the host's, as text.
pub struct StreamingPost {
    stream: Option<wasi::io::streams::OutputStream>,
    body: Option<wasi::http::types::OutgoingBody>,
    response: wasi::http::types::FutureIncomingResponse,
}

impl StreamingPost {
    /// Starts the request: the callee runs from here on, reading what [`write`](Self::write) sends.
    pub fn start(component: &str, path: &str) -> Result<Self, String> {
        use wasi::http::types::{Fields, Method, OutgoingRequest, Scheme};
        let mut headers = vec![("content-type".to_owned(), b"application/octet-stream".to_vec())];
        if let Some(authorization) = crate::auth::chain_authorization() {
            headers.push(("authorization".to_owned(), authorization.into_bytes()));
        }
        let fields = Fields::from_list(&headers).map_err(|e| format!("headers: {e:?}"))?;
        let request = OutgoingRequest::new(fields);
        let authority = format!("{component}.spin.internal");
        request.set_method(&Method::Post).map_err(|()| "method".to_owned())?;
        request.set_scheme(Some(&Scheme::Http)).map_err(|()| "scheme".to_owned())?;
        request.set_authority(Some(&authority)).map_err(|()| "authority".to_owned())?;
        request.set_path_with_query(Some(path)).map_err(|()| "path".to_owned())?;
        let body = request.body().map_err(|()| "the body was taken".to_owned())?;
        let stream = body.write().map_err(|()| "the body stream was taken".to_owned())?;
        let response = wasi::http::outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
        Ok(Self { stream: Some(stream), body: Some(body), response })
    }

    /// Sends `bytes`, waiting while the host's buffer is full.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        let stream = self.stream.as_ref().ok_or("the body is finished")?;
        while !bytes.is_empty() {
            let room = stream.check_write().map_err(|e| format!("{e:?}"))?;
            if room == 0 {
                stream.subscribe().block();
                continue;
            }
            let n = bytes.len().min(room as usize);
            stream.write(&bytes[..n]).map_err(|e| format!("{e:?}"))?;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Ends the body and waits for the answer: its status and body.
    pub fn finish(mut self) -> Result<(u16, Vec<u8>), String> {
        if let Some(stream) = self.stream.take() {
            stream.blocking_flush().map_err(|e| format!("{e:?}"))?;
        }
        if let Some(body) = self.body.take() {
            wasi::http::types::OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
        }
        self.answer()
    }

    /// Ends the body unfinished, so the callee's read fails, and waits until the callee
    /// has answered (it stops writing before the caller cleans up after it).
    pub fn abort(mut self) {
        drop(self.stream.take());
        drop(self.body.take());
        let _ = self.answer();
    }

    fn answer(&self) -> Result<(u16, Vec<u8>), String> {
        self.response.subscribe().block();
        let response = match self.response.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(format!("{e:?}")),
            Some(Err(())) | None => return Err("no response".into()),
        };
        let status = response.status();
        let body = response.consume().map_err(|()| "the response body was taken".to_owned())?;
        let stream = body.stream().map_err(|()| "the response stream was taken".to_owned())?;
        let mut out = Vec::new();
        loop {
            match stream.blocking_read(64 << 10) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(e) => return Err(format!("{e:?}")),
            }
        }
        drop(stream);
        drop(body);
        Ok((status, out))
    }
}

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
    /// Bytes written but not yet taken by the host, oldest first (see [`write`](Self::write)).
    queued: std::collections::VecDeque<Vec<u8>>,
    /// How much of `queued`'s first buffer the host has taken already.
    sent_of_first: usize,
    queued_bytes: usize,
    max_queued: usize,
}

impl StreamingPost {
    /// Starts the request: the callee runs from here on, reading what [`write`](Self::write)
    /// sends. Up to `max_queued` bytes wait in this instance while the callee is busy.
    pub fn start(component: &str, path: &str, max_queued: usize) -> Result<Self, String> {
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
        Ok(Self { stream: Some(stream), body: Some(body), response, queued: Default::default(), sent_of_first: 0, queued_bytes: 0, max_queued })
    }

    /// Sends `bytes`: what the host's buffer (one chunk) takes now goes at once, the rest
    /// waits here, and only more than `max_queued` waiting blocks the caller.
    ///
    /// Why a queue: the callee alternates between reading and work that does not read
    /// (a store write, which waits on the disk), and this instance between producing and
    /// sending. Blocking on the host's one-chunk buffer tied the two together, so each
    /// waited on the other: a 30 MB dataset upload spent a third of its time with the
    /// parser stalled on the store helper and the helper starved for bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        // Straight from `bytes` while nothing waits before them: only what the host does
        // not take now is copied into the queue.
        let taken = if self.queued.is_empty() { self.offer(bytes)? } else { 0 };
        if taken < bytes.len() {
            self.queued.push_back(bytes[taken..].to_vec());
            self.queued_bytes += bytes.len() - taken;
        }
        self.send(false)?;
        while self.queued_bytes > self.max_queued {
            self.send(true)?;
        }
        Ok(())
    }

    /// Writes as much of `bytes` as the host takes now, without waiting: how much it took.
    fn offer(&self, bytes: &[u8]) -> Result<usize, String> {
        let stream = self.stream.as_ref().ok_or("the body is finished")?;
        let mut taken = 0;
        while taken < bytes.len() {
            let room = stream.check_write().map_err(|e| format!("{e:?}"))? as usize;
            if room == 0 {
                break;
            }
            let n = (bytes.len() - taken).min(room);
            stream.write(&bytes[taken..taken + n]).map_err(|e| format!("{e:?}"))?;
            taken += n;
        }
        Ok(taken)
    }

    /// Hands queued bytes to the host while it takes them; with `wait`, first waits for
    /// room when there is none.
    fn send(&mut self, wait: bool) -> Result<(), String> {
        let mut may_block = wait;
        while let Some(first) = self.queued.front() {
            let (len, taken) = (first.len(), self.offer(&first[self.sent_of_first..])?);
            if taken == 0 {
                if !may_block {
                    return Ok(());
                }
                self.stream.as_ref().ok_or("the body is finished")?.subscribe().block();
                may_block = false;
                continue;
            }
            self.queued_bytes -= taken;
            self.sent_of_first += taken;
            if self.sent_of_first == len {
                self.queued.pop_front();
                self.sent_of_first = 0;
            }
        }
        Ok(())
    }

    /// Why a [`write`](Self::write) failed with `error`: the callee's answer when it gave
    /// one (a callee that fails stops reading, so the caller's write sees only a closed
    /// stream), else `error`. The body is given up.
    pub fn failure(&mut self, error: String) -> String {
        self.queued.clear();
        drop(self.stream.take());
        drop(self.body.take());
        match self.answer() {
            Ok((status, body)) => format!("it answered {status}: {}", problem_detail(&body)),
            Err(_) => error,
        }
    }

    /// Ends the body and waits for the answer: its status and body.
    pub fn finish(mut self) -> Result<(u16, Vec<u8>), String> {
        while !self.queued.is_empty() {
            if let Err(e) = self.send(true) {
                return Err(self.failure(e));
            }
        }
        if let Some(stream) = self.stream.as_ref()
            && let Err(e) = stream.blocking_flush()
        {
            return Err(self.failure(format!("{e:?}")));
        }
        drop(self.stream.take());
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

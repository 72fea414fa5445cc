//! The incoming request: method, path, query and headers up front, the body on demand.

use api::ApiError;
use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Method};

/// An incoming request whose body has not been read yet.
pub struct Incoming {
    method: Method,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    request: IncomingRequest,
}

impl Incoming {
    pub fn new(request: IncomingRequest) -> Self {
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".into());
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (path_with_query, String::new()),
        };
        let headers = request.headers().entries();
        Self { method: request.method(), path, query, headers, request }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request path without the query, as the client sent it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Path segments after `prefix`, e.g. `["{id}", "thumbnail"]` for `/images/{id}/thumbnail`.
    pub fn segments_after<'a>(&'a self, prefix: &str) -> Option<Vec<&'a str>> {
        let rest = self.path.strip_prefix(prefix)?;
        Some(rest.split('/').filter(|s| !s.is_empty()).collect())
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// The first value of a header (names compare case-insensitively), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The body as a blocking [`std::io::Read`], so a core crate can parse it while it
    /// streams in (a dataset is never held whole). A declared `Content-Length` over
    /// `max_bytes` is refused at once; the reader's user enforces the cap on what arrives.
    pub fn body_reader(self, max_bytes: u64, limit_name: &str) -> Result<BodyReader, ApiError> {
        if let Some(declared) = self.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
            if declared > max_bytes {
                return Err(ApiError::PayloadTooLarge(format!("the request body exceeds {limit_name} ({max_bytes} bytes)")));
            }
        }
        let unreadable = || ApiError::BadRequest("the request body could not be read".into());
        let body = self.request.consume().map_err(|()| unreadable())?;
        let stream = body.stream().map_err(|()| unreadable())?;
        Ok(BodyReader { stream, _body: body })
    }

    /// Reads the whole body, refusing with 413 as soon as it exceeds `max_bytes`, so an
    /// oversized upload is never buffered in full. A declared `Content-Length` over the
    /// cap is refused before reading anything.
    pub async fn body(self, max_bytes: u64) -> Result<Vec<u8>, ApiError> {
        let too_large = || ApiError::PayloadTooLarge(format!("the request body exceeds max_upload_bytes ({max_bytes} bytes)"));
        if let Some(declared) = self.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
            if declared > max_bytes {
                return Err(too_large());
            }
        }
        let declared = self.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let mut stream = self.request.into_body_stream();
        // Growing one Vec by doubling leaves every smaller buffer behind in linear memory
        // (it never shrinks): a 25 MiB body would cost ~100 MiB. With a declared length the
        // buffer is allocated once; without one, chunks are kept apart and joined at the end.
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
        let mut received = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e:?}")))?;
            received += chunk.len() as u64;
            if received > max_bytes {
                return Err(too_large());
            }
            if declared.is_some() {
                body.extend_from_slice(&chunk);
            } else {
                chunks.push(chunk);
            }
        }
        if declared.is_none() {
            body = chunks.concat();
        }
        Ok(body)
    }
}

/// A request body read with blocking WASI reads.
pub struct BodyReader {
    // Dropped before the body it belongs to (fields drop in order).
    stream: wasi::io::streams::InputStream,
    _body: spin_sdk::wit::wasi::http0_2_0::types::IncomingBody,
}

impl std::io::Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        match self.stream.blocking_read(out.len() as u64) {
            Ok(bytes) => {
                out[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            Err(wasi::io::streams::StreamError::Closed) => Ok(0),
            Err(e) => Err(std::io::Error::other(format!("request body: {e:?}"))),
        }
    }
}

/// `n` random bytes from the host, as lowercase hex (ids of jobs and uploads).
pub fn random_hex(n: u64) -> String {
    wasi::random::random::get_random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

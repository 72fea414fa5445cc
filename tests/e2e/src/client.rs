//! A small blocking HTTP client over `ureq`: every status comes back as a [`Reply`].

use std::fmt;
use std::time::Duration;

use ureq::http::HeaderMap;

/// Largest response body the suite reads (a streamed job result with a million groups
/// is ~85 MB of JSON).
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// A client bound to one base URL (`http://127.0.0.1:3000`, no trailing slash).
#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// A response, kept whole: status, headers and body, for any status.
pub struct Reply {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        let base = base.into().trim_end_matches('/').to_string();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // All traffic stays on loopback (or on BASE_URL): never a proxy from the env.
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Self { base, agent: ureq::Agent::new_with_config(config) }
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "paths start with '/': {path}");
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    /// `GET`, or `None` when no HTTP response comes back (nothing listening, a dropped
    /// connection): for waiting on a server that is (re)starting.
    pub fn try_get(&self, path: &str) -> Option<Reply> {
        let result = self.agent.get(self.url(path)).call().ok()?;
        Some(finish("GET", path, Ok(result)))
    }

    /// The underlying agent, for a test that reads a response as it streams.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// `GET` with extra request headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("GET", path, request.call())
    }

    /// `POST` a body with a Content-Type.
    pub fn post(&self, path: &str, body: &[u8], content_type: &str) -> Reply {
        self.post_with(path, body, content_type, &[])
    }

    /// `POST` a body with a Content-Type and extra request headers.
    pub fn post_with(&self, path: &str, body: &[u8], content_type: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.post(self.url(path)).header("content-type", content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("POST", path, request.send(body))
    }

    /// `POST`, or the transport error when no HTTP response comes back (a connection a
    /// dying server or a balancer dropped).
    pub fn try_post(&self, path: &str, body: &[u8], content_type: &str) -> Result<Reply, String> {
        let result = self.agent.post(self.url(path)).header("content-type", content_type).send(body);
        match result {
            Ok(response) => Ok(finish("POST", path, Ok(response))),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `POST` a JSON value.
    pub fn post_json(&self, path: &str, value: &serde_json::Value) -> Reply {
        self.post(path, value.to_string().as_bytes(), "application/json")
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.delete_with(path, &[])
    }

    /// `HEAD` with extra request headers.
    pub fn head_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.head(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("HEAD", path, request.call())
    }

    /// `OPTIONS` with extra request headers.
    pub fn options_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.options(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("OPTIONS", path, request.call())
    }

    /// `PATCH` a body with extra request headers (the Content-Type among them).
    pub fn patch_with(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.patch(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("PATCH", path, request.send(body))
    }

    /// `DELETE` with extra request headers.
    pub fn delete_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.delete(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        finish("DELETE", path, request.call())
    }
}

fn finish(
    method: &'static str,
    path: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Reply {
    let mut response =
        result.unwrap_or_else(|e| panic!("{method} {path}: no HTTP response: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .unwrap_or_else(|e| panic!("{method} {path} -> {status}: reading the body failed: {e}"));
    Reply { method, path: path.to_string(), status, headers, body }
}

impl Reply {
    /// A header's value as text (first value), if present and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the request, status and body otherwise.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{self}\nbody is not JSON: {e}"))
    }

    /// Panics (showing the request, status and body) unless the status is `status`.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status\n{self}");
        self
    }

    /// The media type of `Content-Type`, lowercased and without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// The test host's per-request peak linear memory, if this server reports it.
    pub fn peak_memory(&self) -> Option<u64> {
        self.header("darkroom-host-peak-memory").and_then(|v| v.trim().parse().ok())
    }
}

impl fmt::Display for Reply {
    /// `METHOD path -> status`, the headers, and the body (text, or its size if binary).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {} -> {}", self.method, self.path, self.status)?;
        for (name, value) in &self.headers {
            writeln!(f, "  {}: {}", name, value.to_str().unwrap_or("<binary>"))?;
        }
        match std::str::from_utf8(&self.body) {
            Ok(text) if text.len() <= 2000 => write!(f, "  body: {text}"),
            Ok(text) => write!(f, "  body: {}… ({} bytes)", &text[..text.floor_char_boundary(2000)], self.body.len()),
            Err(_) => write!(f, "  body: <{} binary bytes>", self.body.len()),
        }
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

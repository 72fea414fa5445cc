//! A blocking HTTP client for darkroom's API (ureq): the base URL, the bearer token,
//! and error answers turned into [`Error::Problem`] with the problem's title and detail.

use crate::error::{Error, Result};
use serde_json::Value;
use std::time::Duration;
use ureq::Body;
use ureq::http::Response;

/// `Accept` for a job's progress stream.
pub const NDJSON: &str = "application/x-ndjson";

/// Largest problem body read (a problem is a few hundred bytes).
const PROBLEM_LIMIT: u64 = 64 * 1024;
/// Largest JSON answer read whole into memory (a job result with a million groups fits).
const JSON_LIMIT: u64 = 1 << 30;

/// Cheap to clone: clones share the connection pool (upload threads use one each).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Self {
        let agent = ureq::Agent::config_builder()
            // Error statuses are answers too: their problem body is what the user reads.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            // No overall timeout: a job's progress stream lasts as long as its request budget.
            .user_agent(concat!("darkroom-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let token = token.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        Self { agent, base: base.trim_end_matches('/').to_owned(), token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn transport(&self, path: &str, e: ureq::Error) -> Error {
        Error::Transport { url: self.url(path), message: e.to_string() }
    }

    /// `GET path`: a 2xx answer, or the problem.
    pub fn get(&self, path: &str) -> Result<Response<Body>> {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.call().map_err(|e| self.transport(path, e))?;
        checked(response)
    }

    /// `POST path` with `body` (bytes, a file): a 2xx answer, or the problem.
    pub fn post(&self, path: &str, body: impl ureq::AsSendBody, content_type: &str, accept: &str) -> Result<Response<Body>> {
        let mut request = self.agent.post(self.url(path)).header("content-type", content_type).header("accept", accept);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send(body).map_err(|e| self.transport(path, e))?;
        checked(response)
    }

    /// A resumable-upload request (`POST`, `HEAD`, `PATCH` on `/api/uploads`) with the
    /// tus headers given: a 2xx answer, or the problem.
    pub fn tus(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Result<Response<Body>> {
        let url = self.url(path);
        let mut all: Vec<(&str, String)> = vec![("tus-resumable", "1.0.0".to_owned())];
        all.extend(headers.iter().cloned());
        if let Some(token) = &self.token {
            all.push(("authorization", format!("Bearer {token}")));
        }
        let response = match method {
            "HEAD" => all.iter().fold(self.agent.head(url), |r, (n, v)| r.header(*n, v)).call(),
            "PATCH" => all.iter().fold(self.agent.patch(url), |r, (n, v)| r.header(*n, v)).send(body),
            _ => all.iter().fold(self.agent.post(url), |r, (n, v)| r.header(*n, v)).send(body),
        };
        checked(response.map_err(|e| self.transport(path, e))?)
    }

    pub fn post_json(&self, path: &str, body: &Value, accept: &str) -> Result<Response<Body>> {
        self.post(path, body.to_string(), "application/json", accept)
    }

    /// `GET path` answered as JSON.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        json_body(self.get(path)?, &self.url(path))
    }
}

/// The JSON body of an answer.
pub fn json_body(response: Response<Body>, url: &str) -> Result<Value> {
    let text = response
        .into_body()
        .into_with_config()
        .limit(JSON_LIMIT)
        .read_to_string()
        .map_err(|e| Error::Transport { url: url.to_owned(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| Error::Protocol { url: url.to_owned(), message: format!("not JSON: {e}") })
}

/// A 2xx answer as it is; anything else as the problem it carries.
fn checked(response: Response<Body>) -> Result<Response<Body>> {
    if response.status().is_success() { Ok(response) } else { Err(problem(response)) }
}

/// The title and detail of a problem+json answer; for a bare error, its status reason
/// and the start of its body.
fn problem(response: Response<Body>) -> Error {
    let status = response.status();
    let body = response.into_body().into_with_config().limit(PROBLEM_LIMIT).lossy_utf8(true).read_to_string().unwrap_or_default();
    let json: Option<Value> = serde_json::from_str(&body).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).and_then(Value::as_str).map(str::to_owned);
    let title = field("title").unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let detail = field("detail").unwrap_or_else(|| {
        let text: String = body.trim().chars().take(200).collect();
        if text.is_empty() { "the answer has no detail".to_owned() } else { text }
    });
    Error::Problem { status: status.as_u16(), title, detail }
}

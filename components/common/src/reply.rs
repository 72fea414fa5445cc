//! Outgoing responses: JSON, bytes, empty, and problem+json for errors.

use api::ApiError;
use serde::Serialize;
use futures::stream::LocalBoxStream;
use futures::{SinkExt, StreamExt};
use spin_sdk::http::{Fields, OutgoingResponse, ResponseOutparam};

/// A response: built in full before it is sent, or with a body streamed as it is made
/// ([`Reply::stream`], e.g. NDJSON progress while a job runs).
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    stream: Option<LocalBoxStream<'static, Vec<u8>>>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self { status, headers: vec![("content-type".into(), content_type.into())], body, stream: None }
    }

    /// A response whose body is each item of `body`, sent as soon as it is produced.
    pub fn stream(status: u16, content_type: &str, body: LocalBoxStream<'static, Vec<u8>>) -> Self {
        Self { status, headers: vec![("content-type".into(), content_type.into())], body: Vec::new(), stream: Some(body) }
    }

    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        // Serialising our own response types cannot fail (no maps with non-string keys).
        let body = serde_json::to_vec(value).unwrap_or_default();
        Self::new(status, "application/json", body)
    }

    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new(), stream: None }
    }

    /// RFC 9457 problem details for an error the client can act on.
    pub fn problem(err: &ApiError) -> Self {
        let problem = err.problem();
        let mut reply = Self::new(problem.status, "application/problem+json", serde_json::to_vec(&problem).unwrap_or_default());
        for (name, value) in err.headers() {
            reply = reply.header(name, &value);
        }
        reply
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets a header, replacing every earlier value of it.
    pub fn set_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.header(name, value)
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub async fn send(self, out: ResponseOutparam) {
        let entries: Vec<(String, Vec<u8>)> =
            self.headers.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
        let fields = Fields::from_list(&entries).unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(fields);
        let _ = response.set_status_code(self.status);
        let Some(mut stream) = self.stream else {
            if let Err(e) = out.set_with_body(response, self.body).await {
                eprintln!("darkroom: could not send the response body: {e:?}");
            }
            return;
        };
        let mut body = response.take_body();
        out.set(response);
        while let Some(item) = stream.next().await {
            if let Err(e) = body.send(item).await {
                // The client went away; the stream's own work (a job) is left where it is.
                eprintln!("darkroom: could not send the response body: {e:?}");
                return;
            }
        }
    }
}

//! RFC 9457 problem details, the body of every error answer.
//!
//! `type` scheme: `https://darkroom.dev/problems/{slug}`, one slug per [`ApiError`]
//! variant (`bad-request`, `not-found`, `payload-too-large`, `unsupported-media-type`,
//! ...). The URI identifies the kind of problem; it need not resolve. `title` is the
//! same for every occurrence of a type; `detail` explains this occurrence.
//!
//! [`ApiError`]: crate::ApiError

use serde::{Deserialize, Serialize};

/// The media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_BASE: &str = "https://darkroom.dev/problems/";

/// An RFC 9457 problem: `{"type","title","status","detail"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `https://darkroom.dev/problems/{slug}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, fixed summary of the problem type.
    pub title: String,
    /// The HTTP status code, repeated in the body.
    pub status: u16,
    /// What went wrong this time, safe to show to the client.
    pub detail: String,
}

impl Problem {
    /// A problem of type `slug`.
    pub fn new(slug: &str, title: &str, status: u16, detail: impl Into<String>) -> Self {
        Problem {
            type_: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a struct of strings serialises")
    }
}

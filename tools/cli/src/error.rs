//! The one error type of the CLI; its `Display` is what `error: ...` prints.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error (an RFC 9457 problem, or a bare status).
    #[error("{title}: {detail} (HTTP {status})")]
    Problem { status: u16, title: String, detail: String },
    /// The request did not get an answer (connection refused, reset, TLS, DNS).
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The server answered something this CLI does not understand.
    #[error("unexpected answer from {url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// Worth trying the same request again: no answer, or a server-side failure.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Protocol { .. } => true,
            Error::Problem { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

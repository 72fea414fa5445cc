//! The jobs crate's one error type, split by who is at fault.

/// Everything dataset ingest, job creation and shard execution can fail with.
///
/// [`Error::status`] is the HTTP status each maps to (`api` turns it into problem+json);
/// [`Error::is_retryable`] is what the driver's retry policy asks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed (backend faults are retryable, corruption is not).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A dataset body that is not valid CSV/NDJSON: `line` (1-based) and `column`
    /// (1-based field or character position) name the place.
    #[error("line {line}{}: {reason}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    BadData {
        line: u64,
        column: Option<u64>,
        reason: String,
    },
    /// A dataset over `max_dataset_bytes`, a line over the line limit, too many shards.
    #[error("{0}")]
    TooLarge(String),
    /// A request that names a parameter it cannot use (unknown task, params against the
    /// schema, a column the dataset lacks).
    #[error("{0}")]
    Invalid(String),
    /// An unknown dataset or job.
    #[error("{0}")]
    NotFound(String),
    /// The job was cancelled: no new unit starts.
    #[error("the job was cancelled")]
    Cancelled,
    /// A unit whose inputs are not all stored yet (a reduce before its maps).
    #[error("{0}")]
    NotReady(String),
    /// A chained step (render, vectorize) failed on its side (5xx, unreachable): the
    /// unit fails and the driver retries it. `status` is what the step answered (502
    /// when it could not be reached).
    #[error("{detail}")]
    Step { status: u16, detail: String },
    /// Stored job data contradicts itself.
    #[error("corrupt job data: {0}")]
    Corrupt(String),
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::Store(store::Error::Backend(_)) => 503,
            Error::Store(store::Error::TooLarge) | Error::TooLarge(_) => 413,
            Error::Store(store::Error::InvalidKey(_)) | Error::NotFound(_) => 404,
            Error::Store(_) | Error::Corrupt(_) => 500,
            Error::BadData { .. } => 400,
            Error::Invalid(_) => 422,
            Error::Cancelled => 409,
            Error::NotReady(_) => 409,
            Error::Step { status, .. } => (*status).clamp(500, 599),
        }
    }

    /// Whether running the unit again may succeed: server-side faults, as Step Functions
    /// retries task failures but never `States.Runtime` (a client error here).
    pub fn is_retryable(&self) -> bool {
        self.status() >= 500
    }

    pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> Self {
        Error::Corrupt(format!("{what}: {e}"))
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

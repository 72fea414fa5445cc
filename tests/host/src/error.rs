//! The host's one error type for start-up problems (manifest, variables,
//! components). Request-time failures never reach the caller as errors: they
//! become HTTP responses (404/500), like in Spin.

use std::path::PathBuf;

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `spin.toml` could not be read.
    #[error("cannot read manifest {path}")]
    ReadManifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `spin.toml` is not a valid v2 manifest (the message says where).
    #[error("invalid manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    /// A variable is missing, malformed, or a template refers to an unknown one.
    #[error("variables: {0}")]
    Variables(String),
    /// A component's wasm could not be loaded, compiled or linked.
    #[error("component {id:?} ({path}): {message}")]
    Component {
        id: String,
        path: PathBuf,
        message: String,
    },
    /// A key-value store could not be opened (a SQLite file) or configured (a Redis URL).
    #[error("key-value store at {location}: {message}")]
    KeyValue { location: String, message: String },
    /// The runtime config file (`--runtime-config-file`) is unreadable or invalid.
    #[error("runtime config {path}: {message}")]
    RuntimeConfig { path: PathBuf, message: String },
    /// The listen address could not be bound.
    #[error("unable to listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

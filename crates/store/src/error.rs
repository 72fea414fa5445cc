//! The store's one error type, split by who is at fault.

/// Everything the store can fail with.
///
/// `Backend` is the key-value service failing (retryable, maps to 503/500);
/// `Corrupt` means stored data contradicts itself (a manifest without its chunks, a
/// checksum mismatch, unparsable JSON); the rest are caller mistakes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key-value backend failed (I/O, connection, quota, injected fault).
    #[error("key-value backend: {0}")]
    Backend(String),
    /// Stored data is inconsistent: missing chunk, length or checksum mismatch, bad JSON.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A key could not be built: an id that is not 64 lowercase hex chars, or a key
    /// that would exceed the 250-byte / ASCII key contract.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A value exceeds what the backend accepts (Fermyon caps values at 1 MB).
    #[error("value too large for the key-value backend")]
    TooLarge,
    /// A listing cursor that this store did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A store built with an unusable configuration (e.g. chunk size above 1,000,000).
    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! One error type for the whole crate, split by who is at fault.
//!
//! | variant | fault | typical HTTP status |
//! |---|---|---|
//! | [`Error::Unsupported`] | client: not an image we accept | 415 |
//! | [`Error::TooManyPixels`] | client: header over [`Limits::max_pixels`](crate::Limits) | 413 |
//! | [`Error::TooLarge`] | client: decode would exceed [`Limits::max_alloc`](crate::Limits) | 413 |
//! | [`Error::Corrupt`] | client: truncated or malformed data | 415 (or 400) |
//! | [`Error::InvalidParameter`] | caller: bad size, quality, limits | 422 |
//! | [`Error::Encode`] | server: encoding the output failed | 500 |
//!
//! The mapping to HTTP lives in the `api` crate; [`Error::is_client_error`] tells which side
//! is at fault.

/// Everything that can go wrong in `imaging`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not one of the supported formats (see [`Format`](crate::Format)).
    #[error("unsupported image format")]
    Unsupported,
    /// The header declares more pixels than allowed; nothing was decoded.
    #[error("image is {width}x{height}, more than the limit of {max} pixels")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    /// Decoding would need more memory than [`Limits::max_alloc`](crate::Limits).
    #[error("image needs too much memory to decode: {0}")]
    TooLarge(String),
    /// Truncated or malformed image data.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// A parameter (size, quality, limit) is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Encoding the output failed (a server-side problem).
    #[error("encoding failed: {0}")]
    Encode(String),
}

impl Error {
    /// True when the input or the request is at fault (4xx), false for server faults (5xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Error::Encode(_))
    }

    /// Maps an `image` decoding-side error to ours.
    pub(crate) fn from_decode(err: image::ImageError) -> Self {
        use image::ImageError as E;
        use image::error::LimitErrorKind;
        match err {
            E::Unsupported(_) => Error::Unsupported,
            E::Limits(l) => match l.kind() {
                LimitErrorKind::InsufficientMemory => Error::TooLarge(l.to_string()),
                _ => Error::TooLarge(l.to_string()),
            },
            E::Parameter(p) => Error::InvalidParameter(p.to_string()),
            E::Decoding(d) => Error::Corrupt(d.to_string()),
            E::IoError(e) => Error::Corrupt(e.to_string()),
            E::Encoding(e) => Error::Encode(e.to_string()),
        }
    }

    /// Maps an `image` encoding-side error to ours.
    pub(crate) fn from_encode(err: image::ImageError) -> Self {
        match err {
            image::ImageError::Parameter(p) => Error::InvalidParameter(p.to_string()),
            other => Error::Encode(other.to_string()),
        }
    }
}

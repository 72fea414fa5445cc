//! One error type for the crate, split by who is at fault and what HTTP status fits.
//!
//! | variant | fault | HTTP status ([`Error::status`]) |
//! |---|---|---|
//! | [`Error::BadParameter`] | client: unknown parameter, malformed value | 400 |
//! | [`Error::OutOfRange`] | client: well-formed value outside its range, crop outside the image | 422 |
//! | [`Error::TooLarge`] | client: output over `max_render_pixels` or AVIF over `avif_max_pixels` | 413 |
//! | [`Error::Image`] | depends: see `imaging::Error` (415 unsupported, 413 too many pixels, 422 corrupt) | from imaging |
//! | [`Error::Internal`] | server: encoder failure, a bug | 500 |
//!
//! A 4xx `detail` names the parameter at fault ([`Error::param`]), as API-v2 asks.

/// Everything that can go wrong in `render`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// A parameter the request should not have sent: unknown name, malformed value,
    /// duplicated, or a filter chain that does not parse.
    #[error("{param}: {detail}")]
    BadParameter {
        /// The query parameter at fault (`w`, `filter`, ...), or `filter_presets`.
        param: String,
        /// What is wrong with it, for the problem+json `detail`.
        detail: String,
    },
    /// A well-formed value outside its range (`q=0`, `w=100000`, `blur:500`, a crop that
    /// leaves the image).
    #[error("{param}: {detail}")]
    OutOfRange {
        /// The query parameter at fault.
        param: String,
        /// What the range is.
        detail: String,
    },
    /// The output would be larger than a limit; checked before any pixel is decoded.
    #[error("{0}")]
    TooLarge(String),
    /// The source image could not be read (unsupported, corrupt, over the decode limits).
    #[error(transparent)]
    Image(#[from] imaging::Error),
    /// A server-side failure (an encoder refusing well-formed pixels).
    #[error("internal render error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn bad(param: &str, detail: impl Into<String>) -> Self {
        Error::BadParameter {
            param: param.to_string(),
            detail: detail.into(),
        }
    }

    pub(crate) fn range(param: &str, detail: impl Into<String>) -> Self {
        Error::OutOfRange {
            param: param.to_string(),
            detail: detail.into(),
        }
    }

    /// The HTTP status this error maps to (see the module table). Image errors follow
    /// `imaging`'s own split: unsupported 415, too many pixels / too much memory 413,
    /// corrupt data 422, an encoder failure 500.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadParameter { .. } => 400,
            Error::OutOfRange { .. } => 422,
            Error::TooLarge(_) => 413,
            Error::Image(e) => match e {
                imaging::Error::Unsupported => 415,
                imaging::Error::TooManyPixels { .. } | imaging::Error::TooLarge(_) => 413,
                imaging::Error::Encode(_) => 500,
                _ => 422,
            },
            Error::Internal(_) => 500,
        }
    }

    /// True when the request or its image is at fault (4xx), false for server faults.
    pub fn is_client_error(&self) -> bool {
        self.status() < 500
    }

    /// The query parameter at fault, for parameter errors.
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::BadParameter { param, .. } | Error::OutOfRange { param, .. } => Some(param),
            _ => None,
        }
    }
}

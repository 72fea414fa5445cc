//! [`ApiError`]: the one error type of the service, each variant a cause with its HTTP
//! status, turned into a [`Problem`] in one place.

use crate::problem::Problem;

/// Every way a request can fail, by cause. `Display` is for logs (it may hold internal
/// detail); clients only ever see [`ApiError::problem`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: malformed JSON, multipart, query string or cursor.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: credentials missing or wrong (answers carry `WWW-Authenticate: Bearer`).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: a bad or expired URL signature.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: unknown id or route.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: with the methods the resource allows (sent as `Allow`).
    #[error("method not allowed (allowed: {allowed})")]
    MethodNotAllowed {
        /// Comma-separated methods, e.g. `"GET, HEAD"`.
        allowed: &'static str,
    },
    /// 409: the resource's state forbids it (a cancelled job's unit).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: a precondition header the server cannot meet (an unsupported `Tus-Resumable`).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// 413: too many bytes, pixels or parts; the detail names the limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// 415: not a supported image (never decided from Content-Type).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: a valid request whose parameters cannot be used (size above the maximum...).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 416: a `Range` that starts past the end of a body of `size` bytes.
    #[error("range not satisfiable (size {size})")]
    RangeNotSatisfiable {
        /// The body's size, sent as `Content-Range: bytes */size`.
        size: u64,
    },
    /// 429: over a rate or batch limit.
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// 502: a chained step failed or answered nonsense; the detail says which.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// 503: a backing service (the key-value store) failed; retrying may work. The
    /// client sees a generic detail.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or broken data. The client sees a generic detail; the text is for logs.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::RangeNotSatisfiable { .. } => 416,
            ApiError::Unprocessable(_) => 422,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Internal(_) => 500,
            ApiError::BadGateway(_) => 502,
            ApiError::Unavailable(_) => 503,
        }
    }

    /// Whether the client is at fault (4xx).
    pub fn is_client_error(&self) -> bool {
        self.status() < 500
    }

    /// The RFC 9457 body. Never contains the internal text of 500 and 503 errors.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (slug, title, detail) = match self {
            ApiError::BadRequest(d) => ("bad-request", "Bad request", d.clone()),
            ApiError::Unauthorized(d) => ("unauthorized", "Unauthorized", d.clone()),
            ApiError::Forbidden(d) => ("forbidden", "Forbidden", d.clone()),
            ApiError::NotFound(d) => ("not-found", "Not found", d.clone()),
            ApiError::MethodNotAllowed { allowed } => (
                "method-not-allowed",
                "Method not allowed",
                format!("this resource allows {allowed}"),
            ),
            ApiError::Conflict(d) => ("conflict", "Conflict", d.clone()),
            ApiError::PreconditionFailed(d) => {
                ("precondition-failed", "Precondition failed", d.clone())
            }
            ApiError::PayloadTooLarge(d) => ("payload-too-large", "Payload too large", d.clone()),
            ApiError::UnsupportedMediaType(d) => (
                "unsupported-media-type",
                "Unsupported media type",
                d.clone(),
            ),
            ApiError::Unprocessable(d) => {
                ("unprocessable-content", "Unprocessable content", d.clone())
            }
            ApiError::RangeNotSatisfiable { size } => (
                "range-not-satisfiable",
                "Range not satisfiable",
                format!("the range starts past the end of the {size} bytes"),
            ),
            ApiError::TooManyRequests(d) => ("too-many-requests", "Too many requests", d.clone()),
            ApiError::BadGateway(d) => ("bad-gateway", "Bad gateway", d.clone()),
            ApiError::Unavailable(_) => (
                "service-unavailable",
                "Service unavailable",
                "a backing service failed; retry the request".to_owned(),
            ),
            ApiError::Internal(_) => (
                "internal-error",
                "Internal server error",
                "the server failed to handle the request".to_owned(),
            ),
        };
        Problem::new(slug, title, status, detail)
    }

    /// Extra response headers this error calls for: `Allow` on 405,
    /// `WWW-Authenticate` on 401, `Content-Range` on 416.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::MethodNotAllowed { allowed } => vec![("allow", (*allowed).to_owned())],
            ApiError::Unauthorized(_) => vec![("www-authenticate", "Bearer".to_owned())],
            ApiError::RangeNotSatisfiable { size } => {
                vec![("content-range", format!("bytes */{size}"))]
            }
            _ => Vec::new(),
        }
    }
}

impl From<imaging::Error> for ApiError {
    fn from(err: imaging::Error) -> Self {
        use imaging::Error as E;
        match err {
            E::Unsupported => ApiError::UnsupportedMediaType(format!(
                "the body is not a supported image (supported: {})",
                crate::upload::supported_formats()
            )),
            E::Corrupt(d) => ApiError::UnsupportedMediaType(format!(
                "the image data is truncated or corrupt: {d}"
            )),
            E::TooManyPixels { width, height, max } => ApiError::PayloadTooLarge(format!(
                "the image is {width}x{height} pixels, more than max_pixels ({max})"
            )),
            E::TooLarge(d) => {
                ApiError::PayloadTooLarge(format!("the image needs too much memory to decode: {d}"))
            }
            E::InvalidParameter(d) => ApiError::Unprocessable(d),
            other => ApiError::Internal(format!("imaging: {other}")),
        }
    }
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        use store::Error as E;
        match err {
            E::Backend(d) => ApiError::Unavailable(format!("key-value store: {d}")),
            // Ids are validated before keys are built; one that slips through names nothing.
            E::InvalidKey(_) => ApiError::NotFound("no image with that id".to_owned()),
            E::InvalidCursor => ApiError::BadRequest(
                "the cursor is not one this server handed out; start again without it".to_owned(),
            ),
            E::TooLarge => ApiError::PayloadTooLarge(
                "the value exceeds the key-value store's limit".to_owned(),
            ),
            other => ApiError::Internal(format!("store: {other}")),
        }
    }
}

impl From<jobs::Error> for ApiError {
    /// `jobs` decides who is at fault ([`jobs::Error::status`]); this picks the problem
    /// type for it. Data errors name their line and column in the detail.
    fn from(err: jobs::Error) -> Self {
        use jobs::Error as E;
        match err {
            E::Store(e) => e.into(),
            E::BadData { .. } => ApiError::BadRequest(format!("the dataset is malformed: {err}")),
            E::TooLarge(d) => ApiError::PayloadTooLarge(d),
            E::Invalid(d) => ApiError::Unprocessable(d),
            E::NotFound(d) => ApiError::NotFound(d),
            E::Cancelled | E::NotReady(_) => ApiError::Conflict(err.to_string()),
            // A step component failed on its side: the unit is retried.
            E::Step { detail, .. } => ApiError::BadGateway(detail),
            other => ApiError::Internal(format!("jobs: {other}")),
        }
    }
}

impl From<vectors::Error> for ApiError {
    /// Vectors are computed and stored by the service itself, so a bad one is a server
    /// fault (e.g. a stored vector of the wrong length), never the client's.
    fn from(err: vectors::Error) -> Self {
        ApiError::Internal(format!("vectors: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_problem_types() {
        let e = ApiError::UnsupportedMediaType("text".into());
        let p = e.problem();
        assert_eq!(p.status, 415);
        assert_eq!(
            p.type_,
            "https://darkroom.dev/problems/unsupported-media-type"
        );
        let json: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(
            json["type"],
            "https://darkroom.dev/problems/unsupported-media-type"
        );
        assert_eq!(json["detail"], "text");
        assert_eq!(json["status"], 415);
    }

    #[test]
    fn internals_never_leak() {
        for e in [
            ApiError::Internal("redis://secret@host".into()),
            ApiError::from(store::Error::Backend("redis://secret@host".into())),
            ApiError::from(store::Error::Corrupt("secret".into())),
        ] {
            assert!(e.status() >= 500);
            assert!(!e.problem().detail.contains("secret"), "{e}");
            assert!(e.to_string().contains("secret"), "logs keep the cause");
        }
    }

    #[test]
    fn imaging_errors_map_by_cause() {
        use imaging::Error as E;
        let cases = [
            (E::Unsupported, 415),
            (E::Corrupt("eof".into()), 415),
            (
                E::TooManyPixels {
                    width: 9,
                    height: 9,
                    max: 80,
                },
                413,
            ),
            (E::TooLarge("alloc".into()), 413),
            (E::InvalidParameter("size".into()), 422),
            (E::Encode("jpeg".into()), 500),
        ];
        for (err, status) in cases {
            assert_eq!(ApiError::from(err).status(), status);
        }
        let detail = ApiError::from(E::TooManyPixels {
            width: 9,
            height: 9,
            max: 80,
        })
        .problem()
        .detail;
        assert!(detail.contains("max_pixels (80)"), "{detail}");
    }

    #[test]
    fn store_errors_map_by_cause() {
        assert_eq!(
            ApiError::from(store::Error::Backend("x".into())).status(),
            503
        );
        assert_eq!(
            ApiError::from(store::Error::Corrupt("x".into())).status(),
            500
        );
        assert_eq!(ApiError::from(store::Error::InvalidCursor).status(), 400);
        assert_eq!(
            ApiError::from(store::Error::InvalidKey("x".into())).status(),
            404
        );
        assert_eq!(ApiError::from(store::Error::TooLarge).status(), 413);
    }

    #[test]
    fn method_not_allowed_names_the_methods() {
        let e = ApiError::MethodNotAllowed {
            allowed: "GET, HEAD",
        };
        assert_eq!(e.status(), 405);
        assert_eq!(e.headers(), vec![("allow", "GET, HEAD".to_owned())]);
        assert!(e.problem().detail.contains("GET, HEAD"));
    }
}

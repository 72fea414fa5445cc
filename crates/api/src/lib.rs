//! darkroom's HTTP vocabulary, with no Spin dependency: what a request may contain and
//! what an answer looks like, so the components stay thin (parse, call a core crate,
//! map errors) and all of it is tested natively.
//!
//! | module | what it holds |
//! |---|---|
//! | [`datasets`] | [`dataset_object`]: a dataset's API JSON |
//! | [`error`] | [`ApiError`]: one variant per cause, its status, `From` imaging / store / vectors errors |
//! | [`problem`] | [`Problem`]: the RFC 9457 `application/problem+json` body |
//! | [`images`] | [`ImageObject`], [`ImageList`], [`ImageBatch`] (API.md's image JSON) |
//! | [`steps`] | [`StepRequest`], [`ThumbnailStepResult`], [`VectorizeStepResult`], [`VectorizeResponse`] |
//! | [`search`] | [`VectorResponse`], [`SimilarResponse`], [`BatchRequest`], [`BatchResponse`] |
//! | [`settings`] | [`Settings`] from a variable lookup, with defaults and validation |
//! | [`multipart`] | [`body_kind`], [`parse_multipart`] |
//! | [`query`] | [`Query`]: typed `size`, `k`, `limit`, `cursor` |
//! | [`upload`] | [`validate_upload`]: the checks before anything is stored |
//! | [`tus`] | the tus 1.0 headers (`Tus-Resumable`, `Upload-Metadata`, offsets) and resumable-upload limits |
//! | [`time`] | RFC 3339 from microseconds |
//!
//! ```
//! use api::{ApiError, BodyKind, Query, Settings};
//!
//! // Settings come from a lookup (Spin variables in the components).
//! let settings = Settings::from_lookup(|name| (name == "max_pixels").then(|| "1000000".into()))?;
//! assert_eq!(settings.imaging_limits().max_pixels, 1_000_000);
//!
//! // Content-Type only picks raw vs multipart; the bytes decide what the file is.
//! assert_eq!(api::body_kind(Some("image/png"))?, BodyKind::Raw);
//! let err = api::validate_upload(b"<svg/>", &settings).unwrap_err();
//! assert_eq!(err.status(), 415);
//! assert_eq!(err.problem().type_, "https://darkroom.dev/problems/unsupported-media-type");
//!
//! // Out-of-range parameters are 422, malformed ones 400.
//! let size = Query::parse("size=4096")?.size(settings.thumbnail_size, settings.max_thumbnail_size);
//! assert!(matches!(size, Err(ApiError::Unprocessable(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod datasets;
pub mod error;
pub mod images;
pub mod multipart;
pub mod problem;
pub mod query;
pub mod range;
pub mod search;
pub mod settings;
pub mod steps;
pub mod time;
pub mod tus;
pub mod upload;

pub use datasets::dataset_object;
pub use error::ApiError;
pub use images::{
    ImageBatch, ImageList, ImageObject, ImageUrls, ThumbnailObject, VariantObject, VectorObject,
};
pub use multipart::{BodyKind, MultipartLimits, Part, body_kind, parse_multipart};
pub use problem::{PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, Problem};
pub use query::Query;
pub use search::{
    BatchRequest, BatchResponse, DuplicatePair, SimilarResponse, SimilarResult, VectorResponse,
};
pub use settings::{Settings, SettingsError};
pub use steps::{
    StepRequest, ThumbnailStepResult, VariantStepRequest, VariantStepResult, VectorizeResponse,
    VectorizeStepResult,
};
pub use time::rfc3339_utc;
pub use upload::{check_image, supported_formats, validate_upload};

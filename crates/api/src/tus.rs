//! The tus 1.0 resumable-upload protocol's headers and limits
//! (<https://tus.io/protocols/resumable-upload>: core, `creation`, `termination`), so
//! the component only wires them to the store.
//!
//! ```
//! use api::tus::{self, Kind};
//!
//! tus::check_version(Some("1.0.0"))?;
//! assert_eq!(tus::check_version(Some("0.2.2")).unwrap_err().status(), 412);
//! // `kind image`, `filename cat.jpg`: values are base64.
//! let meta = tus::Metadata::parse(Some("kind aW1hZ2U=,filename Y2F0LmpwZw=="))?;
//! assert_eq!((meta.kind, meta.filename.as_deref()), (Kind::Image, Some("cat.jpg")));
//! assert_eq!(tus::offset(Some("-1"), "Upload-Offset").unwrap_err().status(), 400);
//! # Ok::<(), api::ApiError>(())
//! ```

use crate::ApiError;
use crate::settings::{SettingsError, Var};
use base64::Engine;

/// The one protocol version served (`Tus-Resumable`, `Tus-Version`).
pub const VERSION: &str = "1.0.0";
/// The extensions served (`Tus-Extension`).
pub const EXTENSIONS: &str = "creation,termination";
/// The only body type a `PATCH` may have.
pub const PATCH_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Refuses a request whose `Tus-Resumable` is missing or not [`VERSION`] (412; the
/// answer carries `Tus-Version`).
pub fn check_version(header: Option<&str>) -> Result<(), ApiError> {
    match header.map(str::trim) {
        Some(VERSION) => Ok(()),
        Some(other) => Err(ApiError::PreconditionFailed(format!(
            "Tus-Resumable {other:?} is not supported; this server speaks tus {VERSION}"
        ))),
        None => Err(ApiError::PreconditionFailed(format!(
            "send Tus-Resumable: {VERSION} (this is a tus {VERSION} endpoint)"
        ))),
    }
}

/// A non-negative decimal header (`Upload-Length`, `Upload-Offset`); missing or
/// malformed is 400.
pub fn offset(header: Option<&str>, name: &str) -> Result<u64, ApiError> {
    let raw = header.map(str::trim).unwrap_or("");
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!(
            "{name} must be a non-negative integer, got {raw:?}"
        )));
    }
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("{name} {raw} is out of range")))
}

/// Refuses a `PATCH` body that is not `application/offset+octet-stream` (415).
pub fn check_patch_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == PATCH_CONTENT_TYPE {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "a PATCH body must be {PATCH_CONTENT_TYPE}, not {:?}",
            content_type.unwrap_or("")
        )))
    }
}

/// What a finished upload becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An image, as `POST /api/images` stores one.
    Image,
    /// A dataset, as `POST /api/datasets` stores one.
    Dataset,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Dataset => "dataset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Kind::Image, Kind::Dataset].into_iter().find(|k| k.as_str() == s)
    }
}

/// The `Upload-Metadata` a creation request sent: comma-separated `key base64value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `kind`: `image` or `dataset` (required).
    pub kind: Kind,
    /// `filename` (or `name`, as Uppy sends it).
    pub filename: Option<String>,
    /// `filetype` (or `content_type`, `type`): a dataset's format comes from it; an
    /// image's type is sniffed from its bytes, as for a single `POST`.
    pub content_type: Option<String>,
}

/// Longest `Upload-Metadata` accepted.
pub const MAX_METADATA_BYTES: usize = 4096;

impl Metadata {
    /// Parses the header; malformed pairs, bad base64, repeated keys or a missing or
    /// unknown `kind` are 400.
    pub fn parse(header: Option<&str>) -> Result<Self, ApiError> {
        let raw = header.unwrap_or("");
        if raw.len() > MAX_METADATA_BYTES {
            return Err(ApiError::BadRequest(format!(
                "Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes"
            )));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            if key.is_empty() || !key.is_ascii() || pairs.iter().any(|(k, _)| k == key) {
                return Err(ApiError::BadRequest(format!(
                    "Upload-Metadata: bad or repeated key {key:?}"
                )));
            }
            let value = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "Upload-Metadata: the value of {key:?} is not base64 of UTF-8 text"
                    ))
                })?;
            pairs.push((key.to_owned(), value));
        }
        let get = |names: &[&str]| {
            names.iter().find_map(|n| {
                pairs
                    .iter()
                    .find(|(k, v)| k == n && !v.is_empty())
                    .map(|(_, v)| v.clone())
            })
        };
        let kind = get(&["kind"]).ok_or_else(|| {
            ApiError::BadRequest(
                "Upload-Metadata needs `kind` (base64 of `image` or `dataset`)".into(),
            )
        })?;
        let kind = Kind::parse(&kind).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Upload-Metadata kind {kind:?}: expected image or dataset"
            ))
        })?;
        Ok(Self {
            kind,
            filename: get(&["filename", "name"]),
            content_type: get(&["filetype", "content_type", "type"]),
        })
    }
}

/// The limits of resumable uploads, from Spin variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `max_upload_part_bytes`: most bytes one `PATCH` may carry (413 beyond). Default
    /// 10 MiB, Fermyon Wasm Functions' request cap.
    pub max_part_bytes: u64,
    /// `max_resumable_image_bytes`: largest image upload. Default 64 MiB.
    pub max_image_bytes: u64,
    /// `max_resumable_dataset_bytes`: largest dataset upload. Default 64 MiB.
    pub max_dataset_bytes: u64,
    /// `resumable_upload_ttl`: seconds an unfinished upload is kept. Default 24 h.
    pub ttl_seconds: u64,
}

impl Limits {
    /// The name of every variable read, for manifests and docs.
    pub const VARIABLES: [&'static str; 4] = [
        "max_upload_part_bytes",
        "max_resumable_image_bytes",
        "max_resumable_dataset_bytes",
        "resumable_upload_ttl",
    ];

    pub fn from_lookup<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Self, SettingsError> {
        let var = Var { lookup: &lookup };
        Ok(Self {
            max_part_bytes: var.int("max_upload_part_bytes", 10 << 20, 1, 1 << 30)?,
            max_image_bytes: var.int("max_resumable_image_bytes", 64 << 20, 1, 1 << 32)?,
            max_dataset_bytes: var.int("max_resumable_dataset_bytes", 64 << 20, 1, 1 << 32)?,
            ttl_seconds: var.int("resumable_upload_ttl", 86_400, 60, 90 * 86_400)?,
        })
    }

    /// The largest upload of `kind`.
    pub fn max_bytes(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Image => self.max_image_bytes,
            Kind::Dataset => self.max_dataset_bytes,
        }
    }

    /// Refuses an `Upload-Length` over the limit of `kind` (413).
    pub fn check_length(&self, kind: Kind, length: u64) -> Result<(), ApiError> {
        let (max, name) = match kind {
            Kind::Image => (self.max_image_bytes, "max_resumable_image_bytes"),
            Kind::Dataset => (self.max_dataset_bytes, "max_resumable_dataset_bytes"),
        };
        if length > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "Upload-Length {length} is more than {name} ({max} bytes)"
            )));
        }
        Ok(())
    }

    /// Refuses a `PATCH` whose declared `Content-Length` is over `max_upload_part_bytes`
    /// or past the upload's end (413), before any of it is read.
    pub fn check_part(&self, declared: Option<u64>, offset: u64, length: u64) -> Result<(), ApiError> {
        let Some(declared) = declared else { return Ok(()) };
        if declared > self.max_part_bytes {
            return Err(ApiError::PayloadTooLarge(format!(
                "the PATCH body is {declared} bytes, more than max_upload_part_bytes ({})",
                self.max_part_bytes
            )));
        }
        if offset.saturating_add(declared) > length {
            return Err(ApiError::PayloadTooLarge(format!(
                "the PATCH body ({declared} bytes at offset {offset}) runs past Upload-Length {length}"
            )));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_lookup(|_| None).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn metadata_as_uppy_and_tus_js_client_send_it() {
        let header = format!("name {},type {},kind {},relativePath", b64("a.csv"), b64("text/csv"), b64("dataset"));
        let meta = Metadata::parse(Some(&header)).unwrap();
        assert_eq!(meta.kind, Kind::Dataset);
        assert_eq!(meta.filename.as_deref(), Some("a.csv"));
        assert_eq!(meta.content_type.as_deref(), Some("text/csv"));
    }

    #[test]
    fn bad_metadata_is_400() {
        for bad in [
            None,
            Some("filename eC5qcGc="),
            Some("kind !!!"),
            Some(&*format!("kind {}", b64("video"))),
            Some(&*format!("kind {0},kind {0}", b64("image"))),
        ] {
            assert_eq!(Metadata::parse(bad).unwrap_err().status(), 400, "{bad:?}");
        }
        assert_eq!(Metadata::parse(Some(&"k ".repeat(3000))).unwrap_err().status(), 400);
    }

    #[test]
    fn versions_offsets_and_types() {
        assert!(check_version(Some(" 1.0.0 ")).is_ok());
        assert_eq!(check_version(None).unwrap_err().status(), 412);
        assert_eq!(offset(Some("42"), "Upload-Offset").unwrap(), 42);
        for bad in [None, Some(""), Some("+1"), Some("1.5"), Some("99999999999999999999999")] {
            assert_eq!(offset(bad, "Upload-Offset").unwrap_err().status(), 400, "{bad:?}");
        }
        assert!(check_patch_type(Some("application/offset+octet-stream")).is_ok());
        assert_eq!(check_patch_type(Some("application/octet-stream")).unwrap_err().status(), 415);
        assert_eq!(check_patch_type(None).unwrap_err().status(), 415);
    }

    #[test]
    fn limits_and_their_413s() {
        let limits = Limits::from_lookup(|n| (n == "max_upload_part_bytes").then(|| "1000".into())).unwrap();
        assert_eq!(limits.max_part_bytes, 1000);
        assert_eq!(limits.max_image_bytes, 64 << 20);
        assert_eq!(limits.check_length(Kind::Image, (64 << 20) + 1).unwrap_err().status(), 413);
        assert!(limits.check_length(Kind::Dataset, 60_000_000).is_ok());
        assert_eq!(limits.check_part(Some(1001), 0, 5000).unwrap_err().status(), 413);
        assert_eq!(limits.check_part(Some(900), 4200, 5000).unwrap_err().status(), 413);
        assert!(limits.check_part(Some(800), 4200, 5000).is_ok());
        assert!(Limits::from_lookup(|n| (n == "resumable_upload_ttl").then(|| "1".into())).is_err());
    }
}

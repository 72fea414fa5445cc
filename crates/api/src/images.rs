//! The image object of API.md, built from a stored [`store::ImageRecord`], and the
//! listing answer.

use serde::{Deserialize, Serialize};
use store::{ImageRecord, Placeholder, VariantInfo};

/// One image as the API shows it (`POST /api/images`, `GET /api/images/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageObject {
    pub id: String,
    /// Sniffed format: `jpeg`, `png`, ...
    pub format: String,
    /// Displayed width (EXIF orientation applied).
    pub width: u32,
    /// Displayed height (EXIF orientation applied).
    pub height: u32,
    /// Length of the original in bytes.
    pub bytes: u64,
    /// Upload time, RFC 3339 UTC (`2026-11-22T12:00:00Z`).
    pub created: String,
    /// `null` until the thumbnail step succeeded.
    pub thumbnail: Option<ThumbnailObject>,
    /// `null` until the vectorize step succeeded.
    pub vector: Option<VectorObject>,
    /// BlurHash and dominant colour to show while the image loads; `null` until the
    /// thumbnail step made them.
    pub placeholder: Option<Placeholder>,
    /// The stored variants (filtered renditions), each with the URL serving it.
    pub variants: Vec<VariantObject>,
    pub urls: ImageUrls,
}

/// One stored variant of an image (`GET /images/{id}/variants/{name}` serves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantObject {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub url: String,
}

impl VariantObject {
    /// The variant `info` of image `id`, with its URL.
    pub fn new(id: &str, info: &VariantInfo) -> Self {
        VariantObject {
            name: info.name.clone(),
            width: info.width,
            height: info.height,
            format: info.format.clone(),
            url: format!("/images/{id}/variants/{}", info.name),
        }
    }
}

/// The thumbnail part of an [`ImageObject`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailObject {
    pub width: u32,
    pub height: u32,
    pub format: String,
}

/// The vector part of an [`ImageObject`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorObject {
    pub dims: usize,
}

/// Where an image's resources live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrls {
    pub original: String,
    pub thumbnail: String,
    pub vector: String,
    pub similar: String,
}

impl ImageUrls {
    /// The URLs of image `id` (the route table of API.md).
    pub fn for_id(id: &str) -> Self {
        ImageUrls {
            original: format!("/images/{id}"),
            thumbnail: format!("/images/{id}/thumbnail"),
            vector: format!("/api/images/{id}/vector"),
            similar: format!("/api/images/{id}/similar"),
        }
    }
}

impl From<&ImageRecord> for ImageObject {
    fn from(r: &ImageRecord) -> Self {
        ImageObject {
            id: r.id.clone(),
            format: r.format.clone(),
            width: r.width,
            height: r.height,
            bytes: r.bytes,
            created: crate::time::rfc3339_utc(r.created_micros),
            thumbnail: r.thumbnail.as_ref().map(|t| ThumbnailObject {
                width: t.width,
                height: t.height,
                format: t.format.clone(),
            }),
            vector: r.vector.as_ref().map(|v| VectorObject { dims: v.dims }),
            placeholder: r.thumbnail.as_ref().and_then(|t| t.placeholder.clone()),
            variants: r
                .variants
                .iter()
                .map(|v| VariantObject::new(&r.id, v))
                .collect(),
            urls: ImageUrls::for_id(&r.id),
        }
    }
}

/// `GET /api/images`: a page, newest first; `next` is `null` on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageList {
    pub images: Vec<ImageObject>,
    pub next: Option<String>,
}

/// A multipart upload of several files: `{"images": [...]}`, one object per file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBatch {
    pub images: Vec<ImageObject>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{ThumbInfo, VariantInfo, VectorInfo};

    #[test]
    fn json_matches_api_md() {
        let id = "ab".repeat(32);
        let record = ImageRecord {
            id: id.clone(),
            format: "jpeg".into(),
            width: 5120,
            height: 2880,
            bytes: 4_160_783,
            alpha: false,
            created_micros: 1_795_348_800_123_456,
            thumbnail: Some(ThumbInfo {
                width: 128,
                height: 72,
                format: "jpeg".into(),
                bytes: 3000,
                placeholder: Some(Placeholder {
                    blurhash: "LKO2?U%2Tw=w]~RBVZRi};RPxuwH".into(),
                    color: "#a0b0c0".into(),
                }),
            }),
            vector: Some(VectorInfo {
                dims: 256,
                phash: "00ff".into(),
            }),
            variants: vec![VariantInfo {
                name: "clarendon".into(),
                width: 2048,
                height: 1152,
                format: "jpeg".into(),
            }],
        };
        let json = serde_json::to_value(ImageObject::from(&record)).unwrap();
        let expected = serde_json::json!({
            "id": id, "format": "jpeg", "width": 5120, "height": 2880, "bytes": 4160783,
            "created": "2026-11-22T12:00:00Z",
            "thumbnail": {"width": 128, "height": 72, "format": "jpeg"},
            "vector": {"dims": 256},
            "placeholder": {"blurhash": "LKO2?U%2Tw=w]~RBVZRi};RPxuwH", "color": "#a0b0c0"},
            "variants": [{"name": "clarendon", "width": 2048, "height": 1152, "format": "jpeg",
                          "url": format!("/images/{id}/variants/clarendon")}],
            "urls": {"original": format!("/images/{id}"), "thumbnail": format!("/images/{id}/thumbnail"),
                     "vector": format!("/api/images/{id}/vector"), "similar": format!("/api/images/{id}/similar")}
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn missing_derivatives_are_null_and_last_page_next_is_null() {
        let record = ImageRecord {
            id: "cd".repeat(32),
            format: "png".into(),
            width: 1,
            height: 1,
            bytes: 67,
            alpha: true,
            created_micros: 0,
            thumbnail: None,
            vector: None,
            variants: Vec::new(),
        };
        let list = ImageList {
            images: vec![ImageObject::from(&record)],
            next: None,
        };
        let json = serde_json::to_value(&list).unwrap();
        assert!(json["next"].is_null());
        assert!(json["images"][0]["thumbnail"].is_null());
        assert!(json["images"][0]["vector"].is_null());
        assert!(json["images"][0]["placeholder"].is_null());
        assert_eq!(json["images"][0]["variants"], serde_json::json!([]));
    }
}

//! Image records: what the API shows about an image, stored as JSON at `img/{id}/meta`.
//!
//! Only the upload writes a record (steps report their results back to it), so the
//! record is never read-modify-written by two concurrent requests.

use crate::blob::{from_json, to_json};
use crate::{Error, KeyValue, Result, Store, keys};
use serde::{Deserialize, Serialize};

/// Everything known about one uploaded image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Lowercase hex SHA-256 of the original bytes.
    pub id: String,
    /// Sniffed format name (`jpeg`, `png`, ...).
    pub format: String,
    /// Width as displayed (EXIF orientation applied).
    pub width: u32,
    /// Height as displayed (EXIF orientation applied).
    pub height: u32,
    /// Length of the original in bytes.
    pub bytes: u64,
    /// Whether the original has an alpha channel (renders then default to PNG, not JPEG).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub alpha: bool,
    /// Upload time, microseconds since the Unix epoch; also the listing order.
    pub created_micros: u64,
    /// The stored thumbnail, once the thumbnail step succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbInfo>,
    /// The stored feature vector, once the vectorize step succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<VectorInfo>,
    /// The variants the upload made (its `auto_presets`), in the order configured.
    /// Variants stored later (`POST /api/images/{id}/variants`) have their own keys only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantInfo>,
}

/// A stored variant's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantInfo {
    /// The variant's name (a preset name, or the name it was stored under).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Encoded format name (`jpeg`, `png`, `webp`, ...).
    pub format: String,
}

/// The thumbnail blob's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Encoded format name (`jpeg`).
    pub format: String,
    /// Encoded length in bytes.
    pub bytes: u64,
    /// What a client shows while the image loads (absent in records made before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Placeholder>,
}

/// A BlurHash and the dominant colour, computed by the thumbnail step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placeholder {
    /// BlurHash of the thumbnail (4x3 components, 3x4 for portrait images).
    pub blurhash: String,
    /// Dominant colour, `#rrggbb`.
    pub color: String,
}

/// The vector blob's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorInfo {
    /// Number of f32 components (`usize` like `Vec::len`, so step answers pass through).
    pub dims: usize,
    /// 64-bit perceptual hash as hex.
    pub phash: String,
}

impl<K: KeyValue> Store<K> {
    /// Writes (or replaces) the record of `record.id`, which commits the image
    /// ([`Store::has_image`]), then marks the vector catalog out of date: the record
    /// makes the image's vector live, and a search that listed the keys between the
    /// vector and the record must not leave a catalog without it.
    pub fn put_record(&self, record: &ImageRecord) -> Result<()> {
        self.kv.set(&keys::record(&record.id)?, &to_json(record))?;
        self.touch_vectors()
    }

    /// The record of `id`, `None` when absent.
    pub fn get_record(&self, id: &str) -> Result<Option<ImageRecord>> {
        let Some(raw) = self.kv.get(&keys::record(id)?)? else {
            return Ok(None);
        };
        let record: ImageRecord = from_json(&raw, "image record")?;
        if record.id != id {
            return Err(Error::Corrupt(format!(
                "record under {id} names {}",
                record.id
            )));
        }
        Ok(Some(record))
    }
}

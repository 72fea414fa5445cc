//! Blobs derived from an image by name: stored variants (`POST /api/images/{id}/variants`,
//! auto presets) and cached renders (`/images/{id}/render`).
//!
//! They are ordinary chunked blobs (manifest last) under the image's own key prefix, so
//! [`Store::delete_image`] removes them with the image. Each is written by whoever makes
//! it, with bytes that are a pure function of the original and the name (a preset, or the
//! canonical render options): two concurrent makers write the same bytes, so neither
//! write is lost and nothing is read-modify-written.

use crate::{BlobManifest, KeyValue, Result, Store, keys};

/// Which derived blob of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived<'a> {
    /// A named variant (`[a-z0-9_-]`, see [`keys::is_valid_variant_name`]).
    Variant(&'a str),
    /// A cached render, by the SHA-256 hex of its canonical options.
    Render(&'a str),
}

impl Derived<'_> {
    fn base(self, id: &str) -> Result<String> {
        match self {
            Derived::Variant(name) => keys::variant_base(id, name),
            Derived::Render(hash) => keys::render_base(id, hash),
        }
    }
}

impl<K: KeyValue> Store<K> {
    /// Stores an encoded image derived from image `id`, recording its pixel size and
    /// what it was made from (e.g. the canonical filter chain of a variant).
    pub fn put_derived(
        &self,
        id: &str,
        which: Derived<'_>,
        bytes: &[u8],
        content_type: &str,
        dims: [u32; 2],
        made_from: &str,
    ) -> Result<BlobManifest> {
        self.put_at(
            &which.base(id)?,
            bytes,
            crate::content_id(bytes),
            content_type,
            Some(dims),
            Some(made_from),
        )
    }

    /// Whether a derived blob is committed, without reading it (its manifest may hold it).
    pub fn has_derived(&self, id: &str, which: Derived<'_>) -> Result<bool> {
        self.kv.exists(&keys::base_manifest(&which.base(id)?)?)
    }

    /// The manifest of a derived blob, `None` when absent.
    pub fn derived_manifest(&self, id: &str, which: Derived<'_>) -> Result<Option<BlobManifest>> {
        self.manifest_at(&which.base(id)?)
    }

    /// A derived blob, verified like [`get_blob`](Self::get_blob).
    pub fn get_derived(
        &self,
        id: &str,
        which: Derived<'_>,
    ) -> Result<Option<(BlobManifest, Vec<u8>)>> {
        self.get_at(&which.base(id)?)
    }
}

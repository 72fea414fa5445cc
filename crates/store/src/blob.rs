//! Chunked blobs: values bigger than the platform's 1 MB cap are split into chunks, and
//! a manifest written after the last chunk is the commit point, so a reader either sees
//! no manifest (the blob is absent) or a manifest whose chunks are all in place.
//!
//! A blob that fits in one value with its manifest is written whole into the manifest's
//! key instead ([`INLINE`]): one write, where chunk and manifest were two. Under `spin
//! up`'s SQLite store every write is a commit with its own journal and fsyncs, and an
//! upload's thumbnail (~6 KB), vector (~1 KB), auto-preset variant and a phone-sized
//! original all fit.

use crate::{Error, KeyValue, Result, Store, content_id, digest_matches, fast_digest, is_valid_id, keys};
use serde::{Deserialize, Serialize};

/// Largest chunk (and so value) the store writes: Fermyon's KV cap.
pub const MAX_CHUNK_BYTES: u32 = 1_000_000;

/// First byte of a manifest key that holds its value whole ([`inline_frame`]): then a
/// header with no newline in it, a newline, and the bytes. A blob's header is its
/// manifest's JSON; a job value's (`jobs::chunked`) its digest. A JSON manifest starts
/// with `{`, so a reader tells the two apart by this byte. Versions before it read such
/// a key as a damaged manifest: `kv_inline_blobs = false` keeps writers on chunks while
/// they still run.
pub const INLINE: u8 = 0;

/// `header` and `bytes` as one [`INLINE`] value; `header` holds no newline.
pub fn inline_frame(header: &[u8], bytes: &[u8]) -> Vec<u8> {
    debug_assert!(!header.contains(&b'\n'), "an inline header holds no newline");
    let mut value = Vec::with_capacity(1 + header.len() + 1 + bytes.len());
    value.push(INLINE);
    value.extend_from_slice(header);
    value.push(b'\n');
    value.extend_from_slice(bytes);
    value
}

/// The header of a value that starts with [`INLINE`] and where its bytes start; `None`
/// when the header never ends (damage).
pub fn inline_header(raw: &[u8]) -> Option<(&[u8], usize)> {
    let end = raw.iter().position(|&b| b == b'\n')?;
    Some((raw.get(1..end)?, end + 1))
}

/// What a blob holds; each kind is stored under its own key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlobKind {
    /// The uploaded bytes, unchanged.
    Original,
    /// The encoded thumbnail.
    Thumbnail,
    /// The feature vector, f32 little-endian.
    Vector,
}

impl BlobKind {
    /// Every kind, the original first (the order deletes go in).
    pub const ALL: [BlobKind; 3] = [BlobKind::Original, BlobKind::Thumbnail, BlobKind::Vector];

    /// The key segment: `original`, `thumbnail`, `vector`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlobKind::Original => "original",
            BlobKind::Thumbnail => "thumbnail",
            BlobKind::Vector => "vector",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The commit record of a blob, stored as JSON at `img/{id}/{kind}/m`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobManifest {
    /// Total length in bytes.
    pub size: u64,
    /// Number of chunks (`ceil(size / chunk_size)`, 0 for an empty blob).
    pub chunks: u32,
    /// Length of every chunk but the last.
    pub chunk_size: u32,
    /// The MIME type the bytes were sniffed as (never taken from a client header).
    pub content_type: String,
    /// Lowercase hex SHA-256 of the whole blob: an original's id, and what a blob is
    /// checked against on read when it has no [`digest`](Self::digest).
    pub sha256: String,
    /// A [`fast_digest`] of the whole blob, checked on every read
    /// instead of the SHA-256 (the same protection against damage for a small fraction of
    /// the time). Absent in manifests written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Pixel size of an encoded image blob whose maker recorded it (variants and renders),
    /// so an image's JSON can describe them without reading their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<[u32; 2]>,
    /// What a derived blob was made from (a variant's canonical effect), so a request to
    /// store a different effect under the same name can be told apart from a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_from: Option<String>,
    /// The key base the chunks live under when it is not the blob's own: an original
    /// assembled by a resumable upload keeps the upload's parts as its chunks
    /// ([`Store::adopt_blob`]), so completing an upload copies nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<String>,
    /// The bytes sit in the manifest's key ([`INLINE`]), not in chunks. Not part of the
    /// JSON: the key's first byte says it.
    #[serde(skip)]
    pub inline: bool,
}

impl BlobManifest {
    /// Whether `bytes` are this blob: its fast digest when it has one, else its SHA-256.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match &self.digest {
            Some(digest) => digest_matches(bytes, digest),
            None => content_id(bytes) == self.sha256,
        }
    }

    /// Rejects manifests whose numbers contradict each other before anything is
    /// allocated from them.
    pub(crate) fn validate(&self) -> Result<()> {
        let ok_chunk = (1..=MAX_CHUNK_BYTES).contains(&self.chunk_size);
        let expected = self.size.div_ceil(u64::from(self.chunk_size.max(1)));
        if !ok_chunk || expected != u64::from(self.chunks) || !is_valid_id(&self.sha256) {
            return Err(Error::Corrupt(format!("inconsistent manifest {self:?}")));
        }
        Ok(())
    }
}

impl<K: KeyValue> Store<K> {
    /// Stores `bytes` as blob `kind` of image `id`: chunks first, manifest last.
    ///
    /// Rewriting a blob with the same bytes (a retried upload) is harmless. Replacing it
    /// with different bytes first removes the old manifest, so a concurrent reader sees
    /// the blob absent rather than old chunks mixed with new ones.
    pub fn put_blob(
        &self,
        id: &str,
        kind: BlobKind,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<BlobManifest> {
        // An original's id is the SHA-256 of its bytes (content addressing), computed
        // by the upload already: a second pass over a 25 MB file costs 70 ms in wasm.
        let sha256 = match kind {
            BlobKind::Original => {
                debug_assert_eq!(id, content_id(bytes), "an original's id is its SHA-256");
                id.to_owned()
            }
            _ => content_id(bytes),
        };
        self.put_at(&keys::blob_base(id, kind)?, bytes, sha256, content_type, None, None)
    }

    /// Whether blob `kind` of image `id` is committed, without reading it (a manifest
    /// may hold the whole blob).
    pub fn has_blob(&self, id: &str, kind: BlobKind) -> Result<bool> {
        self.kv.exists(&keys::manifest(id, kind)?)
    }

    /// The manifest of a committed blob, `None` when absent.
    pub fn blob_manifest(&self, id: &str, kind: BlobKind) -> Result<Option<BlobManifest>> {
        self.manifest_at(&keys::blob_base(id, kind)?)
    }

    /// A committed blob, reassembled and verified (length, and [`BlobManifest::matches`]).
    ///
    /// A missing chunk or a mismatch is [`Error::Corrupt`]: once the manifest exists the
    /// chunks must too, so this is damage, not a race with a writer.
    pub fn get_blob(&self, id: &str, kind: BlobKind) -> Result<Option<(BlobManifest, Vec<u8>)>> {
        self.get_at(&keys::blob_base(id, kind)?)
    }

    /// Commits blob `kind` of image `id` over chunks already stored under `parts` (a
    /// resumable upload's, `{parts}/{n}`, each `chunk_size` long but the last), whose
    /// whole is `size` bytes hashing to `sha256` and `digest` ([`Store::hash_upload`]):
    /// the manifest is the only write. The caller has read the chunks to hash them; every
    /// read checks each chunk's length and [`get_blob`](Self::get_blob) the digest, as for
    /// any blob.
    pub fn adopt_blob(
        &self,
        id: &str,
        kind: BlobKind,
        parts: &str,
        (size, chunk_size): (u64, u32),
        (sha256, digest): (&str, &str),
        content_type: &str,
    ) -> Result<BlobManifest> {
        let manifest = BlobManifest {
            size,
            chunks: u32::try_from(size.div_ceil(u64::from(chunk_size.max(1))))
                .map_err(|_| Error::TooLarge)?,
            chunk_size,
            content_type: content_type.to_owned(),
            sha256: sha256.to_owned(),
            digest: Some(digest.to_owned()),
            dims: None,
            made_from: None,
            parts: Some(parts.to_owned()),
            inline: false,
        };
        manifest.validate()?;
        keys::base_chunk(parts, manifest.chunks)?;
        self.kv.set(&keys::manifest(id, kind)?, &to_json(&manifest))?;
        Ok(manifest)
    }

    /// Bytes `range` of blob `kind` of image `id` whose committed manifest is `manifest`
    /// (clamped to its size), reading only the chunks that hold them: a ranged download
    /// of a 50 MB original reads a megabyte, not the file. Each chunk read is checked for
    /// its length; the SHA-256 covers the whole blob only, so it is checked by
    /// [`get_blob`](Self::get_blob), not here.
    pub fn blob_range(
        &self,
        id: &str,
        kind: BlobKind,
        manifest: &BlobManifest,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>> {
        let base = keys::blob_base(id, kind)?;
        let (start, end) = (range.start.min(manifest.size), range.end.min(manifest.size));
        if manifest.inline {
            // One value holds it all: read it again (the manifest was read without
            // keeping its bytes) and slice; checked like any whole read.
            let (_, bytes) = self
                .get_at(&base)?
                .ok_or_else(|| Error::Corrupt(format!("blob {base} vanished")))?;
            let end = (end as usize).min(bytes.len());
            return Ok(bytes[(start as usize).min(end)..end].to_vec());
        }
        let chunk_size = u64::from(manifest.chunk_size);
        let mut bytes =
            Vec::with_capacity(usize::try_from(end - start).map_err(|_| Error::TooLarge)?);
        let mut at = start;
        while at < end {
            let n = (at / chunk_size) as u32;
            let chunk = self.chunk_at(&base, manifest, n)?;
            let chunk_start = u64::from(n) * chunk_size;
            let to = ((end - chunk_start) as usize).min(chunk.len());
            bytes.extend_from_slice(&chunk[(at - chunk_start) as usize..to]);
            at = chunk_start + to as u64;
        }
        Ok(bytes)
    }

    /// Chunk `n` of the blob at `base`, checked to have the length `manifest` says: every
    /// chunk is `chunk_size` long but the last, which holds the rest. A missing chunk or a
    /// wrong length is damage ([`Error::Corrupt`]): the manifest is written after them.
    fn chunk_at(&self, base: &str, manifest: &BlobManifest, n: u32) -> Result<Vec<u8>> {
        let key = keys::base_chunk(manifest.parts.as_deref().unwrap_or(base), n)?;
        let chunk = self
            .kv
            .get(&key)?
            .ok_or_else(|| Error::Corrupt(format!("missing chunk {key}")))?;
        let chunk_size = u64::from(manifest.chunk_size);
        let want = if n + 1 == manifest.chunks {
            manifest.size.saturating_sub(u64::from(n) * chunk_size)
        } else {
            chunk_size
        };
        if chunk.len() as u64 != want {
            return Err(Error::Corrupt(format!("chunk {key} has the wrong length")));
        }
        Ok(chunk)
    }

    /// [`put_blob`](Self::put_blob) for the blob whose keys are `{base}/m` and `{base}/{n}`.
    pub(crate) fn put_at(
        &self,
        base: &str,
        bytes: &[u8],
        sha256: String,
        content_type: &str,
        dims: Option<[u32; 2]>,
        made_from: Option<&str>,
    ) -> Result<BlobManifest> {
        let manifest_key = keys::base_manifest(base)?;
        let mut manifest = BlobManifest {
            size: bytes.len() as u64,
            chunks: u32::try_from(bytes.len().div_ceil(self.chunk_size as usize))
                .map_err(|_| Error::TooLarge)?,
            chunk_size: self.chunk_size,
            content_type: content_type.to_owned(),
            sha256,
            digest: Some(fast_digest(bytes)),
            dims,
            made_from: made_from.map(str::to_owned),
            parts: None,
            inline: false,
        };
        let previous = self.manifest_at(base).ok().flatten();
        let same_bytes = previous
            .as_ref()
            .is_some_and(|p| p.sha256 == manifest.sha256);
        // A retry over the same bytes committed as chunks keeps them: turning them into
        // one value would delete chunks a concurrent reader may be reading.
        let inline = self.inline && !(same_bytes && previous.as_ref().is_some_and(|p| !p.inline));
        if let Some(value) = inline
            .then(|| inline_value(&manifest, bytes, self.chunk_size))
            .flatten()
        {
            // One write replaces whatever was there whole, so a reader sees the old blob
            // or the new one; chunks of an old chunked version go after it.
            self.kv.set(&manifest_key, &value)?;
            manifest.inline = true;
        } else {
            if previous.is_some() && !same_bytes {
                self.kv.delete(&manifest_key)?;
            }
            let written = self
                .write_chunks(base, bytes)
                .and_then(|()| self.kv.set(&manifest_key, &to_json(&manifest)));
            if let Err(err) = written {
                // No manifest: the chunks written so far are invisible; remove them (best
                // effort) so a failed write leaves no orphans. A blob already committed
                // with these same bytes keeps its chunks (they were rewritten identical).
                if !same_bytes {
                    let old_chunks = previous.as_ref().map_or(0, chunks_of);
                    for n in 0..manifest.chunks.max(old_chunks) {
                        let _ = keys::base_chunk(base, n).and_then(|key| self.kv.delete(&key));
                    }
                }
                return Err(err);
            }
        }
        // Chunks beyond the new end belonged to a longer previous version. The blob is
        // committed already: a failed delete leaves an invisible orphan, not an error.
        for n in chunks_of(&manifest)..previous.as_ref().map_or(0, chunks_of) {
            let _ = keys::base_chunk(base, n).and_then(|key| self.kv.delete(&key));
        }
        Ok(manifest)
    }

    fn write_chunks(&self, base: &str, bytes: &[u8]) -> Result<()> {
        for (n, chunk) in bytes.chunks(self.chunk_size as usize).enumerate() {
            self.kv.set(&keys::base_chunk(base, n as u32)?, chunk)?;
        }
        Ok(())
    }

    /// [`blob_manifest`](Self::blob_manifest) for the blob at `base`.
    pub(crate) fn manifest_at(&self, base: &str) -> Result<Option<BlobManifest>> {
        Ok(self.read_at(base)?.map(|(manifest, _)| manifest))
    }

    /// The manifest at `base`, with the blob's bytes when they are stored in it
    /// ([`INLINE`]; their length checked, their digest not yet).
    fn read_at(&self, base: &str) -> Result<Option<(BlobManifest, Option<Vec<u8>>)>> {
        let Some(mut raw) = self.kv.get(&keys::base_manifest(base)?)? else {
            return Ok(None);
        };
        if raw.first() != Some(&INLINE) {
            let manifest: BlobManifest = from_json(&raw, "blob manifest")?;
            manifest.validate()?;
            return Ok(Some((manifest, None)));
        }
        let (header, at) = inline_header(&raw)
            .ok_or_else(|| Error::Corrupt(format!("blob {base}: inline manifest has no end")))?;
        let mut manifest: BlobManifest = from_json(header, "inline blob manifest")?;
        manifest.validate()?;
        manifest.inline = true;
        raw.drain(..at);
        if raw.len() as u64 != manifest.size {
            return Err(Error::Corrupt(format!("blob {base} has the wrong length")));
        }
        Ok(Some((manifest, Some(raw))))
    }

    /// [`get_blob`](Self::get_blob) for the blob at `base`.
    pub(crate) fn get_at(&self, base: &str) -> Result<Option<(BlobManifest, Vec<u8>)>> {
        let Some((manifest, inline)) = self.read_at(base)? else {
            return Ok(None);
        };
        let size = usize::try_from(manifest.size).map_err(|_| Error::TooLarge)?;
        let bytes = match inline {
            Some(bytes) => bytes,
            None => {
                let mut bytes = Vec::with_capacity(size);
                for n in 0..manifest.chunks {
                    bytes.extend_from_slice(&self.chunk_at(base, &manifest, n)?);
                }
                bytes
            }
        };
        if bytes.len() != size || !manifest.matches(&bytes) {
            return Err(Error::Corrupt(format!("blob {base} fails its checksum")));
        }
        Ok(Some((manifest, bytes)))
    }
}

/// The chunks a committed blob keeps under its own base (none when inline).
pub(crate) fn chunks_of(manifest: &BlobManifest) -> u32 {
    if manifest.inline { 0 } else { manifest.chunks }
}

/// `manifest` and `bytes` as one [`INLINE`] value, `None` when that would pass
/// `max_value` bytes (the chunk size: the largest value this store writes).
fn inline_value(manifest: &BlobManifest, bytes: &[u8], max_value: u32) -> Option<Vec<u8>> {
    let json = to_json(manifest);
    (1 + json.len() + 1 + bytes.len() <= max_value as usize).then(|| inline_frame(&json, bytes))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and integers always serialise.
    serde_json::to_vec(value).expect("store JSON types serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(raw: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(raw).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

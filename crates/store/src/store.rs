//! The [`Store`] itself: construction, and the operations that span every key of an id.

use crate::{BlobKind, Error, KeyValue, Result, blob::MAX_CHUNK_BYTES, keys};

/// A content-addressed blob store and image index over a [`KeyValue`] backend.
///
/// Cheap to build per request. Every writer owns the keys it writes (chunks, manifests,
/// its listing entry): nothing is read-modify-written, so it is safe on Spin KV without
/// transactions and on a Redis backend shared by all replicas.
#[derive(Debug, Clone)]
pub struct Store<K: KeyValue> {
    pub(crate) kv: K,
    pub(crate) chunk_size: u32,
    /// Whether blobs that fit in one value are written whole into their manifest's key
    /// (see `blob`): on by default; off while replicas of a version that cannot read
    /// them still run (`kv_inline_blobs`).
    pub(crate) inline: bool,
}

impl<K: KeyValue> Store<K> {
    /// A store writing chunks of `chunk_size` bytes (1..=1,000,000).
    pub fn new(kv: K, chunk_size: u32) -> Result<Self> {
        if !(1..=MAX_CHUNK_BYTES).contains(&chunk_size) {
            return Err(Error::InvalidConfig(format!(
                "chunk size {chunk_size} is outside 1..={MAX_CHUNK_BYTES}"
            )));
        }
        Ok(Self { kv, chunk_size, inline: true })
    }

    /// This store, writing small blobs whole into their manifest's key (`true`, the
    /// default) or always as chunks (`false`). Either way it reads both.
    pub fn with_inline(mut self, inline: bool) -> Self {
        self.inline = inline;
        self
    }

    /// The backend, e.g. to inspect keys in tests.
    pub fn kv(&self) -> &K {
        &self.kv
    }

    /// The chunk size blobs are written with.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Removes image `id` and everything derived from it; `false` if nothing was there.
    ///
    /// The record goes first ([`has_image`](Self::has_image)), so readers get 404 at
    /// once even if a later delete fails or the process dies; then the manifests (the
    /// original's first), the listing entries, and the chunks. Running it again finishes an interrupted delete. When the image had a
    /// vector, the vector catalog is marked out of date last (`segments::catalog`).
    pub fn delete_image(&self, id: &str) -> Result<bool> {
        let prefix = keys::image_prefix(id)?;
        let mut doomed: Vec<String> = self
            .kv
            .get_keys()?
            .into_iter()
            .filter(|k| {
                k.starts_with(&prefix) || keys::parse_index(k).is_some_and(|(_, i)| i == id)
            })
            .collect();
        if doomed.is_empty() {
            return Ok(false);
        }
        // An original adopted from a resumable upload keeps its chunks under the
        // upload's base: they go after the manifests, with the image's own chunks.
        let adopted = match self.blob_manifest(id, BlobKind::Original) {
            Ok(Some(m)) => m.parts.clone().map(|base| (base, m.chunks)),
            _ => None,
        };
        let manifests: Vec<String> = BlobKind::ALL
            .iter()
            .map(|&kind| keys::manifest(id, kind))
            .collect::<Result<_>>()?;
        let record = keys::record(id)?;
        // Order: the record, manifests (original first), listing entries, then the rest.
        doomed.sort_by_key(|k| {
            let rank = match manifests.iter().position(|m| m == k) {
                _ if *k == record => 0,
                Some(i) => 1 + i,
                None if k.starts_with(keys::INDEX_PREFIX) => 4,
                None => 5,
            };
            (rank, k.clone())
        });
        for key in &doomed {
            self.kv.delete(key)?;
        }
        if let Some((base, chunks)) = adopted {
            for n in 0..chunks {
                self.kv.delete(&keys::base_chunk(&base, n)?)?;
            }
        }
        let is_vector = |k: &String| {
            keys::parse_manifest(k).is_some_and(|(_, kind)| kind == BlobKind::Vector)
                || keys::parse_chunk(k).is_some_and(|(_, kind, _)| kind == BlobKind::Vector)
        };
        if doomed.iter().any(is_vector) {
            self.touch_vectors()?;
        }
        Ok(true)
    }

    /// Whether image `id`'s original is committed (an upload may still be running, or
    /// have died, before its record: [`has_image`](Self::has_image) is what readers ask).
    pub fn has_original(&self, id: &str) -> Result<bool> {
        self.has_blob(id, BlobKind::Original)
    }

    /// Whether image `id` exists: its record is written, the last write of an upload
    /// (after its blobs and its listing entry), and the first key a delete removes. So
    /// an upload or a delete that dies half-way (a replica killed) leaves the image
    /// either whole or invisible: every reader (the object, its blobs, vectors, search,
    /// the listing) answers for an image only when its record is there.
    pub fn has_image(&self, id: &str) -> Result<bool> {
        self.kv.exists(&keys::record(id)?)
    }

    /// Chunk keys that no committed manifest covers: left by a write that failed before
    /// its manifest, or by a shrinking rewrite. Invisible to readers and overwritten by a
    /// retry; tests use this to show a refused or failed upload left no partial blob.
    pub fn orphan_chunks(&self) -> Result<Vec<String>> {
        let keys = self.kv.get_keys()?;
        let mut orphans = Vec::new();
        for key in &keys {
            let Some((id, kind, n)) = keys::parse_chunk(key) else {
                continue;
            };
            let covered = match self.blob_manifest(id, kind) {
                Ok(Some(manifest)) => n < crate::blob::chunks_of(&manifest),
                Ok(None) | Err(Error::Corrupt(_)) => false,
                Err(e) => return Err(e),
            };
            if !covered {
                orphans.push(key.clone());
            }
        }
        orphans.sort_unstable();
        Ok(orphans)
    }
}

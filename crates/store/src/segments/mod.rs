//! Packed vector segments: similarity search without one key-value read per vector.
//!
//! Every image keeps its own vector blob (`img/{id}/vector`), the source of truth, written
//! by the vectorize step and removed by the image's delete. Segments are *derived*: an
//! immutable, content-addressed blob `vseg/{sha256}` packing many `(id, vector)` rows
//! (layout in [`format`]). Nothing is ever read-modify-written:
//!
//! - a reader takes a [`Snapshot`]: the [`catalog`] a previous search wrote, while
//!   nothing changed since, or else one listing of the keys; it streams every segment, then
//!   reads the loose vectors no segment covered ([`Store::scan_vectors`]); rows of
//!   deleted images (no committed original) are dropped by the caller's filter, and a
//!   segment that vanished between the listing and the read is skipped: its ids are then
//!   uncovered, so their loose vectors are read instead;
//! - compaction ([`Store::compact_vectors`]) writes a *new* segment (chunks, then its
//!   manifest) covering loose vectors and small segments, and only then deletes the
//!   segments it superseded. Two compactions racing write segments named by their
//!   content and at worst duplicate rows, which readers dedupe by id.
//!
//! Rows carry the feature version in their segment's header; a loose vector's version is
//! in its blob's content type ([`vector_content_type`]). Rows of another version than
//! the query's are ignored.

pub mod catalog;
mod compact;
pub mod format;
mod scan;
mod search;
pub mod sketch;
mod stream;

pub use catalog::Catalog;
pub use compact::{CompactionPolicy, CompactionReport};
pub use format::{Header, Layout, RawId, Rows, Segment};
pub use scan::{Scan, ScanStats};
pub use search::{SearchReport, Settled, View};

use std::collections::HashSet;

use crate::blob::{from_json, to_json};
use crate::{BlobKind, BlobManifest, Error, KeyValue, Result, Store, content_id, keys};

/// Where [`Store::stream_segment`] hands a segment's rows: header, ids, row-major rows.
type RowSink<'a> = dyn FnMut(Header, &[RawId], Rows<'_>) + 'a;

/// Content type of a segment blob's manifest.
pub const SEGMENT_CONTENT_TYPE: &str = "application/vnd.darkroom.vseg";

/// Vectors stored before versions were recorded (`application/octet-stream`) are
/// version 1, the only version that existed then.
pub const LEGACY_VECTOR_VERSION: u32 = 1;

const VECTOR_CONTENT_TYPE: &str = "application/vnd.darkroom.vector+f32le; v=";

/// The content type a loose vector blob of feature `version` is stored with.
pub fn vector_content_type(version: u32) -> String {
    format!("{VECTOR_CONTENT_TYPE}{version}")
}

/// The feature version recorded in a vector blob's content type.
pub fn vector_version(content_type: &str) -> Option<u32> {
    if content_type == "application/octet-stream" {
        return Some(LEGACY_VECTOR_VERSION);
    }
    content_type.strip_prefix(VECTOR_CONTENT_TYPE)?.parse().ok()
}

/// `id` (64 hex chars) as raw bytes.
pub fn raw_id(id: &str) -> Option<RawId> {
    crate::id::decode_id(id)
}

/// The hex id of `raw`.
pub fn hex_id(raw: &RawId) -> String {
    hex::encode(raw)
}

/// What a search knows about the stored vectors before reading them: which images are
/// alive, which loose vectors to read, which segments are committed. From one key
/// listing, or from the [`catalog`] a previous listing left.
#[derive(Debug, Clone)]
pub struct Snapshot {
    live: Liveness,
    /// Listed: ids with a committed vector *and* a record (`Store::has_image`). From a catalog: only those no
    /// catalogued segment covers. Ascending either way.
    loose: Vec<RawId>,
    /// Committed segment hashes, ascending.
    segments: Vec<String>,
    from_catalog: bool,
    /// The `vcat/mark` token read before the keys were listed (see [`catalog`]).
    marker: Option<Vec<u8>>,
}

/// Which images count as alive.
#[derive(Debug, Clone)]
enum Liveness {
    /// A listing: the images with a record (`Store::has_image`).
    Only(HashSet<RawId>),
    /// A catalog: every image but those it found deleted.
    AllBut(HashSet<RawId>),
}

impl Snapshot {
    /// Whether `id` had a record when the keys were listed (a row of an
    /// image deleted since is still in old segments; this is how readers drop it).
    pub fn is_live(&self, id: &RawId) -> bool {
        match &self.live {
            Liveness::Only(live) => live.contains(id),
            Liveness::AllBut(dead) => !dead.contains(id),
        }
    }

    /// Ids with a loose vector to consider, ascending.
    pub fn loose(&self) -> &[RawId] {
        &self.loose
    }

    /// Committed segments, by hash.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether this came from the catalog rather than a listing. A catalog is only as
    /// good as its segments: when one cannot be read, list again
    /// ([`Store::vector_snapshot`]) rather than trust the answer.
    pub fn from_catalog(&self) -> bool {
        self.from_catalog
    }
}

impl<K: KeyValue> Store<K> {
    /// Lists the keys once and classifies them; `marker` is the `vcat/mark` token read
    /// just before.
    fn listed_snapshot(&self, marker: Option<Vec<u8>>) -> Result<Snapshot> {
        let (mut live, mut loose, mut segments) = (HashSet::new(), Vec::new(), Vec::new());
        for key in self.kv.get_keys()? {
            // 8 keys per image: cheap shape checks first, ids decoded only for the two
            // manifests that matter (a 100,000-image listing is 800,000 keys).
            if let Some((id, kind)) = keys::manifest_parts(&key) {
                if kind == BlobKind::Vector {
                    loose.extend(raw_id(id));
                }
            } else if let Some(id) = keys::record_id_unchecked(&key) {
                live.extend(raw_id(id));
            } else if let Some(hash) = keys::parse_segment_manifest(&key) {
                segments.push(hash.to_owned());
            }
        }
        loose.retain(|id| live.contains(id));
        loose.sort_unstable();
        segments.sort_unstable();
        Ok(Snapshot {
            live: Liveness::Only(live),
            loose,
            segments,
            from_catalog: false,
            marker,
        })
    }

    /// Stores image `id`'s vector (`le_bytes`: f32 little-endian, feature `version`) as
    /// its loose vector blob, then marks the [`catalog`] out of date if that changed the
    /// live vectors.
    ///
    /// A vector is live only once its image's record exists, and writing the record
    /// marks the catalog ([`Store::put_record`]). So only a vector stored under a
    /// record already there (a re-vectorize, a repaired upload) marks it here; an
    /// upload's vector, stored before its record, costs no extra write. A record
    /// written after the check below marks the catalog after this vector was stored.
    pub fn put_vector(&self, id: &str, le_bytes: &[u8], version: u32) -> Result<()> {
        self.put_blob(
            id,
            BlobKind::Vector,
            le_bytes,
            &vector_content_type(version),
        )?;
        if self.has_image(id)? {
            self.touch_vectors()?;
        }
        Ok(())
    }

    /// The loose vector of `id` and its feature version; `None` when absent.
    pub fn loose_vector(&self, id: &RawId) -> Result<Option<(u32, Vec<f32>)>> {
        let Some((manifest, bytes)) = self.get_blob(&hex_id(id), BlobKind::Vector)? else {
            return Ok(None);
        };
        let version = vector_version(&manifest.content_type).unwrap_or(0);
        if !bytes.len().is_multiple_of(4) {
            return Err(Error::Corrupt(format!(
                "vector of {} has {} bytes",
                hex_id(id),
                bytes.len()
            )));
        }
        let mut vector = Vec::with_capacity(bytes.len() / 4);
        format::extend_f32_le(&mut vector, &bytes);
        Ok(Some((version, vector)))
    }

    /// The loose vector of `id` if it is of feature `version` and `dims` long; `None` when
    /// it is absent (deleted since a listing), of another version or length, or damaged:
    /// one bad vector must not fail every search.
    pub fn loose_vector_of(
        &self,
        id: &RawId,
        version: u32,
        dims: usize,
    ) -> Result<Option<Vec<f32>>> {
        match self.loose_vector(id) {
            Ok(Some((v, row))) if v == version && row.len() == dims => Ok(Some(row)),
            Ok(_) | Err(Error::Corrupt(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores segment `bytes` under its SHA-256: chunks first, the manifest last.
    /// Always writes (a segment whose chunks a racing delete removed is repaired by
    /// writing it again); same name, same bytes, so concurrent writers agree.
    pub fn put_segment(&self, bytes: &[u8]) -> Result<String> {
        let hash = content_id(bytes);
        let manifest = BlobManifest {
            size: bytes.len() as u64,
            chunks: u32::try_from(bytes.len().div_ceil(self.chunk_size as usize))
                .map_err(|_| Error::TooLarge)?,
            chunk_size: self.chunk_size,
            content_type: SEGMENT_CONTENT_TYPE.to_owned(),
            sha256: hash.clone(),
            digest: None,
            dims: None,
            made_from: None,
            parts: None,
            inline: false,
        };
        for (n, chunk) in bytes.chunks(self.chunk_size as usize).enumerate() {
            self.kv.set(&keys::segment_chunk(&hash, n as u32)?, chunk)?;
        }
        self.kv
            .set(&keys::segment_manifest(&hash)?, &to_json(&manifest))?;
        Ok(hash)
    }

    /// Reads segment `hash` into `segment` (reusing its buffer): all of it, or with
    /// `ids_only` just the header and ids. `Ok(None)` when the segment vanished (a
    /// compaction deleted it after the listing, possibly half-way).
    ///
    /// Reads check lengths and the header, not the SHA-256: hashing every byte on every
    /// query would cost more than the search. The chunks are never rewritten with other
    /// bytes (the key is their hash), so the manifest-last rule is what keeps them whole.
    pub fn read_segment(
        &self,
        hash: &str,
        segment: &mut Segment,
        ids_only: bool,
    ) -> Result<Option<(Header, u32)>> {
        let Some((manifest, size)) = self.segment_manifest(hash)? else {
            return Ok(None);
        };
        let mut need = if ids_only {
            size.min(format::HEADER_BYTES)
        } else {
            size
        };
        let mut have = 0;
        segment.reset(if ids_only { 0 } else { size });
        for n in 0..manifest.chunks {
            if have >= need && have > 0 {
                break;
            }
            let Some(chunk) = self.segment_chunk(hash, &manifest, n, have)? else {
                return Ok(None);
            };
            segment.extend(&chunk);
            have += chunk.len();
            if ids_only && n == 0 {
                need = Header::parse(segment.filled())?.ids_end().min(size);
            }
        }
        let header = segment.seal(!ids_only)?;
        Ok(Some((header, manifest.chunks)))
    }

    /// Segment `hash`'s manifest, checked, and the segment's size; `None` when the
    /// segment is gone.
    pub(crate) fn segment_manifest(&self, hash: &str) -> Result<Option<(BlobManifest, usize)>> {
        let Some(raw) = self.kv.get(&keys::segment_manifest(hash)?)? else {
            return Ok(None);
        };
        let manifest: BlobManifest = from_json(&raw, "segment manifest")?;
        manifest.validate()?;
        let size = usize::try_from(manifest.size).map_err(|_| Error::TooLarge)?;
        Ok(Some((manifest, size)))
    }

    /// Chunk `n` of segment `hash`, which starts `offset` bytes into it; `None` when it
    /// is gone, `Corrupt` when its length contradicts the manifest.
    pub(crate) fn segment_chunk(
        &self,
        hash: &str,
        manifest: &BlobManifest,
        n: u32,
        offset: usize,
    ) -> Result<Option<Vec<u8>>> {
        let Some(chunk) = self.kv.get(&keys::segment_chunk(hash, n)?)? else {
            return Ok(None);
        };
        let fits = if n + 1 == manifest.chunks {
            (offset + chunk.len()) as u64 == manifest.size
        } else {
            chunk.len() == manifest.chunk_size as usize
        };
        if !fits {
            return Err(Error::Corrupt(format!(
                "segment {hash} chunk {n} has the wrong length"
            )));
        }
        Ok(Some(chunk))
    }

    /// Deletes segment `hash` written in `chunks` chunks: manifest first, so readers
    /// stop seeing it before any chunk goes.
    pub fn delete_segment(&self, hash: &str, chunks: u32) -> Result<()> {
        self.kv.delete(&keys::segment_manifest(hash)?)?;
        for n in 0..chunks {
            self.kv.delete(&keys::segment_chunk(hash, n)?)?;
        }
        Ok(())
    }
}

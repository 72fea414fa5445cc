//! The vector catalog: what a full key listing found, kept so that later searches can
//! skip the listing.
//!
//! Spin KV has no prefix listing, so [`Store::vector_snapshot`] lists *every* key of the
//! store: about a second at 100,000 images, far more than scoring all their vectors.
//! A search that did list writes what it learned into one value, `vcat/head`: the
//! segments it read, the loose vectors no segment covers, and the segment rows of deleted
//! images. The next search reads that value instead of listing.
//!
//! Whether the catalog still tells the truth is decided by a marker, `vcat/mark`, that
//! every change to the set of vectors overwrites with a fresh random token *after* the
//! change is in the store: a vector written (the vectorize step), an image with a vector
//! deleted. The search that writes a catalog reads the marker *before* it lists and
//! records it, so the catalog is valid exactly while the marker still holds that token:
//! any change that the listing may have missed wrote a new token afterwards.
//!
//! Both keys are blind writes, never read-modify-written: losing a race only means a
//! catalog that is already out of date, and the next search lists again. Segments that a
//! racing compaction deleted make the catalog unusable too; the reader then lists.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use super::format::{ID_BYTES, RawId};
use super::{CompactionReport, Liveness, Snapshot, hex_id, raw_id};
use crate::{Error, KeyValue, MAX_CHUNK_BYTES, Result, Store, keys};

const MAGIC: [u8; 4] = *b"DRVC";

/// A listing's view of the vectors of one feature version, as stored in `vcat/head`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// The `vcat/mark` token read before the listing (`None`: there was none).
    pub marker: Option<Vec<u8>>,
    /// Feature version and length of the rows it describes.
    pub version: u32,
    pub dims: u32,
    /// Segments holding rows of this version, by hash, ascending.
    pub segments: Vec<String>,
    /// Loose vectors of live images that no listed segment covers, ascending.
    pub loose: Vec<RawId>,
    /// Ids with rows in those segments whose images were deleted, ascending.
    pub dead: Vec<RawId>,
}

impl Catalog {
    /// The catalog's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let marker = self.marker.as_deref();
        let mut out = Vec::with_capacity(
            32 + marker.map_or(0, <[u8]>::len)
                + ID_BYTES * (self.segments.len() + self.loose.len() + self.dead.len()),
        );
        out.extend_from_slice(&MAGIC);
        let word = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.dims.to_le_bytes());
        match marker {
            Some(m) => {
                out.push(1);
                word(&mut out, m.len());
                out.extend_from_slice(m);
            }
            None => out.push(0),
        }
        word(&mut out, self.segments.len());
        for hash in &self.segments {
            out.extend_from_slice(&raw_id(hash).expect("segment hashes are ids"));
        }
        for ids in [&self.loose, &self.dead] {
            word(&mut out, ids.len());
            for id in ids {
                out.extend_from_slice(id);
            }
        }
        out
    }

    /// Parses [`Catalog::encode`]'s bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(corrupt());
        }
        let version = r.word()?;
        let dims = r.word()?;
        let marker = match r.take(1)?[0] {
            0 => None,
            1 => {
                let n = r.word()? as usize;
                Some(r.take(n)?.to_vec())
            }
            _ => return Err(corrupt()),
        };
        let segments = r.ids()?.iter().map(hex_id).collect();
        let loose = r.ids()?;
        let dead = r.ids()?;
        if !r.0.is_empty() {
            return Err(corrupt());
        }
        Ok(Catalog {
            marker,
            version,
            dims,
            segments,
            loose,
            dead,
        })
    }

    /// This catalog after `report`'s compaction ran on the same listing: the merged
    /// segments gone, the new one in, and the loose vectors it packed no longer loose.
    pub fn compacted(&mut self, report: &CompactionReport) {
        self.segments.retain(|s| !report.deleted.contains(s));
        if let Some(written) = &report.written
            && let Err(at) = self.segments.binary_search(written)
        {
            self.segments.insert(at, written.clone());
        }
        self.loose
            .retain(|id| report.ids.binary_search(id).is_err());
    }

    /// The snapshot a reader uses in place of a listing.
    fn snapshot(self) -> Snapshot {
        Snapshot {
            live: Liveness::AllBut(self.dead.into_iter().collect()),
            loose: self.loose,
            segments: self.segments,
            from_catalog: true,
            marker: self.marker,
        }
    }
}

impl Snapshot {
    /// The catalog this snapshot was read from (`None` for a listing): what a search
    /// over it stores again after a compaction changed the segments.
    pub(crate) fn to_catalog(&self, version: u32, dims: usize) -> Option<Catalog> {
        let (true, Liveness::AllBut(dead)) = (self.from_catalog, &self.live) else {
            return None;
        };
        let mut dead: Vec<RawId> = dead.iter().copied().collect();
        dead.sort_unstable();
        Some(Catalog {
            marker: self.marker.clone(),
            version,
            dims: dims as u32,
            segments: self.segments.clone(),
            loose: self.loose.clone(),
            dead,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(corrupt());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn word(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn ids(&mut self) -> Result<Vec<RawId>> {
        let n = self.word()? as usize;
        let bytes = self.take(n.checked_mul(ID_BYTES).ok_or_else(corrupt)?)?;
        let ids: Vec<RawId> = bytes.as_chunks::<ID_BYTES>().0.to_vec();
        if !ids.windows(2).all(|w| w[0] < w[1]) {
            return Err(corrupt());
        }
        Ok(ids)
    }
}

fn corrupt() -> Error {
    Error::Corrupt("vector catalog".into())
}

/// A token no other writer will pick: 128 bits from the OS's randomness (via the
/// standard library's hash seeds, which WASI also fills from `random`), a clock
/// reading and a counter.
fn fresh_token() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut token = Vec::with_capacity(32);
    for salt in [nanos, COUNTER.fetch_add(1, Ordering::Relaxed)] {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        token.extend_from_slice(&h.finish().to_le_bytes());
        token.extend_from_slice(&salt.to_le_bytes());
    }
    token
}

impl<K: KeyValue> Store<K> {
    /// Records that the set of vectors changed: call *after* the change is stored.
    pub fn touch_vectors(&self) -> Result<()> {
        self.kv.set(keys::VECTOR_MARKER, &fresh_token())
    }

    /// The snapshot a search of feature `version` (`dims` long) should use: the catalog
    /// when it is still valid for them, otherwise a fresh listing (which records the
    /// marker it was taken under, for [`Store::put_catalog`]).
    pub fn vector_view(&self, version: u32, dims: usize) -> Result<Snapshot> {
        let marker = self.kv.get(keys::VECTOR_MARKER)?;
        if let Some(catalog) = self.catalog()?
            && catalog.marker == marker
            && catalog.version == version
            && catalog.dims as usize == dims
        {
            return Ok(catalog.snapshot());
        }
        self.listed_snapshot(marker)
    }

    /// A fresh listing, ignoring any catalog (a reader whose catalog named a segment
    /// that is gone).
    pub fn vector_snapshot(&self) -> Result<Snapshot> {
        let marker = self.kv.get(keys::VECTOR_MARKER)?;
        self.listed_snapshot(marker)
    }

    /// The stored catalog; `None` when there is none or it cannot be parsed (a reader
    /// then lists, and its catalog replaces the bad one).
    pub fn catalog(&self) -> Result<Option<Catalog>> {
        Ok(self
            .kv
            .get(keys::VECTOR_CATALOG)?
            .and_then(|raw| Catalog::decode(&raw).ok()))
    }

    /// Stores `catalog` (a blind overwrite). `Ok(false)` when it is larger than one
    /// value may be: searches then keep listing until compaction shrinks it.
    pub fn put_catalog(&self, catalog: &Catalog) -> Result<bool> {
        let bytes = catalog.encode();
        if bytes.len() > MAX_CHUNK_BYTES as usize {
            return Ok(false);
        }
        self.kv.set(keys::VECTOR_CATALOG, &bytes)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let catalog = Catalog {
            marker: Some(fresh_token()),
            version: 2,
            dims: 209,
            segments: vec![hex_id(&[3; 32]), hex_id(&[9; 32])],
            loose: vec![[1; 32], [2; 32]],
            dead: vec![[7; 32]],
        };
        let bytes = catalog.encode();
        assert_eq!(Catalog::decode(&bytes).unwrap(), catalog);
        let none = Catalog {
            marker: None,
            ..Catalog::default()
        };
        assert_eq!(Catalog::decode(&none.encode()).unwrap(), none);
        for cut in 0..bytes.len() {
            assert!(Catalog::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn tokens_differ() {
        let tokens: std::collections::HashSet<_> = (0..1000).map(|_| fresh_token()).collect();
        assert_eq!(tokens.len(), 1000);
    }
}

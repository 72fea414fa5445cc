//! The reader: every committed segment, then the loose vectors no segment covered.

use super::{Catalog, RawId, Rows, Segment, Snapshot, format};
use crate::{Error, KeyValue, Result, Store};

/// What a scan read, for the caller's compaction decision and for diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Segments read and used.
    pub segments: usize,
    /// Rows those segments held (deleted and duplicate rows included).
    pub segment_rows: usize,
    /// Segments skipped: vanished since the listing, damaged, or of another version.
    pub skipped_segments: usize,
    /// Loose vectors read because no segment covered them.
    pub loose: usize,
}

/// A scan's outcome.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub stats: ScanStats,
    /// After a scan over a listing (not over a catalog): what the next search can use
    /// instead of listing, to be stored with [`Store::put_catalog`] (after
    /// [`Catalog::compacted`] if a compaction follows).
    pub catalog: Option<Catalog>,
}

impl<K: KeyValue> Store<K> {
    /// Calls `visit(ids, rows)` for every stored vector of feature `version` and length
    /// `dims`: batches of segment rows (row-major, one per id: sketch records, or f32
    /// from segments written before sketches) as their chunks arrive, then each loose
    /// vector no segment covered (f32).
    ///
    /// An id can be visited more than once (segments written by racing compactions
    /// overlap) and rows of images deleted after a segment was written are included:
    /// callers dedupe by id and check [`Snapshot::is_live`], which a top-k does only for
    /// the few rows good enough to enter it. Memory: the largest segment, once.
    pub fn scan_vectors(
        &self,
        snap: &Snapshot,
        version: u32,
        dims: usize,
        mut visit: impl FnMut(&[RawId], Rows<'_>),
    ) -> Result<Scan> {
        let mut stats = ScanStats::default();
        let mut covered = vec![false; snap.loose.len()];
        let mut segment = Segment::default();
        let mut used = Vec::new();
        let mut dead = Vec::new();
        for hash in &snap.segments {
            let mut wanted = |h: format::Header, ids: &[RawId], rows: Rows<'_>| {
                if h.version == version && h.dims as usize == dims {
                    visit(ids, rows);
                }
            };
            let header = match self.stream_segment(hash, &mut segment, &mut wanted) {
                Ok(Some(header)) => header,
                // Vanished or damaged: its ids stay uncovered, so their loose vectors
                // (the source of truth) are read below.
                Ok(None) | Err(Error::Corrupt(_)) => {
                    stats.skipped_segments += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if header.version != version || header.dims as usize != dims {
                stats.skipped_segments += 1;
                continue;
            }
            mark_covered(&snap.loose, segment.ids(), &mut covered);
            if !snap.from_catalog {
                dead.extend(segment.ids().iter().filter(|id| !snap.is_live(id)));
            }
            used.push(hash.clone());
            stats.segments += 1;
            stats.segment_rows += header.count as usize;
        }
        let mut loose = Vec::new();
        for (id, _) in snap.loose.iter().zip(&covered).filter(|(_, c)| !**c) {
            if let Some(row) = self.loose_vector_of(id, version, dims)? {
                visit(std::slice::from_ref(id), Rows::Exact(&row));
                loose.push(*id);
                stats.loose += 1;
            }
        }
        let catalog = (!snap.from_catalog).then(|| {
            dead.sort_unstable();
            dead.dedup();
            Catalog {
                marker: snap.marker.clone(),
                version,
                dims: dims as u32,
                segments: used,
                loose,
                dead,
            }
        });
        Ok(Scan { stats, catalog })
    }
}

/// Marks the entries of `loose` that also appear in `ids` (both ascending): one merge
/// pass, no hashing.
pub(crate) fn mark_covered(loose: &[RawId], ids: &[RawId], covered: &mut [bool]) {
    let (mut i, mut j) = (0, 0);
    while i < loose.len() && j < ids.len() {
        match loose[i].cmp(&ids[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                covered[i] = true;
                i += 1;
                j += 1;
            }
        }
    }
}

//! Compaction: pack loose vectors and small segments into one new segment of sketched
//! rows, then delete the segments it superseded. Never touches the loose per-image
//! vectors. Segments of f32 rows (written before sketches) are rewritten as sketches.

use std::collections::HashSet;

use super::format::{self, Layout, RawId, Rows};
use super::scan::mark_covered;
use super::{Segment, Snapshot};
use crate::{Error, KeyValue, Result, Store};

/// When and how much to compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Compact once at least this many loose vectors are not in any segment
    /// (the `vector_segment_min` variable).
    pub min_loose: usize,
    /// Most rows in one segment, so reading or writing one stays well inside a
    /// request's memory (16,384 sketched rows of 416 dims ≈ 7 MB; a segment of f32 rows,
    /// from before sketches, ≈ 28 MB). Segments under half of it are "small" and get
    /// merged into the next compaction's output.
    pub max_rows: usize,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            min_loose: 256,
            max_rows: 16_384,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// The segment written, if any.
    pub written: Option<String>,
    /// Rows in it.
    pub rows: usize,
    /// Their ids, ascending.
    pub ids: Vec<RawId>,
    /// Segments deleted: merged into the new one, of another version, or broken.
    pub deleted: Vec<String>,
}

/// One committed segment, as far as its header and ids tell.
struct Known {
    hash: String,
    chunks: u32,
    count: usize,
    live: usize,
    layout: Layout,
}

impl Known {
    /// Worth rewriting: over a quarter of its rows belong to deleted images, or its rows
    /// are f32 (four times the bytes every search reads).
    fn stale(&self) -> bool {
        self.live * 4 < self.count * 3 || self.layout == Layout::Exact
    }
}

impl<K: KeyValue> Store<K> {
    /// Compacts the vectors of feature `version` (`dims` long) seen in `snap`, if the
    /// policy says there is enough to do; returns what it did.
    ///
    /// Safe to run concurrently with uploads, deletes, readers and other compactions:
    /// it writes one new content-addressed segment and deletes only segments it read
    /// (merged), could not read (broken), or of another version. A reader that loses a
    /// segment mid-query falls back to the loose vectors.
    pub fn compact_vectors(
        &self,
        snap: &Snapshot,
        version: u32,
        dims: usize,
        policy: CompactionPolicy,
    ) -> Result<CompactionReport> {
        let max_rows = policy.max_rows.max(1);
        let mut report = CompactionReport::default();
        let mut segment = Segment::default();
        let mut covered = vec![false; snap.loose.len()];
        let mut doomed = Vec::new();
        let mut known = Vec::new();
        for hash in &snap.segments {
            match self.read_segment(hash, &mut segment, true) {
                // Its manifest survived a racing delete of its chunks: unreadable.
                Ok(Some((_, chunks))) if !self.segment_complete(hash, chunks)? => {
                    doomed.push((hash.clone(), chunks))
                }
                Ok(Some((h, chunks))) if h.version == version && h.dims as usize == dims => {
                    mark_covered(&snap.loose, segment.ids(), &mut covered);
                    let live = segment.ids().iter().filter(|id| snap.is_live(id)).count();
                    known.push(Known {
                        hash: hash.clone(),
                        chunks,
                        count: h.count as usize,
                        live,
                        layout: h.layout,
                    });
                }
                // Another version: useless to every reader of this version.
                Ok(Some((_, chunks))) => doomed.push((hash.clone(), chunks)),
                Ok(None) => {}
                // Unreadable: delete it, with the chunks its manifest names if it has one.
                Err(Error::Corrupt(_)) => {
                    doomed.push((hash.clone(), self.segment_chunk_count(hash)))
                }
                Err(e) => return Err(e),
            }
        }
        let uncovered: Vec<RawId> = snap
            .loose
            .iter()
            .zip(&covered)
            .filter(|(_, c)| !**c)
            .map(|(id, _)| *id)
            .collect();
        let rewrite = known.iter().any(Known::stale);
        if uncovered.len() < policy.min_loose.max(1) && doomed.is_empty() && !rewrite {
            return Ok(report);
        }

        // Inputs: the uncovered loose vectors (up to a segment's worth), then small or
        // stale segments, smallest first, while the output stays under max_rows.
        let take = uncovered.len().min(max_rows);
        let mut budget = max_rows - take;
        known.sort_by_key(|k| (k.count, k.hash.clone()));
        let (mut merged, mut kept) = (Vec::new(), Vec::new());
        for k in known {
            let small = k.count < max_rows / 2 || k.stale();
            if small && k.live <= budget {
                budget -= k.live;
                merged.push(k);
            } else {
                kept.push(k);
            }
        }
        if take == 0 && merged.len() < 2 && !merged.iter().any(Known::stale) && doomed.is_empty() {
            return Ok(report);
        }

        // Rows already in segments that stay must not be copied again.
        let mut seen: HashSet<RawId> = HashSet::new();
        for k in &kept {
            if self.read_segment(&k.hash, &mut segment, true)?.is_some() {
                seen.extend(segment.ids().iter().copied());
            }
        }
        let mut ids: Vec<RawId> = Vec::new();
        // Sketch records, one per id (a merged segment's are copied as they are).
        let mut data: Vec<u8> = Vec::new();
        let mut superseded = Vec::new();
        for k in &merged {
            let Some(_) = self.read_segment(&k.hash, &mut segment, false)? else {
                continue; // vanished: another compaction merged it; its ids stay loose
            };
            for (i, id) in segment.ids().iter().enumerate() {
                if snap.is_live(id) && seen.insert(*id) {
                    ids.push(*id);
                    segment.row(i).sketch_into(dims, &mut data);
                }
            }
            superseded.push((k.hash.clone(), k.chunks));
        }
        drop(segment);
        for id in uncovered.iter().take(take) {
            if seen.contains(id) {
                continue;
            }
            if let Some(row) = self.loose_vector_of(id, version, dims)? {
                seen.insert(*id);
                ids.push(*id);
                Rows::Exact(&row).sketch_into(dims, &mut data);
            }
        }

        if !ids.is_empty() {
            let mut order: Vec<usize> = (0..ids.len()).collect();
            order.sort_unstable_by_key(|&i| ids[i]);
            let width = super::sketch::record_bytes(dims);
            let rows: Vec<(RawId, &[u8])> = order
                .iter()
                .map(|&i| (ids[i], &data[i * width..(i + 1) * width]))
                .collect();
            let bytes = format::encode(version, dims, &rows);
            drop(rows);
            drop(data);
            let hash = self.put_segment(&bytes)?;
            report.rows = ids.len();
            report.written = Some(hash);
            report.ids = order.iter().map(|&i| ids[i]).collect();
        }
        // Only now that the replacement is committed may the old segments go.
        for (hash, chunks) in superseded.into_iter().chain(doomed) {
            if report.written.as_deref() == Some(hash.as_str()) {
                continue; // same content, rewritten above: it is the output
            }
            self.delete_segment(&hash, chunks)?;
            report.deleted.push(hash);
        }
        Ok(report)
    }

    /// Whether every chunk of a segment is present (an ids-only read sees the first).
    fn segment_complete(&self, hash: &str, chunks: u32) -> Result<bool> {
        for n in 0..chunks {
            if !self.kv.exists(&crate::keys::segment_chunk(hash, n)?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The chunk count a segment's manifest claims, 0 if it cannot be read.
    fn segment_chunk_count(&self, hash: &str) -> u32 {
        let raw = crate::keys::segment_manifest(hash)
            .ok()
            .and_then(|k| self.kv.get(&k).ok().flatten());
        raw.and_then(|r| serde_json::from_slice::<crate::BlobManifest>(&r).ok())
            .map_or(0, |m| m.chunks.min(4096))
    }
}

//! A whole search pass over the stored vectors: find them (catalog or listing), stream
//! them to the caller, fall back to a listing when the catalog proves stale, and after a
//! listing compact and leave a fresh catalog. The component only scores.

use std::time::{Duration, Instant};

use super::{CompactionPolicy, RawId, ScanStats, Snapshot, hex_id};
use crate::{KeyValue, Result, Store};

/// How a search found the stored vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The catalog was current: no listing.
    Catalog,
    /// No current catalog: one key listing.
    Listing,
    /// The catalog named a segment that is gone, or a winner whose image is gone (a
    /// delete interrupted before it marked the catalog stale): listed and scanned again.
    CatalogThenListing,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Catalog => "catalog",
            View::Listing => "listing",
            View::CatalogThenListing => "catalog-then-listing",
        }
    }
}

/// What a search did, for diagnostics (`Server-Timing`) and tests.
#[derive(Debug, Clone)]
pub struct SearchReport {
    pub view: View,
    pub stats: ScanStats,
    /// Time spent finding the vectors: catalog and marker reads, or the listing.
    pub find: Duration,
    /// Time spent scanning (reads and the caller's scoring).
    pub scan: Duration,
    /// Time spent on compaction and writing the catalog, after the answer was known.
    pub maintain: Duration,
    /// A compaction or catalog write that failed; the answer is right without them.
    pub maintenance_error: Option<String>,
}

impl<K: KeyValue> Store<K> {
    /// Streams every stored vector of feature `version` (`dims` long) into a collector
    /// made by `fresh`, through `visit(collector, snapshot, ids, rows)`; `visit` must drop
    /// rows whose id is not [`Snapshot::is_live`]. `winners` names the ids the collector
    /// would answer with: over a catalog they are checked to still exist.
    ///
    /// With `maintain`, a search that had to list also compacts (per the policy) and
    /// stores the catalog its listing produced, so the next search can skip the listing.
    pub fn search_vectors<C>(
        &self,
        version: u32,
        dims: usize,
        maintain: Option<CompactionPolicy>,
        mut fresh: impl FnMut() -> C,
        mut visit: impl FnMut(&mut C, &Snapshot, &[RawId], &[f32]),
        winners: impl Fn(&C) -> Vec<RawId>,
    ) -> Result<(C, SearchReport)> {
        let started = Instant::now();
        let mut snap = self.vector_view(version, dims)?;
        let mut view = if snap.from_catalog() {
            View::Catalog
        } else {
            View::Listing
        };
        let mut find = started.elapsed();
        let mut scan_time = Duration::ZERO;
        let (collector, scan) = loop {
            let t = Instant::now();
            let mut collector = fresh();
            let scan = self.scan_vectors(&snap, version, dims, |ids, rows| {
                visit(&mut collector, &snap, ids, rows)
            })?;
            scan_time += t.elapsed();
            if snap.from_catalog()
                && (scan.stats.skipped_segments > 0 || !self.all_exist(&winners(&collector))?)
            {
                let t = Instant::now();
                snap = self.vector_snapshot()?;
                find += t.elapsed();
                view = View::CatalogThenListing;
                continue;
            }
            break (collector, scan);
        };

        let t = Instant::now();
        let mut maintenance_error = None;
        if let (Some(policy), Some(mut catalog)) = (maintain, scan.catalog) {
            // Also when many segment rows belong to deleted images: the catalog lists
            // them (it must fit one value), and compaction rewrites mostly-dead segments.
            let enough = policy.min_loose.max(1);
            let due = scan.stats.loose >= enough
                || scan.stats.skipped_segments > 0
                || catalog.dead.len() >= enough;
            let compacted = match due {
                true => self
                    .compact_vectors(&snap, version, dims, policy)
                    .map(|report| catalog.compacted(&report)),
                false => Ok(()),
            };
            // A failed compaction leaves no catalog: the next search lists and retries.
            match compacted.and_then(|()| self.put_catalog(&catalog)) {
                Ok(true) => {}
                Ok(false) => maintenance_error = Some("vector catalog too large to store".into()),
                Err(e) => maintenance_error = Some(e.to_string()),
            }
        }
        let report = SearchReport {
            view,
            stats: scan.stats,
            find,
            scan: scan_time,
            maintain: t.elapsed(),
            maintenance_error,
        };
        Ok((collector, report))
    }

    fn all_exist(&self, ids: &[RawId]) -> Result<bool> {
        for id in ids {
            if !self.has_original(&hex_id(id))? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

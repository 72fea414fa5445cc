//! A whole search pass over the stored vectors: find them (catalog or listing), stream
//! them to the caller, fall back to a listing when the catalog proves stale, and after a
//! listing compact and leave a fresh catalog. The component only scores.

use std::time::{Duration, Instant};

use super::{CompactionPolicy, RawId, Rows, ScanStats, Snapshot, hex_id};
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
    /// Time spent settling the answer (the caller's exact re-scoring of candidates).
    pub settle: Duration,
    /// Time spent on compaction and writing the catalog, after the answer was known.
    pub maintain: Duration,
    /// A compaction or catalog write that failed; the answer is right without them.
    pub maintenance_error: Option<String>,
}

/// A collector's answer, from `settle`.
#[derive(Debug, Clone)]
pub struct Settled<R> {
    pub answer: R,
    /// The ids it answers with: over a catalog they are checked to still exist.
    pub winners: Vec<RawId>,
    /// False when a row the answer depends on could not be read back (its image was
    /// deleted during the search): the search lists and scans again, once or twice.
    pub complete: bool,
}

/// Listings a search may add after its first view proved stale or its answer incomplete.
const MAX_RELISTINGS: usize = 2;

impl<K: KeyValue> Store<K> {
    /// Streams every stored vector of feature `version` (`dims` long) into a collector
    /// made by `fresh`, through `visit(collector, snapshot, ids, rows)`; `visit` must drop
    /// rows whose id is not [`Snapshot::is_live`]. `settle` then turns the collector into
    /// the answer (re-scoring sketched candidates exactly); the winners it names are
    /// checked to still exist when the view came from the catalog.
    ///
    /// With `maintain`, a search that had to list also compacts (per the policy) and
    /// stores the catalog its listing produced, so the next search can skip the listing;
    /// a search over the catalog compacts when the catalog names enough loose vectors.
    pub fn search_vectors<C, R>(
        &self,
        version: u32,
        dims: usize,
        maintain: Option<CompactionPolicy>,
        mut fresh: impl FnMut() -> C,
        mut visit: impl FnMut(&mut C, &Snapshot, &[RawId], Rows<'_>),
        mut settle: impl FnMut(C, &Snapshot) -> Result<Settled<R>>,
    ) -> Result<(R, SearchReport)> {
        let started = Instant::now();
        let mut snap = self.vector_view(version, dims)?;
        let mut view = if snap.from_catalog() {
            View::Catalog
        } else {
            View::Listing
        };
        let mut find = started.elapsed();
        let (mut scan_time, mut settle_time) = (Duration::ZERO, Duration::ZERO);
        let mut relistings = 0;
        let (answer, scan) = loop {
            let t = Instant::now();
            let mut collector = fresh();
            let scan = self.scan_vectors(&snap, version, dims, |ids, rows| {
                visit(&mut collector, &snap, ids, rows)
            })?;
            scan_time += t.elapsed();
            let t = Instant::now();
            let settled = settle(collector, &snap)?;
            settle_time += t.elapsed();
            let stale = snap.from_catalog()
                && (scan.stats.skipped_segments > 0 || !self.all_exist(&settled.winners)?);
            if (stale || !settled.complete) && relistings < MAX_RELISTINGS {
                relistings += 1;
                let t = Instant::now();
                snap = self.vector_snapshot()?;
                find += t.elapsed();
                if view == View::Catalog {
                    view = View::CatalogThenListing;
                }
                continue;
            }
            break (settled.answer, scan);
        };

        let t = Instant::now();
        let mut maintenance_error = None;
        if let Some(policy) = maintain {
            let enough = policy.min_loose.max(1);
            // After a listing, also when many segment rows belong to deleted images (the
            // catalog lists them, and it has to fit one value; compaction rewrites
            // mostly-dead segments) or a segment was unreadable. Over a catalog, only for
            // loose vectors: a bulk upload leaves more than one compaction packs, and a
            // catalog search does not list again, so without this every search would
            // read the rest one by one until the next upload.
            let work = match scan.catalog {
                Some(listed) => {
                    let due = scan.stats.loose >= enough
                        || scan.stats.skipped_segments > 0
                        || listed.dead.len() >= enough;
                    Some((listed, due))
                }
                None if scan.stats.loose >= enough => {
                    snap.to_catalog(version, dims).map(|c| (c, true))
                }
                None => None,
            };
            if let Some((mut catalog, due)) = work {
                let compacted = match due {
                    true => self
                        .compact_vectors(&snap, version, dims, policy)
                        .map(|report| {
                            catalog.compacted(&report);
                            report.written.is_some() || !report.deleted.is_empty()
                        }),
                    false => Ok(false),
                };
                // A failed compaction leaves no catalog: the next search lists and
                // retries. A catalog search stores one only if its compaction changed the
                // segments (under the same marker: the set of vectors is the one it
                // recorded).
                let store = |changed: bool| match changed || !snap.from_catalog() {
                    true => self.put_catalog(&catalog),
                    false => Ok(true),
                };
                match compacted.and_then(store) {
                    Ok(true) => {}
                    Ok(false) => {
                        maintenance_error = Some("vector catalog too large to store".into())
                    }
                    Err(e) => maintenance_error = Some(e.to_string()),
                }
            }
        }
        let report = SearchReport {
            view,
            stats: scan.stats,
            find,
            scan: scan_time,
            settle: settle_time,
            maintain: t.elapsed(),
            maintenance_error,
        };
        Ok((answer, report))
    }

    fn all_exist(&self, ids: &[RawId]) -> Result<bool> {
        for id in ids {
            if !self.has_image(&hex_id(id))? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

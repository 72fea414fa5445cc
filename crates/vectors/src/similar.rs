//! Similar search over every stored vector: the store streams rows (int8 sketches from
//! segments, f32 from loose vectors and older segments), a [`Shortlist`] keeps the rows
//! whose score interval might rank, and those few are re-scored from their f32 vectors.
//! The answer equals a brute force over the stored f32 vectors; a search reads a quarter
//! of their bytes plus a handful of loose vectors.

use std::time::{Duration, Instant};

use store::segments::sketch::{self, Record};
use store::segments::{CompactionPolicy, RawId, Rows, SearchReport, Settled};
use store::{KeyValue, Store};

use crate::search::cosine;
use crate::shortlist::{Settling, Shortlist, settle};

/// What a search did, beyond the store's [`SearchReport`].
#[derive(Debug, Clone)]
pub struct SimilarReport {
    pub store: SearchReport,
    /// Time spent scoring rows (sketch bounds and exact f32 rows) as they streamed in.
    pub scoring: Duration,
    /// Rows left on the shortlist after the scan (last pass).
    pub candidates: usize,
    /// Exact re-scoring of the shortlist (last pass).
    pub settling: Settling,
}

/// The `k` stored vectors most similar to `query` (image `id`'s vector of feature
/// `version`), best first, excluding `id` itself. With `maintain`, a search that had to
/// list the keys also compacts and leaves a catalog (`Store::search_vectors`).
pub fn search<K: KeyValue>(
    store: &Store<K>,
    id: &RawId,
    version: u32,
    query: &[f32],
    k: usize,
    maintain: Option<CompactionPolicy>,
) -> store::Result<(Vec<(RawId, f32)>, SimilarReport)> {
    let dims = query.len();
    let sketched = sketch::Query::new(query);
    let record_bytes = sketch::record_bytes(dims);
    let mut scoring = Duration::ZERO;
    let (mut candidates, mut settling) = (0, Settling::default());
    let (top, report) = store.search_vectors(
        version,
        dims,
        maintain,
        || Shortlist::new(k),
        |list, snap, ids, rows| {
            let t = Instant::now();
            let accept = |other: &RawId| other != id && snap.is_live(other);
            match rows {
                Rows::Exact(values) => list.offer_exact_rows(query, values, ids, accept),
                Rows::Sketch(records) => {
                    for (record, other) in records.chunks_exact(record_bytes).zip(ids) {
                        let (lower, upper) = sketched.bounds(&Record::parse(record, dims));
                        list.offer(lower, upper, None, other, accept);
                    }
                }
            }
            scoring += t.elapsed();
        },
        |list, _| {
            let shortlist = list.into_candidates();
            candidates = shortlist.len();
            let (top, done) = settle(k, shortlist, |other| {
                exact_score(store, other, version, query)
            })?;
            settling = done;
            Ok(Settled {
                winners: top.items().copied().collect(),
                answer: top,
                complete: done.missing == 0,
            })
        },
    )?;
    let report = SimilarReport {
        store: report,
        scoring,
        candidates,
        settling,
    };
    Ok((top.into_sorted(), report))
}

/// The exact score (cosine, in [-1, 1]) of `id`'s stored vector against `query`; `None` when it is gone or
/// no longer of this feature version and length.
fn exact_score<K: KeyValue>(
    store: &Store<K>,
    id: &RawId,
    version: u32,
    query: &[f32],
) -> store::Result<Option<f32>> {
    Ok(store
        .loose_vector_of(id, version, query.len())?
        .map(|row| cosine(query, &row)))
}

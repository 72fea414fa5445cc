//! Exact top-k from score *intervals*: keep every row that might rank, re-score only those.
//!
//! Stored rows can be read as compact sketches that give each row an interval holding
//! its exact score rather than the score itself (`store::segments::sketch`). The k-th
//! best lower bound is a score that at least k rows certainly reach, so a row whose
//! upper bound is below it cannot be in the top k. [`Shortlist`] tracks that threshold
//! while rows stream past and keeps the rows above it; [`settle`] re-scores them exactly,
//! best upper bound first, and stops as soon as no remaining row can enter. The answer
//! equals a brute-force [`TopK`] over exact scores, ties included.

use super::search::{TopK, cosine};

/// A row that might rank: its upper bound and, when known, its exact score.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<T> {
    pub item: T,
    pub upper: f32,
    pub exact: Option<f32>,
}

/// Rows whose score interval reaches the k-th best lower bound seen so far.
#[derive(Debug, Clone)]
pub struct Shortlist<T> {
    lower: TopK<T>,
    held: Vec<Candidate<T>>,
    /// Held rows at which to drop those the threshold has overtaken.
    prune_at: usize,
}

impl<T: Ord + Clone> Shortlist<T> {
    pub fn new(k: usize) -> Self {
        Self {
            lower: TopK::new(k),
            held: Vec::new(),
            prune_at: 64.max(4 * k),
        }
    }

    /// The k-th best lower bound so far: rows with an upper bound under it cannot rank.
    #[inline]
    pub fn threshold(&self) -> f32 {
        self.lower.floor()
    }

    /// Offers a row whose score lies in `[lower, upper]` (`exact` when it is known).
    /// `accept` (is the row eligible at all?) is asked only of rows that might rank.
    #[inline]
    pub fn offer(
        &mut self,
        lower: f32,
        upper: f32,
        exact: Option<f32>,
        item: &T,
        accept: impl FnOnce(&T) -> bool,
    ) {
        let hopeless = upper.is_nan() || upper < self.threshold();
        if self.lower.capacity() == 0 || hopeless || !accept(item) {
            return;
        }
        self.lower.offer(lower, item.clone());
        self.held.push(Candidate {
            item: item.clone(),
            upper,
            exact,
        });
        if self.held.len() >= self.prune_at {
            let floor = self.threshold();
            self.held.retain(|c| c.upper >= floor);
            self.prune_at = 64.max(2 * self.held.len());
        }
    }

    /// Offers f32 rows (row-major, one per item), scored exactly against `query` ([`cosine`]).
    pub fn offer_exact_rows(
        &mut self,
        query: &[f32],
        rows: &[f32],
        items: &[T],
        mut accept: impl FnMut(&T) -> bool,
    ) {
        if query.is_empty() {
            return;
        }
        for (row, item) in rows.chunks_exact(query.len()).zip(items) {
            let score = cosine(query, row);
            self.offer(score, score, Some(score), item, &mut accept);
        }
    }

    /// The rows that might rank, best upper bound first, one per item (an item offered
    /// twice, from overlapping segments, keeps its best-informed entry).
    pub fn into_candidates(self) -> Vec<Candidate<T>> {
        let floor = self.threshold();
        let mut held = self.held;
        held.retain(|c| c.upper >= floor);
        held.sort_by(|a, b| {
            a.item
                .cmp(&b.item)
                .then(b.exact.is_some().cmp(&a.exact.is_some()))
                .then(a.upper.total_cmp(&b.upper))
        });
        held.dedup_by(|later, first| later.item == first.item);
        held.sort_by(|a, b| b.upper.total_cmp(&a.upper).then(a.item.cmp(&b.item)));
        held
    }
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settling {
    /// Candidates whose exact score had to be fetched.
    pub fetched: usize,
    /// Candidates whose exact score could not be fetched (gone since the scan).
    pub missing: usize,
}

/// The exact top-`k` among `candidates` (from [`Shortlist::into_candidates`]), fetching
/// exact scores with `exact(item)` (`None`: the row is gone) only while a candidate's
/// upper bound could still enter.
///
/// A missing candidate may have been one of the rows that set the threshold, so rows
/// dropped below it could now rank: callers treat `missing > 0` as "scan again".
pub fn settle<T: Ord + Clone, E>(
    k: usize,
    candidates: Vec<Candidate<T>>,
    mut exact: impl FnMut(&T) -> Result<Option<f32>, E>,
) -> Result<(TopK<T>, Settling), E> {
    let mut top = TopK::new(k);
    let mut report = Settling::default();
    for c in candidates {
        if !top.admits(c.upper) {
            break; // sorted by upper bound: nothing after this can enter either
        }
        let score = match c.exact {
            Some(score) => Some(score),
            None => {
                report.fetched += 1;
                exact(&c.item)?
            }
        };
        match score {
            Some(score) => top.offer(score, c.item),
            None => report.missing += 1,
        }
    }
    Ok((top, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    use store::testkit::noise;

    /// Brute force: exact scores, every row.
    fn brute(scores: &[f32], k: usize, accept: impl Fn(&u32) -> bool) -> Vec<(u32, f32)> {
        let mut top = TopK::new(k);
        for (i, s) in scores.iter().enumerate() {
            if accept(&(i as u32)) {
                top.offer(*s, i as u32);
            }
        }
        top.into_sorted()
    }

    #[test]
    fn intervals_give_the_brute_force_answer_and_fetch_few() {
        let n = 5_000;
        // Scores with many near-ties (rounded to 1/64), intervals of random width.
        let scores: Vec<f32> = noise(n, 1)
            .iter()
            .map(|s| (s * 64.0).round() / 64.0)
            .collect();
        let widths = noise(n, 2);
        for k in [0, 1, 10, 100, n, n + 5] {
            for width in [0.0f32, 0.001, 0.05, 3.0] {
                let accept = |i: &u32| i % 7 != 3;
                let mut list = Shortlist::new(k);
                for (i, s) in scores.iter().enumerate() {
                    let w = width * widths[i].abs();
                    // Asymmetric intervals: the exact score anywhere inside.
                    list.offer(s - w, s + w * 0.5, None, &(i as u32), accept);
                }
                let candidates = list.into_candidates();
                let (top, done) = settle(k, candidates, |i: &u32| {
                    Ok::<_, Infallible>(Some(scores[*i as usize]))
                })
                .unwrap();
                assert_eq!(
                    top.into_sorted(),
                    brute(&scores, k, accept),
                    "k {k} w {width}"
                );
                if k == 10 && width <= 0.001 {
                    assert!(done.fetched < 200, "fetched {}", done.fetched);
                }
            }
        }
    }

    #[test]
    fn exact_rows_duplicates_and_missing_rows() {
        let query = [1.0, 0.0];
        let mut list = Shortlist::new(2);
        list.offer_exact_rows(&query, &[0.9, 0.1, 0.5, 0.5], &[1u32, 2], |_| true);
        // Item 3 from two overlapping segments; item 4 is gone when fetched.
        list.offer(0.6, 0.8, None, &3, |_| true);
        list.offer(0.6, 0.8, None, &3, |_| true);
        list.offer(0.55, 0.95, None, &4, |_| true);
        assert_eq!(list.threshold(), 0.6);
        list.offer(f32::NAN, f32::NAN, None, &5, |_| true);
        let candidates = list.into_candidates();
        assert_eq!(
            candidates.iter().map(|c| c.item).collect::<Vec<_>>(),
            vec![4, 1, 3]
        );
        let mut fetched = Vec::new();
        let (top, done) = settle(2, candidates, |i: &u32| {
            fetched.push(*i);
            Ok::<_, Infallible>((*i == 3).then_some(0.7))
        })
        .unwrap();
        assert_eq!(top.into_sorted(), vec![(1, 0.9), (3, 0.7)]);
        assert_eq!(fetched, vec![4, 3]);
        assert_eq!(
            done,
            Settling {
                fetched: 2,
                missing: 1
            }
        );
    }
}

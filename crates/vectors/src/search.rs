//! Cosine top-k over a matrix of L2-normalised rows: one matrix-vector product.

use ndarray::{Array1, ArrayView1, ArrayView2};

/// Cosine similarity of `query` with every row (rows and query assumed unit length).
/// Empty when the dimensions differ.
pub fn scores(query: &[f32], matrix: ArrayView2<f32>) -> Array1<f32> {
    if matrix.ncols() != query.len() {
        return Array1::zeros(0);
    }
    matrix.dot(&ArrayView1::from(query))
}

/// The `k` rows most similar to `query`, best first, as `(row index, score)`.
/// Ties keep row order (lower index first); NaN scores rank last. Returns an empty list
/// when `k == 0`, the matrix is empty or the dimensions differ.
pub fn top_k(query: &[f32], matrix: ArrayView2<f32>, k: usize) -> Vec<(usize, f32)> {
    let scores = scores(query, matrix);
    if k == 0 || scores.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(usize, f32)> = scores
        .iter()
        .map(|&s| if s.is_nan() { f32::NEG_INFINITY } else { s })
        .enumerate()
        .collect();
    let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if k < ranked.len() {
        // O(n) selection, then sort only the k winners.
        ranked.select_nth_unstable_by(k - 1, order);
        ranked.truncate(k);
    }
    ranked.sort_by(order);
    ranked
}

/// Dot product of two equal-length slices (the shorter length if they differ).
///
/// Sixteen independent partial sums: float addition is not associative, so the compiler
/// may not vectorise a single running sum, but it turns these lanes into four f32x4
/// (wasm `simd128`) or two f32x8 (AVX) accumulators. Summed in a fixed order, so a given
/// input always gives the same result on a given target.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (ca, ta) = a.as_chunks::<LANES>();
    let (cb, tb) = b.as_chunks::<LANES>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ta.iter().zip(tb) {
        tail += x * y;
    }
    // Pairwise: 16 -> 8 -> 4 -> 2 -> 1.
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// The cosine similarity of two unit-length vectors: their [`dot`] product, clamped to
/// [-1, 1]. A vector normalised in f32 has a length only within rounding of 1, so two
/// identical ones can score 1.0000018; the API documents scores in [-1, 1], and every
/// score darkroom answers is made here.
#[inline]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b).clamp(-1.0, 1.0)
}

/// A running top-k over a stream of scored items, for searches that cannot hold every
/// score at once (rows arrive segment by segment).
///
/// Keeps the `k` best `(score, item)` pairs in a min-heap. An item already held is not
/// added twice (the same row may arrive from two overlapping segments with the same
/// score), and `accept` is asked only about rows that would enter the heap, so an
/// expensive check (is the image still there?) runs for a handful of rows, not all.
#[derive(Debug, Clone)]
pub struct TopK<T> {
    k: usize,
    heap: std::collections::BinaryHeap<Entry<T>>,
}

#[derive(Debug, Clone)]
struct Entry<T> {
    score: f32,
    item: T,
}

// Ordered so the heap's top is the *worst* entry: lowest score, then the greatest item.
impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then_with(|| self.item.cmp(&other.item))
    }
}
impl<T: Ord> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Ord> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl<T: Ord> Eq for Entry<T> {}

impl<T: Ord + Clone> TopK<T> {
    /// An empty top-`k`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: std::collections::BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a row scoring `score` might enter (NaN never does): the cheap test run
    /// on every row; ties are settled by [`offer`](Self::offer).
    #[inline]
    pub fn admits(&self, score: f32) -> bool {
        if self.k == 0 || score.is_nan() {
            return false;
        }
        self.heap.len() < self.k || self.heap.peek().is_some_and(|worst| score >= worst.score)
    }

    /// The score an item must reach to enter: the worst held score once `k` are held,
    /// else −∞ (+∞ when `k` is 0).
    #[inline]
    pub fn floor(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |worst| worst.score)
        }
    }

    /// The `k` it was made with.
    pub fn capacity(&self) -> usize {
        self.k
    }

    /// Offers one scored item.
    pub fn offer(&mut self, score: f32, item: T) {
        if !self.admits(score) {
            return;
        }
        let entry = Entry { score, item };
        let better =
            self.heap.len() < self.k || self.heap.peek().is_some_and(|worst| entry < *worst);
        if !better || self.heap.iter().any(|e| e.item == entry.item) {
            return;
        }
        self.heap.push(entry);
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// Scores every row of `rows` (row-major, `items.len()` rows of `query.len()`) and
    /// offers those that would enter and pass `accept`.
    pub fn offer_rows(
        &mut self,
        query: &[f32],
        rows: &[f32],
        items: &[T],
        mut accept: impl FnMut(&T) -> bool,
    ) {
        let dims = query.len();
        if dims == 0 {
            return;
        }
        for (row, item) in rows.chunks_exact(dims).zip(items) {
            let score = dot(query, row);
            if self.admits(score) && accept(item) {
                self.offer(score, item.clone());
            }
        }
    }

    /// The items held so far, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.heap.iter().map(|e| &e.item)
    }

    /// The winners, best first (ties: smaller item first).
    pub fn into_sorted(self) -> Vec<(T, f32)> {
        // `into_sorted_vec` ascends by `Ord`, i.e. best first here.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.item, e.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use store::testkit::noise;

    #[test]
    fn dot_matches_a_wide_sum() {
        for n in [0, 1, 15, 16, 17, 100, 416, 1000] {
            let (a, b) = (noise(n, 1 + n as u64), noise(n, 99));
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!((f64::from(dot(&a, &b)) - want).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn cosine_stays_within_minus_one_and_one() {
        // Lengths a rounding step over 1, as f32 normalisation leaves them.
        let over = [1.000_000_1f32, 0.0, 0.0];
        assert!(dot(&over, &over) > 1.0, "the case the clamp is for");
        assert_eq!(cosine(&over, &over), 1.0);
        let under = [-1.000_000_1f32, 0.0, 0.0];
        assert_eq!(cosine(&over, &under), -1.0);
        // Unit rows from noise: their self-similarity is 1 or just under, never over.
        for seed in 0..200 {
            let v = store::testkit::normalised(noise(209, seed));
            let s = cosine(&v, &v);
            assert!(s <= 1.0 && s > 0.9999, "seed {seed}: {s}");
        }
        assert!(
            cosine(&[f32::NAN], &[1.0]).is_nan(),
            "NaN stays NaN (ranks last)"
        );
    }

    #[test]
    fn streaming_top_k_equals_the_full_sort() {
        let (dims, n) = (37, 500);
        let rows = noise(dims * n, 7);
        let query = noise(dims, 8);
        let ids: Vec<u32> = (0..n as u32).collect();
        for k in [0, 1, 5, 499, 500, 600] {
            let mut top = TopK::new(k);
            // In three uneven batches, like segments.
            for (lo, hi) in [(0, 100), (100, 101), (101, n)] {
                top.offer_rows(&query, &rows[lo * dims..hi * dims], &ids[lo..hi], |_| true);
            }
            let got = top.into_sorted();
            let mut want: Vec<(u32, f32)> = ids
                .iter()
                .map(|&i| (i, dot(&query, &rows[i as usize * dims..][..dims])))
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(k);
            assert_eq!(got, want, "k = {k}");
        }
    }

    #[test]
    fn top_k_dedupes_filters_and_ignores_nan() {
        let mut top = TopK::new(3);
        top.offer(0.9, "a");
        top.offer(0.9, "a");
        top.offer(f32::NAN, "nan");
        top.offer(0.5, "b");
        top.offer_rows(&[1.0], &[0.95, 0.99, 0.1], &["c", "self", "d"], |id| {
            *id != "self"
        });
        top.offer(0.5, "0"); // ties with b, sorts before it: replaces the worst
        assert_eq!(top.into_sorted(), vec![("c", 0.95), ("a", 0.9), ("0", 0.5)]);
    }
}

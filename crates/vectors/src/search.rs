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

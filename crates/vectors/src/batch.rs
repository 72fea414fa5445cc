//! Statistics over a batch of vectors as one n x D `ndarray` matrix: per-dimension mean
//! and standard deviation, the cosine similarity matrix X·Xᵀ, near-duplicate pairs, and a
//! PCA projection to 2-D by power iteration (no LAPACK, builds for wasm32).

use ndarray::{Array1, Array2, Axis};

/// Batch statistics (see [`batch_stats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// Number of rows.
    pub n: usize,
    /// Number of columns.
    pub dims: usize,
    /// Per-dimension mean.
    pub mean: Vec<f32>,
    /// Per-dimension population standard deviation (divides by n, like numpy's default).
    pub std: Vec<f32>,
    /// n x n cosine similarities (rows are L2-normalised first; zero rows stay zero).
    pub similarity: Vec<Vec<f32>>,
    /// Pairs `(a, b, score)` with `a < b` and `score >= threshold`, best first.
    pub duplicates: Vec<(usize, usize, f32)>,
    /// Each row's coordinates on the first two principal components.
    pub projection: Vec<[f32; 2]>,
}

/// Computes [`BatchStats`] for `matrix` (n rows of D features).
pub fn batch_stats(matrix: Array2<f32>, duplicate_threshold: f32) -> BatchStats {
    let (n, dims) = matrix.dim();
    if n == 0 {
        return BatchStats {
            n,
            dims,
            mean: vec![0.0; dims],
            std: vec![0.0; dims],
            similarity: Vec::new(),
            duplicates: Vec::new(),
            projection: Vec::new(),
        };
    }
    let mean = matrix
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(dims));
    let centred = &matrix - &mean;
    let std = centred
        .mapv(|v| v * v)
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(dims))
        .mapv(f32::sqrt);

    let similarity = cosine_matrix(&matrix);
    let mut duplicates = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            let s = similarity[[a, b]];
            if s >= duplicate_threshold {
                duplicates.push((a, b, s));
            }
        }
    }
    duplicates.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));

    let projection = pca_2d(&centred);
    BatchStats {
        n,
        dims,
        mean: mean.to_vec(),
        std: std.to_vec(),
        similarity: similarity.outer_iter().map(|r| r.to_vec()).collect(),
        duplicates,
        projection,
    }
}

/// X·Xᵀ after normalising each row to unit length, clamped to [-1, 1] as
/// [`crate::cosine`] is (rounding puts a row's self-similarity a little over 1).
fn cosine_matrix(matrix: &Array2<f32>) -> Array2<f32> {
    let mut unit = matrix.clone();
    for mut row in unit.outer_iter_mut() {
        let norm = row.dot(&row).sqrt();
        if norm > 1e-12 && norm.is_finite() {
            row /= norm;
        } else {
            row.fill(0.0);
        }
    }
    unit.dot(&unit.t()).mapv_into(|s| s.clamp(-1.0, 1.0))
}

/// Projects the centred rows on the top two eigenvectors of the covariance, found by power
/// iteration with the covariance applied implicitly (Xᵀ(X v)): O(n·D) per step, no D x D
/// matrix. The second vector is kept orthogonal to the first. Signs are fixed so the
/// largest-magnitude component of each axis is positive (deterministic output).
fn pca_2d(centred: &Array2<f32>) -> Vec<[f32; 2]> {
    let (n, dims) = centred.dim();
    let mut axes: Vec<Array1<f32>> = Vec::with_capacity(2);
    for component in 0..2 {
        // Deterministic, generic start vector.
        let mut v = Array1::from_shape_fn(dims, |i| {
            1.0 + ((i * 7 + component * 13) % 11) as f32 / 11.0
        });
        orthogonalise(&mut v, &axes);
        if !normalise(&mut v) {
            break;
        }
        for _ in 0..500 {
            let mut next = centred.t().dot(&centred.dot(&v));
            orthogonalise(&mut next, &axes);
            if !normalise(&mut next) {
                // No variance left in this direction: the axis is zero.
                next.fill(0.0);
                v = next;
                break;
            }
            let change = (&next - &v)
                .mapv(f32::abs)
                .sum()
                .min((&next + &v).mapv(f32::abs).sum());
            v = next;
            if change < 1e-6 {
                break;
            }
        }
        let (pos, _) = v.iter().enumerate().fold((0, 0f32), |best, (i, &x)| {
            if x.abs() > best.1 { (i, x.abs()) } else { best }
        });
        if v[pos] < 0.0 {
            v.mapv_inplace(|x| -x);
        }
        axes.push(v);
    }
    let coord =
        |row: ndarray::ArrayView1<f32>, axis: usize| axes.get(axis).map_or(0.0, |a| row.dot(a));
    (0..n)
        .map(|i| [coord(centred.row(i), 0), coord(centred.row(i), 1)])
        .collect()
}

fn orthogonalise(v: &mut Array1<f32>, axes: &[Array1<f32>]) {
    for a in axes {
        let d = v.dot(a);
        v.scaled_add(-d, a);
    }
}

/// Normalises in place; false when the vector is (numerically) zero.
fn normalise(v: &mut Array1<f32>) -> bool {
    let norm = v.dot(v).sqrt();
    if norm > 1e-12 && norm.is_finite() {
        *v /= norm;
        true
    } else {
        false
    }
}

//! `matrix_stats`: mean, std (ddof 0), min, max, correlation and a 2-D PCA of number
//! columns.
//!
//! A shard keeps count, mean and the co-moment matrix `M2 = Σ (x-mean)(x-mean)ᵀ`,
//! updated per row (Welford). Shards merge with Chan et al.'s pairwise update, which is
//! exact algebra on the moments (never an average of averages), in shard order so every
//! run merges identically.

use crate::dataset::{ColumnType, Dataset, Rows};
use crate::{Error, Result};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most columns one job takes (the co-moment matrix is `d²` floats).
pub const MAX_COLUMNS: usize = 256;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    columns: Option<Vec<String>>,
}

pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "columns": {"type": "array", "minItems": 1, "maxItems": MAX_COLUMNS, "items": {"type": "string"},
                        "description": "number columns to use (default: every number column)"}
        }
    })
}

#[derive(Debug, Clone)]
pub struct MatrixStats {
    columns: Vec<(String, usize)>,
}

/// Moments of a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: u64,
    pub mean: Vec<f64>,
    /// Row-major `d × d`.
    pub m2: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

impl Moments {
    pub fn new(d: usize) -> Self {
        Self {
            n: 0,
            mean: vec![0.0; d],
            m2: vec![0.0; d * d],
            min: vec![f64::INFINITY; d],
            max: vec![f64::NEG_INFINITY; d],
        }
    }

    /// Welford's update with one row.
    pub fn push(&mut self, x: &[f64]) {
        let d = self.mean.len();
        self.n += 1;
        let n = self.n as f64;
        let delta: Vec<f64> = x.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (m, dl) in self.mean.iter_mut().zip(&delta) {
            *m += dl / n;
        }
        for (i, &xi) in x.iter().enumerate() {
            let after_i = xi - self.mean[i];
            for (m2, dj) in self.m2[i * d..(i + 1) * d].iter_mut().zip(&delta) {
                *m2 += dj * after_i;
            }
            self.min[i] = self.min[i].min(xi);
            self.max[i] = self.max[i].max(xi);
        }
    }

    /// Chan et al.: `M2 = M2a + M2b + δδᵀ·na·nb/n`, `mean = mean_a + δ·nb/n`.
    pub fn merge(&mut self, o: &Moments) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o.clone();
            return;
        }
        let d = self.mean.len();
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = na + nb;
        let delta: Vec<f64> = o.mean.iter().zip(&self.mean).map(|(b, a)| b - a).collect();
        for i in 0..d {
            for j in 0..d {
                self.m2[i * d + j] += o.m2[i * d + j] + delta[i] * delta[j] * na * nb / n;
            }
            self.mean[i] += delta[i] * nb / n;
            self.min[i] = self.min[i].min(o.min[i]);
            self.max[i] = self.max[i].max(o.max[i]);
        }
        self.n += o.n;
    }
}

/// What a map shard stores: the moments and how many rows were skipped.
#[derive(Debug, Serialize, Deserialize)]
struct Partial {
    moments: Moments,
}

impl MatrixStats {
    pub fn new(params: &Value, ds: &Dataset) -> Result<Self> {
        let p: Params = serde_json::from_value(params.clone())
            .map_err(|e| Error::Invalid(format!("params: {e}")))?;
        let columns: Vec<(String, usize)> = match p.columns {
            Some(names) => {
                if names.is_empty() {
                    return Err(Error::Invalid(
                        "params.columns: name at least one column".into(),
                    ));
                }
                names
                    .iter()
                    .map(|n| match ds.column(n) {
                        Some((i, c)) if c.kind == ColumnType::Number => Ok((n.clone(), i)),
                        Some(_) => Err(Error::Invalid(format!(
                            "params.columns: {n:?} is not a number column"
                        ))),
                        None => Err(Error::Invalid(format!(
                            "params.columns: the dataset has no column {n:?}"
                        ))),
                    })
                    .collect::<Result<_>>()?
            }
            None => ds
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == ColumnType::Number)
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
        };
        if columns.is_empty() {
            return Err(Error::Invalid(
                "params.columns: the dataset has no number column".into(),
            ));
        }
        if columns.len() > MAX_COLUMNS {
            return Err(Error::Invalid(format!(
                "params.columns: at most {MAX_COLUMNS} columns"
            )));
        }
        Ok(Self { columns })
    }

    /// Folds a shard's rows; a row with an empty or non-number cell is skipped.
    pub fn mapper(&self) -> Mapper<'_> {
        Mapper {
            stats: self,
            moments: Moments::new(self.columns.len()),
            x: vec![0.0; self.columns.len()],
            rows: 0,
            skipped: 0,
        }
    }

    /// Merges shard partials in the order given.
    pub fn merge(&self, partials: impl IntoIterator<Item = Result<Vec<u8>>>) -> Result<Vec<u8>> {
        let mut all = Moments::new(self.columns.len());
        for raw in partials {
            let p: Partial =
                serde_json::from_slice(&raw?).map_err(|e| Error::corrupt("matrix partial", e))?;
            all.merge(&p.moments);
        }
        Ok(serde_json::to_vec(&Partial { moments: all }).expect("serialises"))
    }

    pub fn finish(&self, parts: Vec<Vec<u8>>, rows: u64, skipped: u64) -> Result<Value> {
        let merged = self.merge(parts.into_iter().map(Ok))?;
        let p: Partial =
            serde_json::from_slice(&merged).map_err(|e| Error::corrupt("matrix result", e))?;
        let mut out = stats(&p.moments);
        out["columns"] = json!(self.columns.iter().map(|(n, _)| n).collect::<Vec<_>>());
        out["rows"] = json!(rows);
        out["skipped"] = json!(skipped);
        Ok(out)
    }
}

/// Folds one shard's rows into moments.
pub struct Mapper<'a> {
    stats: &'a MatrixStats,
    moments: Moments,
    x: Vec<f64>,
    pub rows: u64,
    pub skipped: u64,
}

impl Mapper<'_> {
    pub fn row(&mut self, row: Rows<'_>) -> Result<()> {
        self.rows += 1;
        for (slot, (_, i)) in self.x.iter_mut().zip(&self.stats.columns) {
            match row
                .get(*i)
                .and_then(|c| c.parse::<f64>().ok())
                .filter(|v| v.is_finite())
            {
                Some(v) => *slot = v,
                None => {
                    self.skipped += 1;
                    return Ok(());
                }
            }
        }
        self.moments.push(&self.x);
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        serde_json::to_vec(&Partial {
            moments: self.moments,
        })
        .expect("serialises")
    }
}

/// The statistics of merged moments. PCA diagonalises the sample covariance
/// `M2/(n-1)` (scikit-learn's convention for `explained_variance`); each component's
/// largest entry is made positive so the sign is defined.
pub fn stats(m: &Moments) -> Value {
    let d = m.mean.len();
    let n = m.n as f64;
    if m.n == 0 {
        return json!({"n": 0, "dims": d, "mean": null, "std": null, "min": null, "max": null, "correlation": null, "pca": null});
    }
    let std: Vec<f64> = (0..d).map(|i| (m.m2[i * d + i] / n).sqrt()).collect();
    let corr: Vec<Vec<Value>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    let den = (m.m2[i * d + i] * m.m2[j * d + j]).sqrt();
                    if den > 0.0 {
                        json!(m.m2[i * d + j] / den)
                    } else {
                        Value::Null
                    }
                })
                .collect()
        })
        .collect();
    let pca = if m.n > 1 {
        let cov = Array2::from_shape_fn((d, d), |(i, j)| m.m2[i * d + j] / (n - 1.0));
        let (values, vectors) = jacobi_eigen(cov);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let take = order.iter().take(2.min(d));
        let components: Vec<Vec<f64>> = take
            .clone()
            .map(|&k| {
                let v = vectors.column(k).to_vec();
                let big = v
                    .iter()
                    .copied()
                    .fold(0.0f64, |a, x| if x.abs() > a.abs() { x } else { a });
                v.into_iter()
                    .map(|x| if big < 0.0 { -x } else { x })
                    .collect()
            })
            .collect();
        let explained: Vec<f64> = take.map(|&k| values[k]).collect();
        json!({"components": components, "explained_variance": explained})
    } else {
        Value::Null
    };
    json!({"n": m.n, "dims": d, "mean": m.mean, "std": std, "min": m.min, "max": m.max, "correlation": corr, "pca": pca})
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi
/// rotations: small `d`, no LAPACK, accurate to rounding.
pub fn jacobi_eigen(mut a: Array2<f64>) -> (Array1<f64>, Array2<f64>) {
    let d = a.nrows();
    let mut v = Array2::<f64>::eye(d);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        let scale: f64 = (0..d)
            .map(|i| a[[i, i]] * a[[i, i]])
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        if off <= scale * 1e-30 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    (a.diag().to_owned(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chan_merge_equals_one_pass() {
        let rows: Vec<[f64; 3]> = (0..500)
            .map(|i| {
                let t = i as f64;
                [t.sin() * 10.0 + 1e6, t * 0.5, (t * 0.37).cos() * t]
            })
            .collect();
        let mut whole = Moments::new(3);
        rows.iter().for_each(|r| whole.push(r));
        let mut merged = Moments::new(3);
        for part in rows.chunks(77) {
            let mut m = Moments::new(3);
            part.iter().for_each(|r| m.push(r));
            merged.merge(&m);
        }
        // Relative to the scale of each entry (sqrt(M2_ii·M2_jj)): a cross moment that
        // nearly cancels is as exact as its inputs allow, not to its own magnitude.
        for i in 0..3 {
            assert!((whole.mean[i] - merged.mean[i]).abs() <= 1e-12 * whole.mean[i].abs());
            for j in 0..3 {
                let scale = (whole.m2[i * 3 + i] * whole.m2[j * 3 + j]).sqrt();
                assert!((whole.m2[i * 3 + j] - merged.m2[i * 3 + j]).abs() <= 1e-9 * scale);
            }
        }
    }

    #[test]
    fn jacobi_diagonalises() {
        let a = ndarray::arr2(&[[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]]);
        let (w, v) = jacobi_eigen(a.clone());
        for k in 0..3 {
            let av = a.dot(&v.column(k));
            for i in 0..3 {
                assert!((av[i] - w[k] * v[[i, k]]).abs() < 1e-12);
            }
        }
        assert!((w.sum() - 8.0).abs() < 1e-12);
    }
}

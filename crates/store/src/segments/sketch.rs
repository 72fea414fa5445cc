//! The int8 sketch of a vector, and the score bounds a query gets from it.
//!
//! A search reads every stored row on every query, so its cost is the bytes it reads
//! (the key-value store delivers ~1 GB/s; the scoring is far faster). Segments therefore
//! hold each row as one byte per component plus three f32, a quarter of the f32 row;
//! the f32 row stays in the image's loose vector, the source of truth. The sketch does
//! not approximate the answer: it gives every row an interval certain to hold its exact
//! score, so a search keeps only the rows whose interval reaches the k-th best lower
//! bound and re-scores those few from their f32 vectors (`vectors::Shortlist`).
//!
//! A row `x` is stored as `x ≈ s·c` with `s = max|xᵢ| / 127` and `cᵢ = round(xᵢ / s)`,
//! together with `r ≥ ‖x − s·c‖` and `m ≥ ‖s·c‖`. A query `q` is quantised once to
//! 16-bit codes, `q ≈ b·d`, with `E ≥ ‖q − b·d‖` and `Q ≥ ‖q‖`. Then exactly
//!
//! ```text
//! q·x = s·b·(d·c) + s·(q − b·d)·c + q·(x − s·c)
//! |q·x − s·b·(d·c)| ≤ E·m + Q·r
//! ```
//!
//! (Cauchy–Schwarz on both remainders), and `d·c` is an exact integer dot product. A
//! rounding allowance covers the f32 arithmetic here and in `vectors::dot`, whose result
//! is the score a search answers with, so the interval holds that f32 score too.
//!
//! Record layout (`record_bytes(dims)` bytes, little-endian):
//!
//! ```text
//! 0   s  f32      scale
//! 4   r  f32      residual norm, rounded up
//! 8   m  f32      norm of the reconstruction, rounded up
//! 12  c  i8 × dims, zero-padded to a multiple of 4
//! ```

/// Bytes of one sketched row of `dims` components.
pub const fn record_bytes(dims: usize) -> usize {
    12 + dims.next_multiple_of(4)
}

/// Largest stored code magnitude.
const CODE_MAX: f64 = 127.0;

/// Appends the sketch of `row` to `out` ([`record_bytes`] bytes).
///
/// A row with a non-finite value gets an infinite residual: its interval is unbounded,
/// so a search always re-scores it exactly (and then drops its NaN score).
pub fn encode_row(row: &[f32], out: &mut Vec<u8>) {
    let dims = row.len();
    let start = out.len();
    out.resize(start + record_bytes(dims), 0);
    let (head, codes) = out[start..].split_at_mut(12);
    let finite = row.iter().all(|x| x.is_finite());
    let max = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let (scale, residual, norm) = if !finite {
        (0.0, f32::INFINITY, 0.0)
    } else if max == 0.0 {
        (0.0, 0.0, 0.0)
    } else {
        let scale = (f64::from(max) / CODE_MAX) as f32;
        let (mut residual, mut norm) = (0.0f64, 0.0f64);
        for (x, code) in row.iter().zip(codes.iter_mut()) {
            let c = (f64::from(*x) / f64::from(scale))
                .round()
                .clamp(-CODE_MAX, CODE_MAX);
            *code = c as i8 as u8;
            let approx = f64::from(scale) * c;
            residual += (f64::from(*x) - approx).powi(2);
            norm += approx * approx;
        }
        (scale, round_up(residual.sqrt()), round_up(norm.sqrt()))
    };
    head[0..4].copy_from_slice(&scale.to_le_bytes());
    head[4..8].copy_from_slice(&residual.to_le_bytes());
    head[8..12].copy_from_slice(&norm.to_le_bytes());
}

/// `x` as an f32 no smaller than it.
fn round_up(x: f64) -> f32 {
    let y = x as f32;
    if f64::from(y) < x { y.next_up() } else { y }
}

/// One stored record, parsed.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub scale: f32,
    pub residual: f32,
    pub norm: f32,
    /// The codes, `dims` of them (without the padding).
    pub codes: &'a [i8],
}

impl<'a> Record<'a> {
    /// Parses a record of `dims` components (`bytes` is [`record_bytes`] long).
    #[inline]
    pub fn parse(bytes: &'a [u8], dims: usize) -> Self {
        let word = |i: usize| f32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let codes = &bytes[12..12 + dims];
        Self {
            scale: word(0),
            residual: word(4),
            norm: word(8),
            // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
            codes: unsafe { std::slice::from_raw_parts(codes.as_ptr().cast::<i8>(), dims) },
        }
    }

    /// The reconstruction `s·c` (what the sketch knows of the row).
    pub fn approximation(&self) -> Vec<f32> {
        self.codes
            .iter()
            .map(|&c| self.scale * f32::from(c))
            .collect()
    }
}

/// A query prepared for scoring sketched rows.
#[derive(Debug, Clone)]
pub struct Query {
    /// 16-bit codes, zero-padded to a multiple of 16.
    codes: Vec<i16>,
    dims: usize,
    scale: f32,
    /// `Q ≥ ‖q‖`.
    norm: f32,
    /// `E ≥ ‖q − b·d‖`.
    residual: f32,
    /// Relative rounding allowance for the f32 scores (see [`Query::bounds`]).
    rounding: f32,
}

impl Query {
    /// Quantises `query`. Codes stay small enough that no integer dot product with
    /// stored codes can overflow an i32 (`dims · 127 · max code < 2³¹`).
    pub fn new(query: &[f32]) -> Self {
        let dims = query.len();
        let code_max = ((i32::MAX as f64) / (CODE_MAX * dims.max(1) as f64))
            .floor()
            .min(f64::from(i16::MAX));
        let max = query.iter().fold(0.0f64, |m, x| m.max(f64::from(x.abs())));
        let finite = query.iter().all(|x| x.is_finite());
        let scale = if finite && max > 0.0 && code_max >= 1.0 {
            (max / code_max) as f32
        } else {
            0.0
        };
        let mut codes = vec![0i16; dims.next_multiple_of(16)];
        let (mut residual, mut norm) = (0.0f64, 0.0f64);
        for (x, code) in query.iter().zip(codes.iter_mut()) {
            let x = f64::from(*x);
            let c = if scale > 0.0 {
                (x / f64::from(scale)).round().clamp(-code_max, code_max)
            } else {
                0.0
            };
            *code = c as i16;
            residual += (x - f64::from(scale) * c).powi(2);
            norm += x * x;
        }
        let (residual, norm) = if finite {
            (round_up(residual.sqrt()), round_up(norm.sqrt()))
        } else {
            (f32::INFINITY, f32::INFINITY)
        };
        // |f32 dot − exact dot| ≤ γ_n·Σ|qᵢxᵢ| ≤ n·2⁻²⁴/(1 − n·2⁻²⁴)·‖q‖‖x‖ whatever the
        // summation order; doubled, plus the few roundings of `bounds` itself.
        let n = dims as f32;
        let rounding = 2.0 * n * f32::EPSILON / 2.0 / (1.0 - n * f32::EPSILON) + 1e-6;
        Self {
            codes,
            dims,
            scale,
            norm,
            residual,
            rounding,
        }
    }

    /// Lower and upper bounds of the f32 score (`vectors::dot`) of the row `record`
    /// stands for. Both are finite or infinite together; never NaN for a record made by
    /// [`encode_row`] of a finite query.
    #[inline]
    pub fn bounds(&self, record: &Record<'_>) -> (f32, f32) {
        let exact = dot_codes(record.codes, &self.codes[..self.dims]);
        let approx = record.scale * self.scale * exact as f32;
        let size = self.norm * (record.norm + record.residual);
        let err = self.norm * record.residual
            + self.residual * record.norm
            + self.rounding * size
            + 1e-6 * approx.abs()
            + f32::MIN_POSITIVE;
        let err = err * (1.0 + 1e-5);
        // A damaged record (negative or NaN norms) proves nothing: the row is re-scored.
        let trusted = record.residual >= 0.0 && record.norm >= 0.0 && !err.is_nan();
        if !trusted {
            return (f32::NEG_INFINITY, f32::INFINITY);
        }
        (approx - err, approx + err)
    }
}

/// `Σ xᵢ·qᵢ` in i32 (cannot overflow for codes made by [`encode_row`] and [`Query::new`]).
#[inline]
pub fn dot_codes(x: &[i8], q: &[i16]) -> i32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd::dot_codes(x, q)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        dot_codes_scalar(x, q)
    }
}

/// The reference [`dot_codes`]: the wasm SIMD version must equal it on every input.
#[inline]
pub fn dot_codes_scalar(x: &[i8], q: &[i16]) -> i32 {
    x.iter()
        .zip(q)
        .map(|(&a, &b)| i32::from(a) * i32::from(b))
        .sum()
}

/// wasm `simd128`: sixteen codes per step, widened to i16 and multiplied pairwise into
/// i32 lanes with `i32x4.dot_i16x8_s`. LLVM does not find this on its own (it widens
/// to i32 first, four times the work).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    #[inline]
    pub fn dot_codes(x: &[i8], q: &[i16]) -> i32 {
        let n = x.len().min(q.len());
        let whole = n / 16 * 16;
        let (mut a, mut b) = (i32x4_splat(0), i32x4_splat(0));
        let mut i = 0;
        while i < whole {
            // SAFETY: i + 16 ≤ n ≤ both lengths; wasm loads need no alignment.
            unsafe {
                let v = v128_load(x.as_ptr().add(i).cast::<v128>());
                let q0 = v128_load(q.as_ptr().add(i).cast::<v128>());
                let q1 = v128_load(q.as_ptr().add(i + 8).cast::<v128>());
                a = i32x4_add(a, i32x4_dot_i16x8(i16x8_extend_low_i8x16(v), q0));
                b = i32x4_add(b, i32x4_dot_i16x8(i16x8_extend_high_i8x16(v), q1));
            }
            i += 16;
        }
        let s = i32x4_add(a, b);
        let lanes = i32x4_extract_lane::<0>(s)
            .wrapping_add(i32x4_extract_lane::<1>(s))
            .wrapping_add(i32x4_extract_lane::<2>(s))
            .wrapping_add(i32x4_extract_lane::<3>(s));
        lanes + super::dot_codes_scalar(&x[whole..n], &q[whole..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testkit::unit;

    fn f32_dot(a: &[f32], b: &[f32]) -> f32 {
        // Three summation orders, as different as `vectors::dot`'s lanes can be.
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn the_interval_holds_the_f32_score() {
        for dims in [1, 3, 16, 17, 209, 416] {
            let q = unit(dims, 1000 + dims as u64);
            let query = Query::new(&q);
            let mut widths = Vec::new();
            for seed in 0..300 {
                // Unit rows, scaled rows, rows near the query, spiky rows.
                let mut x = unit(dims, seed);
                match seed % 4 {
                    1 => x.iter_mut().for_each(|v| *v *= 3.5),
                    2 => x.iter_mut().zip(&q).for_each(|(v, q)| *v = q + 0.01 * *v),
                    3 => x[seed as usize % dims] = 40.0,
                    _ => {}
                }
                let mut rec = Vec::new();
                encode_row(&x, &mut rec);
                assert_eq!(rec.len(), record_bytes(dims));
                let (lo, hi) = query.bounds(&Record::parse(&rec, dims));
                let exact: f64 = q
                    .iter()
                    .zip(&x)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let forward = f32_dot(&q, &x);
                let backward: f32 = q.iter().zip(&x).rev().map(|(a, b)| a * b).sum();
                for s in [exact as f32, forward, backward] {
                    assert!(
                        lo <= s && s <= hi,
                        "dims {dims} seed {seed}: {lo} <= {s} <= {hi}"
                    );
                }
                widths.push(hi - lo);
            }
            // Tight enough to prune: unit rows of 209 components get ±0.01 or better.
            if dims == 209 {
                let max = widths.iter().step_by(4).fold(0.0f32, |m, w| m.max(*w));
                assert!(max < 0.03, "width {max}");
            }
        }
    }

    #[test]
    fn residual_and_norm_bound_the_reconstruction() {
        let x = unit(209, 5);
        let mut rec = Vec::new();
        encode_row(&x, &mut rec);
        let r = Record::parse(&rec, 209);
        let approx = r.approximation();
        let res: f64 = x
            .iter()
            .zip(&approx)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum();
        let norm: f64 = approx.iter().map(|a| f64::from(*a).powi(2)).sum();
        assert!(res.sqrt() <= f64::from(r.residual) * 1.000_001);
        assert!(norm.sqrt() <= f64::from(r.norm) * 1.000_001);
        assert_eq!(r.codes.iter().map(|c| c.unsigned_abs()).max(), Some(127));
    }

    #[test]
    fn zero_and_non_finite_rows() {
        let q = Query::new(&unit(8, 1));
        let mut rec = Vec::new();
        encode_row(&[0.0; 8], &mut rec);
        let (lo, hi) = q.bounds(&Record::parse(&rec, 8));
        assert!(lo <= 0.0 && hi >= 0.0 && hi - lo < 1e-6);
        rec.clear();
        encode_row(&[f32::NAN; 8], &mut rec);
        assert_eq!(
            q.bounds(&Record::parse(&rec, 8)),
            (f32::NEG_INFINITY, f32::INFINITY)
        );
        // Damaged norms: unbounded, never a narrower interval.
        rec.clear();
        encode_row(&unit(8, 3), &mut rec);
        rec[4..8].copy_from_slice(&(-1.0f32).to_le_bytes());
        assert_eq!(
            q.bounds(&Record::parse(&rec, 8)),
            (f32::NEG_INFINITY, f32::INFINITY)
        );
        // A zero query: every bound is around 0.
        let zero = Query::new(&[0.0; 8]);
        rec.clear();
        encode_row(&unit(8, 2), &mut rec);
        let (lo, hi) = zero.bounds(&Record::parse(&rec, 8));
        assert!(lo <= 0.0 && hi >= 0.0);
    }

    #[test]
    fn extreme_codes_do_not_overflow() {
        for dims in [209, 516, 4096] {
            let x: Vec<i8> = vec![-127; dims];
            let q = Query::new(&vec![-1.0; dims]);
            let want: i64 = q.codes.iter().map(|&c| -127 * i64::from(c)).sum();
            assert_eq!(i64::from(dot_codes(&x, &q.codes[..dims])), want);
        }
    }
}

//! Runs of colour operations in one pass over the pixels.
//!
//! A preset is a few colour operations in a row (Clarendon: an overlay, `contrast`,
//! `saturate`), and one pass over a 2 MP image per operation cost more than the whole JPEG
//! decode in wasm. Curves compose exactly (a table of a table), a matrix takes the curves
//! before it into its product tables and the curves after it into one table on its
//! output, so a run needs one pass per matrix (one in all for curves alone). The result is
//! bit for bit what the operations give one after another: the products and their sum
//! are the same `f32` operations in the same order, and each matrix output is rounded and
//! clamped to a byte before the next curve, as the browser clamps between functions.

use super::matrix::{Colour, Matrix, to_u8};

/// A table per channel.
type Luts = [[u8; 256]; 3];

const IDENTITY: Luts = {
    let mut lut = [0u8; 256];
    let mut v = 0;
    while v < 256 {
        lut[v] = v as u8;
        v += 1;
    }
    [lut; 3]
};

/// Colour operations not yet run on the pixels: curves, then at most one matrix, then
/// curves.
pub(crate) struct Pointwise {
    before: Luts,
    matrix: Option<Matrix>,
    after: Luts,
    pending: bool,
}

impl Pointwise {
    pub fn new() -> Self {
        Pointwise {
            before: IDENTITY,
            matrix: None,
            after: IDENTITY,
            pending: false,
        }
    }

    /// Adds `op` after those pending; runs them first when both are matrices.
    pub fn push(&mut self, op: Colour, data: &mut [u8], channels: usize) {
        match op {
            Colour::Curve(luts) if self.matrix.is_some() => compose(&mut self.after, &luts),
            Colour::Curve(luts) => compose(&mut self.before, &luts),
            Colour::Matrix(m) => {
                if self.matrix.is_some() {
                    self.flush(data, channels);
                }
                self.matrix = Some(m);
            }
        }
        self.pending = true;
    }

    /// Runs the pending operations on an interleaved 8-bit buffer with `channels` (3 or
    /// 4) channels; alpha is left alone.
    pub fn flush(&mut self, data: &mut [u8], channels: usize) {
        if !self.pending {
            return;
        }
        match (self.matrix, channels) {
            (None, 3) => curves::<3>(data, &self.before),
            (None, _) => curves::<4>(data, &self.before),
            (Some(m), 3) => self.matrix_pass::<3>(data, &m),
            (Some(m), _) => self.matrix_pass::<4>(data, &m),
        }
        *self = Pointwise::new();
    }

    /// `after[c][to_u8(Σ_j m[c][j] · before[j][v_j])]` for every pixel, the products from
    /// tables: nine loads and adds instead of conversions and multiplies.
    fn matrix_pass<const CH: usize>(&self, data: &mut [u8], m: &Matrix) {
        // products[j][v][c] = m[c][j] · before[j][v]; lane 3 is padding, so that a pixel's
        // three sums are one 4-lane add in wasm SIMD.
        let mut products = [[[0f32; 4]; 256]; 3];
        for (j, by_value) in products.iter_mut().enumerate() {
            for (v, p) in by_value.iter_mut().enumerate() {
                for c in 0..3 {
                    p[c] = m[c][j] * f32::from(self.before[j][v]);
                }
            }
        }
        let (pixels, _) = data.as_chunks_mut::<CH>();
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        simd::matrix(pixels, &products, &self.after);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        matrix_scalar(pixels, &products, &self.after);
    }
}

/// The matrix pass one channel at a time: the sum `(p_r + p_g) + p_b` in this order, as
/// `m · (r, g, b)` was computed before products came from tables.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn matrix_scalar<const CH: usize>(
    pixels: &mut [[u8; CH]],
    products: &[[[f32; 4]; 256]; 3],
    after: &Luts,
) {
    let [pr, pg, pb] = products;
    for px in pixels {
        let (r, g, b) = (
            &pr[usize::from(px[0])],
            &pg[usize::from(px[1])],
            &pb[usize::from(px[2])],
        );
        for c in 0..3 {
            px[c] = after[c][usize::from(to_u8(r[c] + g[c] + b[c]))];
        }
    }
}

/// The matrix pass with a pixel's three channels in one 4-lane vector: the same `f32`
/// adds in the same order, and `to_u8`'s rounding and clamping as a saturating
/// truncation and two saturating narrowings, so the bytes equal the scalar pass's.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::Luts;

    pub(super) fn matrix<const CH: usize>(
        pixels: &mut [[u8; CH]],
        products: &[[[f32; 4]; 256]; 3],
        after: &Luts,
    ) {
        let [pr, pg, pb] = products;
        let half = f32x4_splat(0.5);
        for px in pixels {
            // SAFETY: each `[f32; 4]` is 16 readable bytes; `v128_load` has no alignment
            // requirement.
            let (r, g, b) = unsafe {
                (
                    v128_load(pr[usize::from(px[0])].as_ptr().cast()),
                    v128_load(pg[usize::from(px[1])].as_ptr().cast()),
                    v128_load(pb[usize::from(px[2])].as_ptr().cast()),
                )
            };
            let sum = f32x4_add(f32x4_add(f32x4_add(r, g), b), half);
            let ints = i32x4_trunc_sat_f32x4(sum);
            let shorts = i16x8_narrow_i32x4(ints, ints);
            let bytes = u8x16_narrow_i16x8(shorts, shorts);
            px[0] = after[0][usize::from(u8x16_extract_lane::<0>(bytes))];
            px[1] = after[1][usize::from(u8x16_extract_lane::<1>(bytes))];
            px[2] = after[2][usize::from(u8x16_extract_lane::<2>(bytes))];
        }
    }
}

/// `luts` after `into`, as one table per channel.
fn compose(into: &mut Luts, luts: &Luts) {
    for (first, then) in into.iter_mut().zip(luts) {
        for v in first.iter_mut() {
            *v = then[usize::from(*v)];
        }
    }
}

fn curves<const CH: usize>(data: &mut [u8], luts: &Luts) {
    let (pixels, _) = data.as_chunks_mut::<CH>();
    for px in pixels {
        for c in 0..3 {
            px[c] = luts[c][usize::from(px[c])];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::matrix::{curve, grayscale, hue_rotate, saturate, sepia};

    /// The operations one after another, a pass each (what the chain did before runs
    /// were fused): the reference the fused passes must equal bit for bit.
    fn one_by_one(data: &mut [u8], channels: usize, ops: &[Colour]) {
        for op in ops {
            for px in data.chunks_exact_mut(channels) {
                match op {
                    Colour::Curve(luts) => {
                        for c in 0..3 {
                            px[c] = luts[c][usize::from(px[c])];
                        }
                    }
                    Colour::Matrix(m) => {
                        let (r, g, b) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
                        for (c, row) in px.iter_mut().zip(m) {
                            *c = to_u8(row[0] * r + row[1] * g + row[2] * b);
                        }
                    }
                }
            }
        }
    }

    /// A little xorshift, so the test needs no crate and always sees the same numbers.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn unit(&mut self) -> f32 {
            (self.next() % 10_000) as f32 / 10_000.0
        }
    }

    fn random_op(rng: &mut Rng) -> Colour {
        let v = rng.unit();
        match rng.next() % 7 {
            0 => curve(move |c| c * (v * 3.0)),
            1 => curve(move |c| (c - 0.5) * (v * 4.0) + 0.5),
            2 => curve(move |c| c.max(0.0).powf(0.2 + v * 3.0)),
            3 => Colour::Matrix(saturate(v * 4.0)),
            4 => Colour::Matrix(hue_rotate(v * 720.0 - 360.0)),
            5 => Colour::Matrix(if v < 0.5 {
                grayscale(v * 2.0)
            } else {
                sepia(v)
            }),
            _ => {
                // Another table per channel, as an overlay makes.
                let mut luts = [[0u8; 256]; 3];
                for lut in &mut luts {
                    let k = rng.unit();
                    for (i, o) in lut.iter_mut().enumerate() {
                        *o = to_u8((i as f32 * (0.5 + k)).min(255.0));
                    }
                }
                Colour::Curve(luts)
            }
        }
    }

    #[test]
    fn fused_runs_equal_the_operations_one_by_one() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..300 {
            let channels = if case % 3 == 0 { 4 } else { 3 };
            let pixels: Vec<u8> = (0..channels * 517).map(|_| rng.next() as u8).collect();
            let ops: Vec<Colour> = (0..1 + rng.next() % 6)
                .map(|_| random_op(&mut rng))
                .collect();
            let mut want = pixels.clone();
            one_by_one(&mut want, channels, &ops);
            let mut got = pixels.clone();
            let mut run = Pointwise::new();
            for op in &ops {
                run.push(*op, &mut got, channels);
            }
            run.flush(&mut got, channels);
            assert_eq!(
                got,
                want,
                "case {case}: {} ops on {channels} channels",
                ops.len()
            );
            if channels == 4 {
                let alpha = |d: &[u8]| d.iter().skip(3).step_by(4).copied().collect::<Vec<_>>();
                assert_eq!(alpha(&got), alpha(&pixels), "alpha is left alone");
            }
        }
    }

    #[test]
    fn nothing_pending_changes_nothing() {
        let mut data: Vec<u8> = (0..=255).collect();
        let before = data.clone();
        Pointwise::new().flush(&mut data[..255], 3);
        assert_eq!(data, before);
    }
}

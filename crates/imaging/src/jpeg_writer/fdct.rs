//! The forward DCT and quantisation of one 8x8 block, in `f32`: libjpeg's floating-point
//! AAN transform (`jfdctflt.c`, Arai, Agui and Nakajima), whose output scale factors are
//! folded into the quantisation multipliers, as libjpeg's float path does.
//!
//! Each 1-D pass works on whole rows (`[f32; 8]`, one lane per column), so every step is
//! the same operation on eight lanes, which the compiler turns into SIMD (two `f32x4`
//! per row in wasm with simd128, SSE natively). The first pass runs down the columns;
//! after a transpose the second runs along the rows, so the result is transposed:
//! coefficient (row `u`, column `v`) lands at `[v][u]`. The zigzag order of the writer
//! reads it from there ([`transposed_index`]), so no second transpose is needed.

use std::f32::consts::FRAC_1_SQRT_2;

/// An 8x8 block of samples minus 128, or of coefficients.
pub(super) type Block = [[f32; 8]; 8];

/// Eight lanes of `f32`: a row of a block, one lane per column. The DCT is written once
/// over this; `[f32; 8]` is the portable form, two `f32x4` the wasm SIMD one.
trait Lanes: Copy {
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, k: f32) -> Self;
}

impl Lanes for [f32; 8] {
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        std::array::from_fn(|i| self[i] + b[i])
    }
    #[inline(always)]
    fn sub(self, b: Self) -> Self {
        std::array::from_fn(|i| self[i] - b[i])
    }
    #[inline(always)]
    fn mul(self, k: f32) -> Self {
        self.map(|v| v * k)
    }
}

/// One 1-D AAN DCT down the columns of `d` (`jfdctflt.c`'s pass, lane by lane).
#[inline(always)]
fn pass<R: Lanes>(d: &[R; 8]) -> [R; 8] {
    let tmp0 = d[0].add(d[7]);
    let tmp7 = d[0].sub(d[7]);
    let tmp1 = d[1].add(d[6]);
    let tmp6 = d[1].sub(d[6]);
    let tmp2 = d[2].add(d[5]);
    let tmp5 = d[2].sub(d[5]);
    let tmp3 = d[3].add(d[4]);
    let tmp4 = d[3].sub(d[4]);

    // Even part.
    let tmp10 = tmp0.add(tmp3);
    let tmp13 = tmp0.sub(tmp3);
    let tmp11 = tmp1.add(tmp2);
    let tmp12 = tmp1.sub(tmp2);
    let z1 = tmp12.add(tmp13).mul(FRAC_1_SQRT_2);
    let out0 = tmp10.add(tmp11);
    let out4 = tmp10.sub(tmp11);
    let out2 = tmp13.add(z1);
    let out6 = tmp13.sub(z1);

    // Odd part.
    let tmp10 = tmp4.add(tmp5);
    let tmp11 = tmp5.add(tmp6);
    let tmp12 = tmp6.add(tmp7);
    let z5 = tmp10.sub(tmp12).mul(0.382_683_43);
    let z2 = tmp10.mul(0.541_196_1).add(z5);
    let z4 = tmp12.mul(1.306_562_9).add(z5);
    let z3 = tmp11.mul(FRAC_1_SQRT_2);
    let z11 = tmp7.add(z3);
    let z13 = tmp7.sub(z3);
    [
        out0,
        z11.add(z4),
        out2,
        z13.sub(z2),
        out4,
        z13.add(z2),
        out6,
        z11.sub(z4),
    ]
}

#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)] // tests compare the SIMD form with it
fn transpose(b: &Block) -> Block {
    std::array::from_fn(|r| std::array::from_fn(|c| b[c][r]))
}

/// The DCT of `samples`, transposed and scaled by the AAN factors (see the module).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)] // tests compare the SIMD form with it
#[inline]
pub(super) fn fdct(samples: &Block) -> Block {
    pass(&transpose(&pass(samples)))
}

/// [`quantise`] of [`fdct`] in one step: in wasm with simd128, the whole block in
/// `f32x4` registers from the samples to the rounded coefficients.
#[inline]
pub(super) fn fdct_quantised(samples: &Block, multipliers: &Block) -> [i32; 64] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd::fdct_quantised(samples, multipliers);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    quantise(&fdct(samples), multipliers)
}

/// Where coefficient `natural` (row-major index) is in [`fdct`]'s output.
pub(super) const fn transposed_index(natural: usize) -> usize {
    (natural % 8) * 8 + natural / 8
}

/// Multipliers that turn [`fdct`]'s output into quantised coefficients, in its
/// (transposed) layout: 1 / (q · s(u) · s(v) · 8), `s` the AAN scale factors
/// (`jcdctmgr.c`).
pub(super) fn multipliers(q: &[u8; 64]) -> Block {
    const AAN: [f64; 8] = [
        1.0,
        1.387_039_845,
        1.306_562_965,
        1.175_875_602,
        1.0,
        0.785_694_958,
        0.541_196_100,
        0.275_899_379,
    ];
    let mut m = [[0f32; 8]; 8];
    for (n, &q) in q.iter().enumerate() {
        let (u, v) = (n / 8, n % 8);
        let t = transposed_index(n);
        m[t / 8][t % 8] = (1.0 / (f64::from(q) * AAN[u] * AAN[v] * 8.0)) as f32;
    }
    m
}

/// `v` rounded to the nearest integer, ties to even: one `f32.nearest` in wasm; natively
/// (for |v| < 2^22) adding and taking away 1.5 · 2^23, which leaves no fraction bits and
/// vectorises, where `round_ties_even` is a libm call on x86-64 without SSE4.1.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)] // tests compare the SIMD form with it
#[inline(always)]
fn round(v: f32) -> f32 {
    if cfg!(target_arch = "wasm32") {
        v.round_ties_even()
    } else {
        const MAGIC: f32 = 12_582_912.0;
        (v + MAGIC) - MAGIC
    }
}

/// The quantised coefficients, rounded to nearest (ties to even), in [`fdct`]'s layout.
/// Values are clamped to what baseline Huffman coding can carry: a DC in
/// -1024..=1023 (so a difference fits 11 bits) and an AC within ±1023 (10 bits).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)] // tests compare the SIMD form with it
#[inline]
pub(super) fn quantise(coefficients: &Block, multipliers: &Block) -> [i32; 64] {
    let mut out = [0i32; 64];
    for (r, (row, m)) in coefficients.iter().zip(multipliers).enumerate() {
        for c in 0..8 {
            out[r * 8 + c] = (round(row[c] * m[c]) as i32).clamp(-1023, 1023);
        }
    }
    out[0] = (round(coefficients[0][0] * multipliers[0][0]) as i32).clamp(-1024, 1023);
    out
}

/// The DCT in `f32x4` pairs: each row is two vectors (columns 0-3, 4-7), the transpose
/// four 4x4 transposes by shuffles, the quantisation a multiply, `f32x4.nearest`, a
/// saturating conversion and a clamp. Same operations in the same order as the portable
/// form, so the same coefficients (tests/simd.rs runs both in wasm).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{Block, Lanes, pass};

    #[derive(Clone, Copy)]
    struct Pair(v128, v128);

    impl Lanes for Pair {
        #[inline(always)]
        fn add(self, b: Self) -> Self {
            Pair(f32x4_add(self.0, b.0), f32x4_add(self.1, b.1))
        }
        #[inline(always)]
        fn sub(self, b: Self) -> Self {
            Pair(f32x4_sub(self.0, b.0), f32x4_sub(self.1, b.1))
        }
        #[inline(always)]
        fn mul(self, k: f32) -> Self {
            let k = f32x4_splat(k);
            Pair(f32x4_mul(self.0, k), f32x4_mul(self.1, k))
        }
    }

    #[inline(always)]
    fn load(row: &[f32; 8]) -> Pair {
        // SAFETY: 32 readable bytes; `v128_load` has no alignment requirement.
        unsafe {
            Pair(
                v128_load(row.as_ptr().cast()),
                v128_load(row.as_ptr().add(4).cast()),
            )
        }
    }

    /// The 4x4 transpose of rows `a`..`d`.
    #[inline(always)]
    fn transpose4(a: v128, b: v128, c: v128, d: v128) -> [v128; 4] {
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(a, b);
        let t1 = i32x4_shuffle::<2, 6, 3, 7>(a, b);
        let t2 = i32x4_shuffle::<0, 4, 1, 5>(c, d);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(c, d);
        [
            i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
            i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
            i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
            i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
        ]
    }

    #[inline(always)]
    fn transpose(r: &[Pair; 8]) -> [Pair; 8] {
        let a = transpose4(r[0].0, r[1].0, r[2].0, r[3].0); // rows 0-3, columns 0-3
        let b = transpose4(r[0].1, r[1].1, r[2].1, r[3].1); // rows 0-3, columns 4-7
        let c = transpose4(r[4].0, r[5].0, r[6].0, r[7].0); // rows 4-7, columns 0-3
        let d = transpose4(r[4].1, r[5].1, r[6].1, r[7].1); // rows 4-7, columns 4-7
        [
            Pair(a[0], c[0]),
            Pair(a[1], c[1]),
            Pair(a[2], c[2]),
            Pair(a[3], c[3]),
            Pair(b[0], d[0]),
            Pair(b[1], d[1]),
            Pair(b[2], d[2]),
            Pair(b[3], d[3]),
        ]
    }

    pub(super) fn fdct_quantised(samples: &Block, multipliers: &Block) -> [i32; 64] {
        let rows: [Pair; 8] = std::array::from_fn(|r| load(&samples[r]));
        let out = pass(&transpose(&pass(&rows)));
        let mut q = [0i32; 64];
        let (lo, hi) = (i32x4_splat(-1023), i32x4_splat(1023));
        for (r, (row, m)) in out.iter().zip(multipliers).enumerate() {
            let m = load(m);
            for (half, (v, k)) in [(row.0, m.0), (row.1, m.1)].into_iter().enumerate() {
                let v = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v, k)));
                let v = i32x4_min(i32x4_max(v, lo), hi);
                // SAFETY: `r * 8 + half * 4 + 3` < 64.
                unsafe { v128_store(q.as_mut_ptr().add(r * 8 + half * 4).cast(), v) };
            }
        }
        q[0] = (f32x4_extract_lane::<0>(out[0].0) * multipliers[0][0])
            .round_ties_even()
            .clamp(-1024.0, 1023.0) as i32;
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DCT-II straight from its definition (Annex A.3.3), in f64.
    fn reference(samples: &Block) -> [f64; 64] {
        let c = |k: usize| {
            if k == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            }
        };
        let mut out = [0f64; 64];
        for u in 0..8 {
            for v in 0..8 {
                let mut s = 0.0;
                for (y, row) in samples.iter().enumerate() {
                    for (x, &p) in row.iter().enumerate() {
                        s += f64::from(p)
                            * (((2 * y + 1) as f64 * u as f64 * std::f64::consts::PI) / 16.0).cos()
                            * (((2 * x + 1) as f64 * v as f64 * std::f64::consts::PI) / 16.0).cos();
                    }
                }
                out[u * 8 + v] = 0.25 * c(u) * c(v) * s;
            }
        }
        out
    }

    #[test]
    fn quantised_dct_equals_the_definition() {
        let mut rng = crate::testkit::Rng::new(5);
        let flat = [1u8; 64];
        let m = multipliers(&flat);
        for case in 0..500 {
            let samples: Block = std::array::from_fn(|_| {
                std::array::from_fn(|_| {
                    let state = rng.next_u64();
                    // Photo-like blocks and full-range noise.
                    let v = if case % 2 == 0 {
                        (state % 40) as f32 + 100.0
                    } else {
                        (state % 256) as f32
                    };
                    v - 128.0
                })
            });
            let got = fdct_quantised(&samples, &m);
            // In a wasm build with simd128, the SIMD form against the portable one.
            assert_eq!(got, quantise(&fdct(&samples), &m), "case {case}");
            let want = reference(&samples);
            for n in 0..64 {
                let w = want[n].clamp(-1024.0, 1023.0);
                let g = got[transposed_index(n)];
                assert!(
                    (f64::from(g) - w).abs() <= 0.51 + w.abs() * 1e-5,
                    "case {case} coefficient {n}: {g} vs {w}"
                );
            }
        }
    }
}

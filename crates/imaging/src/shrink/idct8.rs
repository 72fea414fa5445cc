//! The full 8×8 inverse DCT of a full-size decode: libjpeg's `jpeg_idct_islow`
//! (`jidctint.c`, what Pillow's libjpeg-turbo runs by default) in the form
//! libjpeg-turbo's SIMD code gives it (`jidctint-sse2.asm`): 16-bit samples, and each
//! rotation rewritten as a sum of two products, `a * k1 + b * k2`, one pairwise
//! multiply-add (`i32x4_dot_i16x8`) for four lanes. The rewrites are exact integer
//! identities, so the result is `jidctint.c`'s, to the level, for every coefficient a
//! JPEG encoder produces (dequantised values within 16 bits; the `.pillow.png` fixtures
//! of `tests/jpeg_scaled.rs` check it).
//!
//! The scalar code is the same arithmetic a lane at a time, 16-bit wrapping and
//! saturating steps included, so the wasm SIMD form equals it bit for bit on any input,
//! hostile ones too (tested in wasm). Columns first, then rows, as libjpeg.

/// libjpeg's 13-bit constants, in the combinations the pairwise products take:
/// `F130 = FIX(0.541196100 + 0.765366865)`, `MF130 = FIX(0.541196100 - 1.847759065)`…
const F054: i32 = 4433;
const F130: i32 = 4433 + 6270;
const MF130: i32 = 4433 - 15137;
const F117: i32 = 9633;
const MF078: i32 = 9633 - 16069;
const F078: i32 = 9633 - 3196;
const MF089: i32 = -7373;
const MF060: i32 = 2446 - 7373;
const F060: i32 = 12299 - 7373;
const MF256: i32 = -20995;
const MF050: i32 = 16819 - 20995;
const F050: i32 = 25172 - 20995;

const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;
/// Pass 1 descales by this; pass 2 by [`SHIFT2`], with the +128 level shift folded into
/// its rounding bias.
const SHIFT1: u32 = CONST_BITS - PASS1_BITS;
const SHIFT2: u32 = CONST_BITS + PASS1_BITS + 3;
const ROUND1: i32 = 1 << (SHIFT1 - 1);
const BIAS2: i32 = (1 << (SHIFT2 - 1)) + (128 << SHIFT2);

/// One 8-point inverse DCT of 16-bit samples `s` (lanes of any width): the eight outputs
/// before their descale, as 32-bit sums. `add16`/`sub16` wrap at 16 bits, `dot(a, b, k1,
/// k2)` is `a * k1 + b * k2` in 32 bits, `widen(x)` is `x << CONST_BITS` in 32 bits.
macro_rules! islow16 {
    ($s:expr, $add16:expr, $sub16:expr, $dot:expr, $widen:expr, $add:expr, $sub:expr) => {{
        let [s0, s1, s2, s3, s4, s5, s6, s7] = $s;
        let (add16, sub16, dot, widen, add, sub) = ($add16, $sub16, $dot, $widen, $add, $sub);
        // Even part: z1 = (s2 + s6) * 0.541, tmp2 = z1 - s6 * 1.848, tmp3 = z1 + s2 * 0.765.
        let tmp3 = dot(s2, s6, F130, F054);
        let tmp2 = dot(s2, s6, F054, MF130);
        let tmp0 = widen(add16(s0, s4));
        let tmp1 = widen(sub16(s0, s4));
        let (tmp10, tmp13) = (add(tmp0, tmp3), sub(tmp0, tmp3));
        let (tmp11, tmp12) = (add(tmp1, tmp2), sub(tmp1, tmp2));
        // Odd part, libjpeg's z5 folded into z3 and z4, and z1 and z2 into the products.
        let (t0, t1, t2, t3) = (s7, s5, s3, s1);
        let (zs3, zs4) = (add16(t0, t2), add16(t1, t3));
        let z3 = dot(zs3, zs4, MF078, F117);
        let z4 = dot(zs3, zs4, F117, F078);
        let t0m = add(dot(t0, t3, MF060, MF089), z3);
        let t3m = add(dot(t0, t3, MF089, F060), z4);
        let t1m = add(dot(t1, t2, MF050, MF256), z4);
        let t2m = add(dot(t1, t2, MF256, F050), z3);
        [
            add(tmp10, t3m),
            add(tmp11, t2m),
            add(tmp12, t1m),
            add(tmp13, t0m),
            sub(tmp13, t0m),
            sub(tmp12, t1m),
            sub(tmp11, t2m),
            sub(tmp10, t3m),
        ]
    }};
}

/// The 8×8 samples of the dequantised coefficients `c` (natural row-major order),
/// written to `out` at `stride` bytes per row. `corner`: the caller knows that only the
/// top-left 4×4 coefficients may be non-zero (a third of a photo's blocks); SIMD then
/// skips what is known to be zero, the scalar code ignores it.
#[inline(always)]
pub(super) fn idct8x8(c: &[i16; 64], corner: bool, out: &mut [u8], stride: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if corner {
        simd::idct8x8::<true>(c, out, stride);
    } else {
        simd::idct8x8::<false>(c, out, stride);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let _ = corner;
        idct8x8_scalar(c, out, stride);
    }
}

/// [`idct8x8`] a lane at a time: what native builds run, and the reference the wasm
/// SIMD form must equal bit for bit.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(super) fn idct8x8_scalar(c: &[i16; 64], out: &mut [u8], stride: usize) {
    let add16 = i16::wrapping_add;
    let sub16 = i16::wrapping_sub;
    // `i32x4_dot_i16x8`: each product is exact in 32 bits, their sum wraps.
    let dot =
        |a: i16, b: i16, k1: i32, k2: i32| (i32::from(a) * k1).wrapping_add(i32::from(b) * k2);
    let widen = |x: i16| i32::from(x) << CONST_BITS;
    let add = i32::wrapping_add;
    let sub = i32::wrapping_sub;
    let mut ws = [0i16; 64];
    for col in 0..8 {
        let s: [i16; 8] = std::array::from_fn(|r| c[r * 8 + col]);
        let o = islow16!(s, add16, sub16, dot, widen, add, sub);
        for (r, v) in o.into_iter().enumerate() {
            // Saturated to 16 bits, as `i16x8_narrow_i32x4`.
            ws[r * 8 + col] = (v.wrapping_add(ROUND1) >> SHIFT1).clamp(-32768, 32767) as i16;
        }
    }
    for (r, row) in ws.chunks_exact(8).enumerate() {
        let Some(o) = out.get_mut(r * stride..r * stride + 8) else {
            return;
        };
        let s: [i16; 8] = std::array::from_fn(|k| row[k]);
        let v = islow16!(s, add16, sub16, dot, widen, add, sub);
        for (o, v) in o.iter_mut().zip(v) {
            *o = (v.wrapping_add(BIAS2) >> SHIFT2).clamp(0, 255) as u8;
        }
    }
}

/// [`idct8x8_scalar`] on wasm SIMD: pass 1 has the eight columns in the lanes of each
/// row, pass 2 the eight rows in the lanes of each column (an 8×8 transpose between),
/// and a byte transpose brings the samples back to rows.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::*;

    /// Four 32-bit lanes for each half of an `i16x8`.
    #[derive(Clone, Copy)]
    struct Wide(v128, v128);

    #[inline(always)]
    fn dot(a: v128, b: v128, k1: i32, k2: i32) -> Wide {
        let k = i32x4_splat((k1 & 0xFFFF) | (k2 << 16));
        let lo = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b);
        let hi = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b);
        Wide(i32x4_dot_i16x8(lo, k), i32x4_dot_i16x8(hi, k))
    }

    #[inline(always)]
    fn widen(x: v128) -> Wide {
        Wide(
            i32x4_shl(i32x4_extend_low_i16x8(x), CONST_BITS),
            i32x4_shl(i32x4_extend_high_i16x8(x), CONST_BITS),
        )
    }

    #[inline(always)]
    fn add(a: Wide, b: Wide) -> Wide {
        Wide(i32x4_add(a.0, b.0), i32x4_add(a.1, b.1))
    }

    #[inline(always)]
    fn sub(a: Wide, b: Wide) -> Wide {
        Wide(i32x4_sub(a.0, b.0), i32x4_sub(a.1, b.1))
    }

    /// `(v + bias) >> shift`, saturated to 16 bits.
    #[inline(always)]
    fn descale(v: Wide, bias: i32, shift: u32) -> v128 {
        let b = i32x4_splat(bias);
        i16x8_narrow_i32x4(
            i32x4_shr(i32x4_add(v.0, b), shift),
            i32x4_shr(i32x4_add(v.1, b), shift),
        )
    }

    /// The columns of the 8×8 matrix of 16-bit values whose rows are `r`.
    #[inline(always)]
    fn transpose(r: [v128; 8]) -> [v128; 8] {
        let a0 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(r[0], r[1]);
        let a1 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(r[0], r[1]);
        let a2 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(r[2], r[3]);
        let a3 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(r[2], r[3]);
        let a4 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(r[4], r[5]);
        let a5 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(r[4], r[5]);
        let a6 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(r[6], r[7]);
        let a7 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(r[6], r[7]);
        let b0 = i32x4_shuffle::<0, 4, 1, 5>(a0, a2);
        let b1 = i32x4_shuffle::<2, 6, 3, 7>(a0, a2);
        let b2 = i32x4_shuffle::<0, 4, 1, 5>(a1, a3);
        let b3 = i32x4_shuffle::<2, 6, 3, 7>(a1, a3);
        let b4 = i32x4_shuffle::<0, 4, 1, 5>(a4, a6);
        let b5 = i32x4_shuffle::<2, 6, 3, 7>(a4, a6);
        let b6 = i32x4_shuffle::<0, 4, 1, 5>(a5, a7);
        let b7 = i32x4_shuffle::<2, 6, 3, 7>(a5, a7);
        [
            i64x2_shuffle::<0, 2>(b0, b4),
            i64x2_shuffle::<1, 3>(b0, b4),
            i64x2_shuffle::<0, 2>(b1, b5),
            i64x2_shuffle::<1, 3>(b1, b5),
            i64x2_shuffle::<0, 2>(b2, b6),
            i64x2_shuffle::<1, 3>(b2, b6),
            i64x2_shuffle::<0, 2>(b3, b7),
            i64x2_shuffle::<1, 3>(b3, b7),
        ]
    }

    /// `CORNER`: rows and columns 4..8 of `c` are zero, and so are columns 4..8 after
    /// pass 1; the compiler folds the arithmetic on those zeros away.
    #[inline(always)]
    pub(super) fn idct8x8<const CORNER: bool>(c: &[i16; 64], out: &mut [u8], stride: usize) {
        // One check for every row before any arithmetic: a branch between the arithmetic
        // and a store makes Cranelift compute it all again for the next store.
        if stride
            .checked_mul(7)
            .and_then(|n| n.checked_add(8))
            .is_none_or(|n| n > out.len())
        {
            return;
        }
        let zero = i16x8_splat(0);
        let row = |r: usize| {
            if CORNER && r >= 4 {
                zero
            } else {
                // SAFETY: r < 8, so the 8 values at 8r are inside `c`.
                unsafe { v128_load(c.as_ptr().add(8 * r).cast()) }
            }
        };
        let (add16, sub16) = (i16x8_add, i16x8_sub);
        let s = [
            row(0),
            row(1),
            row(2),
            row(3),
            row(4),
            row(5),
            row(6),
            row(7),
        ];
        let o = islow16!(s, add16, sub16, dot, widen, add, sub);
        let d1 = |v: Wide| descale(v, ROUND1, SHIFT1);
        let ws = [
            d1(o[0]),
            d1(o[1]),
            d1(o[2]),
            d1(o[3]),
            d1(o[4]),
            d1(o[5]),
            d1(o[6]),
            d1(o[7]),
        ];
        let t = transpose(ws);
        let s = if CORNER {
            [t[0], t[1], t[2], t[3], zero, zero, zero, zero]
        } else {
            t
        };
        let o = islow16!(s, add16, sub16, dot, widen, add, sub);
        let d2 = |v: Wide| descale(v, BIAS2, SHIFT2);
        // Two columns per vector (lanes: rows), clamped to bytes.
        let p = [
            u8x16_narrow_i16x8(d2(o[0]), d2(o[1])),
            u8x16_narrow_i16x8(d2(o[2]), d2(o[3])),
            u8x16_narrow_i16x8(d2(o[4]), d2(o[5])),
            u8x16_narrow_i16x8(d2(o[6]), d2(o[7])),
        ];
        // Byte transpose: pairs of columns per row, then fours, then rows.
        let pair =
            |v: v128| u8x16_shuffle::<0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15>(v, v);
        let (a, b, c, d) = (pair(p[0]), pair(p[1]), pair(p[2]), pair(p[3]));
        let e0 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b);
        let e1 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b);
        let f0 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(c, d);
        let f1 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(c, d);
        let rows = [
            i32x4_shuffle::<0, 4, 1, 5>(e0, f0),
            i32x4_shuffle::<2, 6, 3, 7>(e0, f0),
            i32x4_shuffle::<0, 4, 1, 5>(e1, f1),
            i32x4_shuffle::<2, 6, 3, 7>(e1, f1),
        ];
        let p = out.as_mut_ptr();
        for (i, v) in rows.into_iter().enumerate() {
            // SAFETY: rows 0..8 of 8 bytes at `stride` are inside `out` (checked above).
            unsafe {
                v128_store64_lane::<0>(v, p.add(2 * i * stride).cast());
                v128_store64_lane::<1>(v, p.add((2 * i + 1) * stride).cast());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks as an encoder makes them: the float DCT of random 8×8 samples (smooth or
    /// noisy), quantised by a random table and dequantised again.
    fn encoded_block(next: &mut impl FnMut() -> u64) -> [i16; 64] {
        let smooth = next().is_multiple_of(2);
        let base = (next() % 256) as f64;
        let samples: [f64; 64] = std::array::from_fn(|i| {
            let v = if smooth {
                base + (i % 8) as f64 * ((next() % 9) as f64 - 4.0) + (i / 8) as f64 * 3.0
            } else {
                (next() % 256) as f64
            };
            v.clamp(0.0, 255.0) - 128.0
        });
        let q = 1 + (next() % 100) as i32;
        std::array::from_fn(|k| {
            let (u, v) = ((k / 8) as f64, (k % 8) as f64);
            let cu = if u == 0.0 { 0.5f64.sqrt() } else { 1.0 };
            let cv = if v == 0.0 { 0.5f64.sqrt() } else { 1.0 };
            let mut sum = 0.0;
            for (i, s) in samples.iter().enumerate() {
                let (y, x) = ((i / 8) as f64, (i % 8) as f64);
                sum += s
                    * ((2.0 * y + 1.0) * u * std::f64::consts::PI / 16.0).cos()
                    * ((2.0 * x + 1.0) * v * std::f64::consts::PI / 16.0).cos();
            }
            let coef = 0.25 * cu * cv * sum;
            ((coef / f64::from(q)).round() as i32 * q) as i16
        })
    }

    /// A block without AC coefficients is flat, at the DC sample the decoders' shortcut
    /// writes for it.
    #[test]
    fn dc_only_is_flat() {
        for dc in [-1024i16, -523, -1, 0, 7, 100, 1016] {
            let mut c = [0; 64];
            c[0] = dc;
            for corner in [false, true] {
                let mut out = [0u8; 64];
                idct8x8(&c, corner, &mut out, 8);
                let want = super::super::idct::dc_sample(i32::from(dc));
                assert!(out.iter().all(|&v| v == want), "{dc}: {out:?}");
            }
        }
    }

    /// The IDCT of an encoded block is the block's samples, within the quantisation's
    /// error (a sanity check of the arithmetic against the textbook transform).
    #[test]
    fn inverts_the_dct() {
        let mut rng = crate::testkit::Rng::new(1);
        let mut next = || rng.next_u64();
        for _ in 0..2000 {
            let c = encoded_block(&mut next);
            let mut out = [0u8; 64];
            idct8x8(&c, false, &mut out, 8);
            // Reference: the float IDCT of the same coefficients.
            for (i, &got) in out.iter().enumerate() {
                let (y, x) = ((i / 8) as f64, (i % 8) as f64);
                let mut sum = 0.0;
                for (k, &coef) in c.iter().enumerate() {
                    let (u, v) = ((k / 8) as f64, (k % 8) as f64);
                    let cu = if u == 0.0 { 0.5f64.sqrt() } else { 1.0 };
                    let cv = if v == 0.0 { 0.5f64.sqrt() } else { 1.0 };
                    sum += cu
                        * cv
                        * f64::from(coef)
                        * ((2.0 * y + 1.0) * u * std::f64::consts::PI / 16.0).cos()
                        * ((2.0 * x + 1.0) * v * std::f64::consts::PI / 16.0).cos();
                }
                let want = (0.25 * sum + 128.0).round().clamp(0.0, 255.0);
                assert!((f64::from(got) - want).abs() <= 1.0, "{i}: {got} vs {want}");
            }
        }
    }

    /// The wasm SIMD IDCT equals the scalar one bit for bit: on encoded blocks, on
    /// blocks within the 4×4 corner (also through the `CORNER` form), and on hostile
    /// values that wrap and saturate.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd_equals_the_scalar_one() {
        let mut rng = crate::testkit::Rng::new(2);
        let mut next = || rng.next_u64();
        for n in 0..60_000 {
            let mut c = match n % 3 {
                0 => encoded_block(&mut next),
                1 => std::array::from_fn(|_| (next() % 2048) as i16 - 1024),
                _ => std::array::from_fn(|_| next() as i16), // hostile
            };
            if n % 2 == 0 {
                for (i, v) in c.iter_mut().enumerate() {
                    if i / 8 >= 4 || i % 8 >= 4 {
                        *v = 0;
                    }
                }
            }
            let (mut a, mut b) = ([0u8; 8 * 12], [0u8; 8 * 12]);
            idct8x8_scalar(&c, &mut a, 12);
            simd::idct8x8::<false>(&c, &mut b, 12);
            assert_eq!(a, b, "{c:?}");
            if n % 2 == 0 {
                simd::idct8x8::<true>(&c, &mut b, 12);
                assert_eq!(a, b, "corner {c:?}");
            }
        }
    }
}

//! Inverse DCTs: an 8×8 block to its 8×8 samples (libjpeg's `jidctint.c`, what Pillow's
//! libjpeg-turbo runs by default), or straight to 4×4, 2×2 or 1×1 samples from its
//! lowest 16, 4 or 1 dequantised coefficients (the others are never even stored).
//!
//! The 4×4 and 2×2 kernels are `jpeg-decoder`'s (Dugad and Ahuja's scheme, with
//! libjpeg's `jidctint.c` constants), so our output stays within a level of its scaled
//! decode; the 1×1 one rounds like libjpeg (`jpeg-decoder` truncates).
//! Hostile coefficients wrap instead of overflowing: garbage out, never a panic.

/// The sample of a block whose only coefficient is the dequantised DC `dc`.
#[inline(always)]
pub(super) fn dc_sample(dc: i32) -> u8 {
    (dc.wrapping_add(4) >> 3).wrapping_add(128).clamp(0, 255) as u8
}

const CONST_BITS: u32 = 12;
const PASS1_BITS: u32 = 2;
const FINAL_BITS: u32 = CONST_BITS + PASS1_BITS + 3;
// round(4096 * x) as `jpeg-decoder` computes it (truncating toward zero).
const C0_541: i32 = 2217; // 0.541196100
const C1_847: i32 = -7567; // -1.847759065
const C0_765: i32 = 3135; // 0.765366865

// libjpeg's `jidctint.c`: 13-bit constants, 2 extra bits between the passes.
const ISLOW_CONST_BITS: u32 = 13;
const ISLOW_PASS1_BITS: u32 = 2;
const FIX_0_298: i32 = 2446;
const FIX_0_390: i32 = 3196;
const FIX_0_541: i32 = 4433;
const FIX_0_765: i32 = 6270;
const FIX_0_899: i32 = 7373;
const FIX_1_175: i32 = 9633;
const FIX_1_501: i32 = 12299;
const FIX_1_847: i32 = 15137;
const FIX_1_961: i32 = 16069;
const FIX_2_053: i32 = 16819;
const FIX_2_562: i32 = 20995;
const FIX_3_072: i32 = 25172;

/// One 8-point inverse DCT of `jidctint.c` on `s` (any lane type with the arithmetic
/// below): the outputs before their final descale, in order 0..8. Shared by the scalar
/// and SIMD forms so that both run the very same operations.
macro_rules! islow_1d {
    ($s:expr, $add:expr, $sub:expr, $mul:expr, $shl:expr) => {{
        let [s0, s1, s2, s3, s4, s5, s6, s7] = $s;
        let (add, sub, mul, shl) = ($add, $sub, $mul, $shl);
        // Even part.
        let z1 = mul(add(s2, s6), FIX_0_541);
        let tmp2 = add(z1, mul(s6, -FIX_1_847));
        let tmp3 = add(z1, mul(s2, FIX_0_765));
        let tmp0 = shl(add(s0, s4));
        let tmp1 = shl(sub(s0, s4));
        let (tmp10, tmp13) = (add(tmp0, tmp3), sub(tmp0, tmp3));
        let (tmp11, tmp12) = (add(tmp1, tmp2), sub(tmp1, tmp2));
        // Odd part.
        let (t0, t1, t2, t3) = (s7, s5, s3, s1);
        let z5 = mul(add(add(t0, t2), add(t1, t3)), FIX_1_175);
        let z1 = mul(add(t0, t3), -FIX_0_899);
        let z2 = mul(add(t1, t2), -FIX_2_562);
        let z3 = add(mul(add(t0, t2), -FIX_1_961), z5);
        let z4 = add(mul(add(t1, t3), -FIX_0_390), z5);
        let t0 = add(mul(t0, FIX_0_298), add(z1, z3));
        let t1 = add(mul(t1, FIX_2_053), add(z2, z4));
        let t2 = add(mul(t2, FIX_3_072), add(z2, z3));
        let t3 = add(mul(t3, FIX_1_501), add(z1, z4));
        [
            add(tmp10, t3),
            add(tmp11, t2),
            add(tmp12, t1),
            add(tmp13, t0),
            sub(tmp13, t0),
            sub(tmp12, t1),
            sub(tmp11, t2),
            sub(tmp10, t3),
        ]
    }};
}

/// 4×4 samples from the 4×4 lowest coefficients `c` (row-major, vertical frequency
/// first), written to `out` at `stride` bytes per row.
///
/// In wasm with `simd128`, the same arithmetic four lanes at a time ([`simd`]): LLVM does
/// not vectorise the scalar loops, and this IDCT was a fifth of a 1/2-scale decode.
#[inline(always)]
pub(super) fn idct4x4(c: &[i32; 16], out: &mut [u8], stride: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::idct4x4(c, out, stride);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    idct4x4_scalar(c, out, stride);
}

/// The scalar [`idct4x4`]: what native builds run, and the reference the wasm SIMD one
/// must equal bit for bit (tests/e2e/tests/thumbnails.rs compares the wasm component's
/// 1/2-scale decodes with a native one).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(super) fn idct4x4_scalar(c: &[i32; 16], out: &mut [u8], stride: usize) {
    let mut t = [0i32; 16];
    for i in 0..4 {
        let [s0, s1, s2, s3] = [c[i], c[4 + i], c[8 + i], c[12 + i]];
        let x0 = s0.wrapping_add(s2).wrapping_shl(PASS1_BITS);
        let x2 = s0.wrapping_sub(s2).wrapping_shl(PASS1_BITS);
        let p1 = s1.wrapping_add(s3).wrapping_mul(C0_541);
        let round = 1 << (CONST_BITS - PASS1_BITS - 1);
        let t0 = p1.wrapping_add(s3.wrapping_mul(C1_847)).wrapping_add(round)
            >> (CONST_BITS - PASS1_BITS);
        let t2 = p1.wrapping_add(s1.wrapping_mul(C0_765)).wrapping_add(round)
            >> (CONST_BITS - PASS1_BITS);
        t[i] = x0.wrapping_add(t2);
        t[12 + i] = x0.wrapping_sub(t2);
        t[4 + i] = x2.wrapping_add(t0);
        t[8 + i] = x2.wrapping_sub(t0);
    }
    let bias = (1 << (FINAL_BITS - 1)) + (128 << FINAL_BITS);
    for (i, row) in t.chunks_exact(4).enumerate() {
        let [s0, s1, s2, s3] = [row[0], row[1], row[2], row[3]];
        let x0 = s0
            .wrapping_add(s2)
            .wrapping_shl(CONST_BITS)
            .wrapping_add(bias);
        let x2 = s0
            .wrapping_sub(s2)
            .wrapping_shl(CONST_BITS)
            .wrapping_add(bias);
        let p1 = s1.wrapping_add(s3).wrapping_mul(C0_541);
        let t0 = p1.wrapping_add(s3.wrapping_mul(C1_847));
        let t2 = p1.wrapping_add(s1.wrapping_mul(C0_765));
        let px = |v: i32| (v >> FINAL_BITS).clamp(0, 255) as u8;
        if let Some(o) = out.get_mut(i * stride..i * stride + 4) {
            o.copy_from_slice(&[
                px(x0.wrapping_add(t2)),
                px(x2.wrapping_add(t0)),
                px(x2.wrapping_sub(t0)),
                px(x0.wrapping_sub(t2)),
            ]);
        }
    }
}

/// [`idct4x4_scalar`] on wasm SIMD: lane `i` of pass 1 is column `i`, of pass 2 row `i`.
/// Wrapping adds, multiplies and shifts as the scalar code; the saturating narrowings
/// i32 → i16 → u8 are its `clamp(0, 255)`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{
        C0_541, C0_765, C1_847, CONST_BITS, FINAL_BITS, FIX_0_298, FIX_0_390, FIX_0_541, FIX_0_765,
        FIX_0_899, FIX_1_175, FIX_1_501, FIX_1_847, FIX_1_961, FIX_2_053, FIX_2_562, FIX_3_072,
        PASS1_BITS,
    };

    /// The transpose of the 4×4 matrix whose rows are `r`.
    #[inline(always)]
    fn transpose(r: [v128; 4]) -> [v128; 4] {
        let a = i32x4_shuffle::<0, 4, 1, 5>(r[0], r[1]);
        let b = i32x4_shuffle::<0, 4, 1, 5>(r[2], r[3]);
        let c = i32x4_shuffle::<2, 6, 3, 7>(r[0], r[1]);
        let d = i32x4_shuffle::<2, 6, 3, 7>(r[2], r[3]);
        [
            i32x4_shuffle::<0, 1, 4, 5>(a, b),
            i32x4_shuffle::<2, 3, 6, 7>(a, b),
            i32x4_shuffle::<0, 1, 4, 5>(c, d),
            i32x4_shuffle::<2, 3, 6, 7>(c, d),
        ]
    }

    #[inline(always)]
    pub(super) fn idct4x4(c: &[i32; 16], out: &mut [u8], stride: usize) {
        let row = |k: usize| i32x4(c[k], c[k + 1], c[k + 2], c[k + 3]);
        let (s0, s1, s2, s3) = (row(0), row(4), row(8), row(12));
        let x0 = i32x4_shl(i32x4_add(s0, s2), PASS1_BITS);
        let x2 = i32x4_shl(i32x4_sub(s0, s2), PASS1_BITS);
        let p1 = i32x4_mul(i32x4_add(s1, s3), i32x4_splat(C0_541));
        let round = i32x4_splat(1 << (CONST_BITS - PASS1_BITS - 1));
        let t0 = i32x4_shr(
            i32x4_add(i32x4_add(p1, i32x4_mul(s3, i32x4_splat(C1_847))), round),
            CONST_BITS - PASS1_BITS,
        );
        let t2 = i32x4_shr(
            i32x4_add(i32x4_add(p1, i32x4_mul(s1, i32x4_splat(C0_765))), round),
            CONST_BITS - PASS1_BITS,
        );
        let t = [
            i32x4_add(x0, t2),
            i32x4_add(x2, t0),
            i32x4_sub(x2, t0),
            i32x4_sub(x0, t2),
        ];
        let [s0, s1, s2, s3] = transpose(t);
        let bias = i32x4_splat((1 << (FINAL_BITS - 1)) + (128 << FINAL_BITS));
        let x0 = i32x4_add(i32x4_shl(i32x4_add(s0, s2), CONST_BITS), bias);
        let x2 = i32x4_add(i32x4_shl(i32x4_sub(s0, s2), CONST_BITS), bias);
        let p1 = i32x4_mul(i32x4_add(s1, s3), i32x4_splat(C0_541));
        let t0 = i32x4_add(p1, i32x4_mul(s3, i32x4_splat(C1_847)));
        let t2 = i32x4_add(p1, i32x4_mul(s1, i32x4_splat(C0_765)));
        let cols = [
            i32x4_shr(i32x4_add(x0, t2), FINAL_BITS),
            i32x4_shr(i32x4_add(x2, t0), FINAL_BITS),
            i32x4_shr(i32x4_sub(x2, t0), FINAL_BITS),
            i32x4_shr(i32x4_sub(x0, t2), FINAL_BITS),
        ];
        let [r0, r1, r2, r3] = transpose(cols);
        let px = u8x16_narrow_i16x8(i16x8_narrow_i32x4(r0, r1), i16x8_narrow_i32x4(r2, r3));
        let rows = [
            u32x4_extract_lane::<0>(px),
            u32x4_extract_lane::<1>(px),
            u32x4_extract_lane::<2>(px),
            u32x4_extract_lane::<3>(px),
        ];
        for (i, r) in rows.into_iter().enumerate() {
            if let Some(o) = out.get_mut(i * stride..i * stride + 4) {
                o.copy_from_slice(&r.to_le_bytes());
            }
        }
    }

    /// [`super::idct8x8_scalar`] on wasm SIMD. Pass 1 takes four columns per lane
    /// (rows load straight from `c`), pass 2 four rows per lane, after 4×4 transposes;
    /// no shortcut for zero columns (the scalar one's give the same values). `CORNER`:
    /// only the top-left 4×4 coefficients may be non-zero (most blocks of a photo), so
    /// the other half of pass 1 is zeros and half of every input is a known zero, which
    /// the compiler folds away: about half the work, the same result.
    #[inline(always)]
    pub(super) fn idct8x8<const CORNER: bool>(c: &[i32; 64], out: &mut [u8], stride: usize) {
        use super::{ISLOW_CONST_BITS as CB, ISLOW_PASS1_BITS as P1};
        let add = |a: v128, b: v128| i32x4_add(a, b);
        let sub = |a: v128, b: v128| i32x4_sub(a, b);
        let mul = |a: v128, k: i32| i32x4_mul(a, i32x4_splat(k));
        let shl = |a: v128| i32x4_shl(a, CB);
        let zero = i32x4_splat(0);
        // Row `r`, columns `4h..4h + 4`, of the coefficients.
        let load = |r: usize, h: usize| {
            if CORNER && (r >= 4 || h == 1) {
                zero
            } else {
                // SAFETY: r < 8 and h < 2, so the 4 values at 8r + 4h are inside `c`.
                unsafe { v128_load(c.as_ptr().add(r * 8 + 4 * h).cast()) }
            }
        };
        let round1 = i32x4_splat(1 << (CB - P1 - 1));
        let d1 = |v: v128| i32x4_shr(i32x4_add(v, round1), CB - P1);
        // ws[h][r]: row r, columns 4h..4h + 4, after pass 1.
        let pass1 = |h: usize| {
            if CORNER && h == 1 {
                return [zero; 8];
            }
            let s = [
                load(0, h),
                load(1, h),
                load(2, h),
                load(3, h),
                load(4, h),
                load(5, h),
                load(6, h),
                load(7, h),
            ];
            let o = islow_1d!(s, add, sub, mul, shl);
            [
                d1(o[0]),
                d1(o[1]),
                d1(o[2]),
                d1(o[3]),
                d1(o[4]),
                d1(o[5]),
                d1(o[6]),
                d1(o[7]),
            ]
        };
        let ws = [pass1(0), pass1(1)];
        let shift2 = CB + P1 + 3;
        let bias = i32x4_splat((1 << (shift2 - 1)) + (128 << shift2));
        let d2 = |v: v128| i32x4_shr(i32x4_add(v, bias), shift2);
        for rb in 0..2 {
            let q = 4 * rb;
            // Column k of rows 4rb..4rb + 4.
            let [a0, a1, a2, a3] = transpose([ws[0][q], ws[0][q + 1], ws[0][q + 2], ws[0][q + 3]]);
            let [b0, b1, b2, b3] = if CORNER {
                [zero; 4]
            } else {
                transpose([ws[1][q], ws[1][q + 1], ws[1][q + 2], ws[1][q + 3]])
            };
            let o = islow_1d!([a0, a1, a2, a3, b0, b1, b2, b3], add, sub, mul, shl);
            // Back to rows: lo[i] columns 0..4 of row 4rb + i, hi[i] columns 4..8.
            let lo = transpose([d2(o[0]), d2(o[1]), d2(o[2]), d2(o[3])]);
            let hi = transpose([d2(o[4]), d2(o[5]), d2(o[6]), d2(o[7])]);
            let px = [
                u8x16_narrow_i16x8(
                    i16x8_narrow_i32x4(lo[0], hi[0]),
                    i16x8_narrow_i32x4(lo[1], hi[1]),
                ),
                u8x16_narrow_i16x8(
                    i16x8_narrow_i32x4(lo[2], hi[2]),
                    i16x8_narrow_i32x4(lo[3], hi[3]),
                ),
            ];
            for (i, p) in px.into_iter().enumerate() {
                let two = [u64x2_extract_lane::<0>(p), u64x2_extract_lane::<1>(p)];
                for (j, v) in two.into_iter().enumerate() {
                    let r = q + 2 * i + j;
                    if let Some(o) = out.get_mut(r * stride..r * stride + 8) {
                        o.copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
    }
}

/// The 8×8 samples of the dequantised coefficients `c` (natural row-major order),
/// written to `out` at `stride` bytes per row: libjpeg's `jpeg_idct_islow`, columns
/// then rows, with its rounding, so a full decode matches what libjpeg-turbo gives.
///
/// In wasm with `simd128`, the same arithmetic four lanes at a time ([`simd`]).
/// `corner`: the caller knows that only the top-left 4×4 coefficients may be non-zero
/// (SIMD then does about half the work; the scalar code finds zeros itself).
#[inline(always)]
pub(super) fn idct8x8(c: &[i32; 64], corner: bool, out: &mut [u8], stride: usize) {
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

/// The scalar [`idct8x8`]; the reference its wasm SIMD form must equal bit for bit.
/// libjpeg skips the arithmetic of a column or row whose AC coefficients are all zero;
/// the result is the same either way, so this does too (SIMD does not).
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
pub(super) fn idct8x8_scalar(c: &[i32; 64], out: &mut [u8], stride: usize) {
    let add = i32::wrapping_add;
    let sub = i32::wrapping_sub;
    let mul = i32::wrapping_mul;
    let shl = |v: i32| v.wrapping_shl(ISLOW_CONST_BITS);
    let mut ws = [0i32; 64];
    let shift1 = ISLOW_CONST_BITS - ISLOW_PASS1_BITS;
    for col in 0..8 {
        let s: [i32; 8] = std::array::from_fn(|r| c[r * 8 + col]);
        if s[1..].iter().all(|&v| v == 0) {
            // libjpeg's `dc << PASS1_BITS`, written as the full path computes it so that
            // hostile (wrapping) values agree too.
            let dc = shl(s[0]).wrapping_add(1 << (shift1 - 1)) >> shift1;
            for r in 0..8 {
                ws[r * 8 + col] = dc;
            }
            continue;
        }
        let o = islow_1d!(s, add, sub, mul, shl);
        for (r, v) in o.into_iter().enumerate() {
            ws[r * 8 + col] = v.wrapping_add(1 << (shift1 - 1)) >> shift1;
        }
    }
    let shift2 = ISLOW_CONST_BITS + ISLOW_PASS1_BITS + 3;
    // Rounding and the +128 level shift in one bias, added before the descale.
    let bias = (1 << (shift2 - 1)) + (128 << shift2);
    for (r, row) in ws.chunks_exact(8).enumerate() {
        let Some(o) = out.get_mut(r * stride..r * stride + 8) else {
            return;
        };
        let s: [i32; 8] = row.try_into().unwrap_or([0; 8]);
        let px = |v: i32| (v.wrapping_add(bias) >> shift2).clamp(0, 255) as u8;
        if s[1..].iter().all(|&v| v == 0) {
            o.fill(px(s[0].wrapping_shl(ISLOW_CONST_BITS)));
            continue;
        }
        let v = islow_1d!(s, add, sub, mul, shl);
        for (o, v) in o.iter_mut().zip(v) {
            *o = px(v);
        }
    }
}

/// 2×2 samples from the 2×2 lowest coefficients `c` (row-major).
pub(super) fn idct2x2(c: &[i32; 4], out: &mut [u8], stride: usize) {
    let bias = 4 + (128 << 3);
    let x0 = c[0].wrapping_add(c[2]).wrapping_add(bias);
    let x2 = c[0].wrapping_sub(c[2]).wrapping_add(bias);
    let x1 = c[1].wrapping_add(c[3]);
    let x3 = c[1].wrapping_sub(c[3]);
    let px = |v: i32| (v >> 3).clamp(0, 255) as u8;
    if let Some(o) = out.get_mut(..2) {
        o.copy_from_slice(&[px(x0.wrapping_add(x1)), px(x0.wrapping_sub(x1))]);
    }
    if let Some(o) = out.get_mut(stride..stride + 2) {
        o.copy_from_slice(&[px(x2.wrapping_add(x3)), px(x2.wrapping_sub(x3))]);
    }
}

/// `S`×`S` samples (S = 2 or 4) from the `S`×`S` lowest dequantised coefficients `c`
/// (row-major; only the first `S * S` are read): a flat block, the common case in
/// smooth areas, without the IDCT.
#[inline(always)]
pub(super) fn samples<const S: usize>(c: &[i32; 16], out: &mut [u8], stride: usize) -> Option<()> {
    if c[1..S * S].iter().all(|&v| v == 0) {
        let v = dc_sample(c[0]);
        for r in 0..S {
            out.get_mut(r * stride..r * stride + S)?.fill(v);
        }
    } else if S == 2 {
        idct2x2(c[..4].try_into().ok()?, out, stride);
    } else {
        idct4x4(c, out, stride);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat block (DC only) gives the DC sample everywhere at every size.
    #[test]
    fn dc_only_blocks_are_flat() {
        for dc in [-1024, -523, -1, 0, 7, 100, 1016, 5000] {
            let want = dc_sample(dc);
            let mut c16 = [0; 16];
            c16[0] = dc;
            let mut out = [0u8; 16];
            idct4x4(&c16, &mut out, 4);
            assert!(out.iter().all(|&v| v == want), "{dc}: {out:?} vs {want}");
            let mut out = [0u8; 4];
            idct2x2(&[dc, 0, 0, 0], &mut out, 2);
            assert!(out.iter().all(|&v| v == want), "{dc}: {out:?} vs {want}");
        }
        let _ = (dc_sample(i32::MAX), dc_sample(i32::MIN)); // wraps, no panic
    }

    /// The wasm SIMD IDCT equals the scalar one bit for bit, on photo-like coefficients
    /// and on hostile ones that wrap. Runs where it is compiled: a wasm32 build with
    /// simd128 (`cargo test --target wasm32-wasip1` under a WASI runtime; docs/performance.md).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd_idct4x4_equals_the_scalar_one() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..200_000 {
            let mut c = [0i32; 16];
            for v in &mut c {
                let r = next();
                *v = match n % 3 {
                    0 => (r % 2048) as i32 - 1024,
                    1 => ((r % 64) as i32 - 32) * ((r >> 8) % 100) as i32,
                    _ => r as i32, // hostile: wraps
                };
            }
            let (mut a, mut b) = ([0u8; 40], [0u8; 40]);
            idct4x4_scalar(&c, &mut a, 10);
            simd::idct4x4(&c, &mut b, 10);
            assert_eq!(a, b, "{c:?}");
        }
    }

    /// The same for the 8×8 IDCT, including blocks with zero columns and rows (where
    /// the scalar one takes libjpeg's shortcuts) and hostile values that wrap.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd_idct8x8_equals_the_scalar_one() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..100_000 {
            let mut c = [0i32; 64];
            // Photo-like blocks keep few coefficients: the first `keep` of 64, or only
            // the top-left 4×4 ones.
            let keep = 1 + (next() % 64) as usize;
            let only_corner = n % 8 >= 4;
            for (i, v) in c[..keep].iter_mut().enumerate() {
                if only_corner && (i / 8 >= 4 || i % 8 >= 4) {
                    continue;
                }
                let r = next();
                *v = match n % 4 {
                    0 => (r % 2048) as i32 - 1024,
                    1 => ((r % 64) as i32 - 32) * ((r >> 8) % 100) as i32,
                    2 if r % 3 == 0 => 0,
                    2 => (r % 256) as i32 - 128,
                    _ => r as i32, // hostile: wraps
                };
            }
            let (mut a, mut b) = ([0u8; 8 * 12], [0u8; 8 * 12]);
            idct8x8_scalar(&c, &mut a, 12);
            simd::idct8x8::<false>(&c, &mut b, 12);
            assert_eq!(a, b, "{c:?}");
            let corner = (0..64).all(|i| c[i] == 0 || (i / 8 < 4 && i % 8 < 4));
            if corner {
                simd::idct8x8::<true>(&c, &mut b, 12);
                assert_eq!(a, b, "corner {c:?}");
            }
        }
    }

    /// libjpeg's shortcut for a block without AC coefficients gives the DC sample.
    #[test]
    fn dc_only_8x8_is_flat() {
        for dc in [-1024, -523, -1, 0, 7, 100, 1016] {
            let mut c = [0; 64];
            c[0] = dc;
            let mut out = [0u8; 64];
            for corner in [false, true] {
                idct8x8(&c, corner, &mut out, 8);
                assert!(out.iter().all(|&v| v == dc_sample(dc)), "{dc}: {out:?}");
            }
        }
    }
}

//! Reduced-size inverse DCTs: an 8×8 block straight to 4×4, 2×2 or 1×1 samples from
//! its lowest 16, 4 or 1 dequantised coefficients (the others are never even stored).
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

    use super::{C0_541, C0_765, C1_847, CONST_BITS, FINAL_BITS, PASS1_BITS};

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
        // One check for every row before any arithmetic: a branch between the arithmetic
        // and a store makes Cranelift compute it all again for the next store.
        if stride
            .checked_mul(3)
            .and_then(|n| n.checked_add(4))
            .is_none_or(|n| n > out.len())
        {
            return;
        }
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
        let p = out.as_mut_ptr();
        // SAFETY: rows 0..4 of 4 bytes at `stride` are inside `out` (checked first).
        unsafe {
            v128_store32_lane::<0>(px, p.cast());
            v128_store32_lane::<1>(px, p.add(stride).cast());
            v128_store32_lane::<2>(px, p.add(2 * stride).cast());
            v128_store32_lane::<3>(px, p.add(3 * stride).cast());
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

/// A block without AC coefficients: `side`×`side` samples of its DC sample (for the
/// dequantised DC `dc`), written to `out` at `stride` bytes per row.
#[inline(always)]
pub(super) fn flat(dc: i32, side: usize, out: &mut [u8], stride: usize) -> Option<()> {
    let v = dc_sample(dc);
    for r in 0..side {
        out.get_mut(r * stride..r * stride + side)?.fill(v);
    }
    Some(())
}

/// `S`×`S` samples (S = 2 or 4) from the `S`×`S` lowest dequantised coefficients `c`
/// (row-major; only the first `S * S` are read): a flat block, the common case in
/// smooth areas, without the IDCT.
#[inline(always)]
pub(super) fn samples<const S: usize>(c: &[i32; 16], out: &mut [u8], stride: usize) -> Option<()> {
    if c[1..S * S].iter().all(|&v| v == 0) {
        flat(c[0], S, out, stride)?;
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
        let mut rng = crate::testkit::Rng::new(3);
        let mut next = || rng.next_u64();
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
}

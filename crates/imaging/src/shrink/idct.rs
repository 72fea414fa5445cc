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

/// 4×4 samples from the 4×4 lowest coefficients `c` (row-major, vertical frequency
/// first), written to `out` at `stride` bytes per row.
pub(super) fn idct4x4(c: &[i32; 16], out: &mut [u8], stride: usize) {
    const CONST_BITS: u32 = 12;
    const PASS1_BITS: u32 = 2;
    const FINAL_BITS: u32 = CONST_BITS + PASS1_BITS + 3;
    // round(4096 * x) as `jpeg-decoder` computes it (truncating toward zero).
    const C0_541: i32 = 2217; // 0.541196100
    const C1_847: i32 = -7567; // -1.847759065
    const C0_765: i32 = 3135; // 0.765366865
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
}

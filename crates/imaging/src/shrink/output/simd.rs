//! The output stage's loops in wasm SIMD, sixteen samples at a time: the vertical blend
//! of two chroma rows, 2x horizontal upsampling, and YCbCr -> RGB. Each returns how many
//! items it did; the scalar code in `output.rs` does the rest and is the reference these
//! equal bit for bit (the crate's tests, run in wasm by `scripts/wasm-unit-tests.sh`).
//!
//! Colour conversion keeps the scalar code's 16-bit fixed point exactly without 32-bit
//! lanes for the whole sum: a product by a constant over 1.0 is split as
//! `k * c = (n << 16) * c + (k - n * 65536) * c`, so only the small remainder is
//! multiplied (in `i32`) and the rest is an add of `n * c`.

use core::arch::wasm32::*;

/// `tmp[i] = wa * a[i] + wb * b[i]`, 16 at a time.
#[inline(always)]
pub(super) fn blend(a: &[u8], b: &[u8], wa: u32, wb: u32, tmp: &mut [u16]) -> usize {
    let (wa, wb) = (i16x8_splat(wa as i16), i16x8_splat(wb as i16));
    let mut done = 0;
    for ((a, b), t) in a
        .chunks_exact(16)
        .zip(b.chunks_exact(16))
        .zip(tmp.chunks_exact_mut(16))
    {
        // SAFETY: each chunk holds 16 bytes (two 8-lane u16 halves for `t`); unaligned
        // loads and stores are allowed.
        unsafe {
            let va = v128_load(a.as_ptr().cast());
            let vb = v128_load(b.as_ptr().cast());
            let lo = i16x8_add(
                i16x8_mul(u16x8_extend_low_u8x16(va), wa),
                i16x8_mul(u16x8_extend_low_u8x16(vb), wb),
            );
            let hi = i16x8_add(
                i16x8_mul(u16x8_extend_high_u8x16(va), wa),
                i16x8_mul(u16x8_extend_high_u8x16(vb), wb),
            );
            v128_store(t.as_mut_ptr().cast(), lo);
            v128_store(t.as_mut_ptr().add(8).cast(), hi);
        }
        done += 16;
    }
    done
}

/// The inside of a row upsampled 2x: `line[2j] = (tmp[j] + 3 tmp[j+1] + even) >> shift`,
/// `line[2j+1] = (3 tmp[j+1] + tmp[j+2] + odd) >> shift`, 8 `j` at a time; returns how
/// many `j` it did.
#[inline(always)]
pub(super) fn h2(tmp: &[u16], line: &mut [u8], shift: u32, even: u32, odd: u32) -> usize {
    let (even, odd) = (u16x8_splat(even as u16), u16x8_splat(odd as u16));
    let mut j = 0;
    while j + 10 <= tmp.len() && 2 * j + 16 <= line.len() {
        // SAFETY: `tmp[j..j + 10]` and `line[2j..2j + 16]` are in bounds (checked above).
        unsafe {
            let p = tmp.as_ptr().add(j);
            let l = v128_load(p.cast());
            let c = v128_load(p.add(1).cast());
            let r = v128_load(p.add(2).cast());
            let c3 = i16x8_add(i16x8_shl(c, 1), c);
            let ev = u16x8_shr(i16x8_add(i16x8_add(l, c3), even), shift);
            let od = u16x8_shr(i16x8_add(i16x8_add(c3, r), odd), shift);
            let lo = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(ev, od);
            let hi = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(ev, od);
            v128_store(
                line.as_mut_ptr().add(2 * j).cast(),
                u8x16_narrow_i16x8(lo, hi),
            );
        }
        j += 8;
    }
    j
}

/// `(k * c + 32768) >> 16` for the 8 lanes of `c` (|c| <= 128), where `k = n * 65536 +
/// rem`: `n * c` plus the rounded top half of `rem * c`, all exact.
#[inline(always)]
fn scaled(c: v128, n: i16, rem: i16) -> v128 {
    let half = i32x4_splat(32768);
    let lo = i32x4_shr(
        i32x4_add(i32x4_extmul_low_i16x8(c, i16x8_splat(rem)), half),
        16,
    );
    let hi = i32x4_shr(
        i32x4_add(i32x4_extmul_high_i16x8(c, i16x8_splat(rem)), half),
        16,
    );
    i16x8_add(i16x8_narrow_i32x4(lo, hi), i16x8_mul(c, i16x8_splat(n)))
}

/// `(-22554 * cb - 46802 * cr + 32768) >> 16`: `-cr` plus the rounded top half of
/// `-22554 cb + 18734 cr`, each pair one dot product.
#[inline(always)]
fn green(cb: v128, cr: v128) -> v128 {
    let k = i32x4_splat((-22554i32 & 0xFFFF) | (18734 << 16));
    let half = i32x4_splat(32768);
    let p_lo = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(cb, cr);
    let p_hi = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(cb, cr);
    let lo = i32x4_shr(i32x4_add(i32x4_dot_i16x8(p_lo, k), half), 16);
    let hi = i32x4_shr(i32x4_add(i32x4_dot_i16x8(p_hi, k), half), 16);
    i16x8_sub(i16x8_narrow_i32x4(lo, hi), cr)
}

/// RGB of 16 pixels from their Y, Cb and Cr bytes, clamped to bytes.
#[inline(always)]
fn rgb16(y: v128, cb: v128, cr: v128) -> [v128; 3] {
    let c128 = i16x8_splat(128);
    let half = |v: v128, hi: bool| {
        if hi {
            u16x8_extend_high_u8x16(v)
        } else {
            u16x8_extend_low_u8x16(v)
        }
    };
    let mut out = [[i16x8_splat(0); 2]; 3];
    for (h, hi) in [false, true].into_iter().enumerate() {
        let yv = half(y, hi);
        let cb = i16x8_sub(half(cb, hi), c128);
        let cr = i16x8_sub(half(cr, hi), c128);
        // 91881 = 65536 + 26345; 116130 = 2 * 65536 - 14942.
        out[0][h] = i16x8_add(yv, scaled(cr, 1, 26345));
        out[1][h] = i16x8_add(yv, green(cb, cr));
        out[2][h] = i16x8_add(yv, scaled(cb, 2, -14942));
    }
    out.map(|[lo, hi]| u8x16_narrow_i16x8(lo, hi))
}

/// Writes the RGB of the pixels of `y`, `cb` and `cr` to `out` (3 bytes each), 16 at a
/// time; returns how many pixels it did.
#[inline(always)]
pub(super) fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) -> usize {
    let mut done = 0;
    for (((y, cb), cr), o) in y
        .chunks_exact(16)
        .zip(cb.chunks_exact(16))
        .zip(cr.chunks_exact(16))
        .zip(out.chunks_exact_mut(48))
    {
        // SAFETY: 16-byte chunks in, a 48-byte chunk out; unaligned access is allowed.
        unsafe {
            let [r, g, b] = rgb16(
                v128_load(y.as_ptr().cast()),
                v128_load(cb.as_ptr().cast()),
                v128_load(cr.as_ptr().cast()),
            );
            // r0 g0 r1 g1 .. r7 g7 and r8 g8 .. r15 g15, then B slotted in.
            let rg_lo =
                u8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(r, g);
            let rg_hi =
                u8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(r, g);
            let o0 =
                u8x16_shuffle::<0, 1, 16, 2, 3, 17, 4, 5, 18, 6, 7, 19, 8, 9, 20, 10>(rg_lo, b);
            // g5 r6 g6 r7 g7 | r8 g8 r9 g9 r10 g10, then B.
            let t = u8x16_shuffle::<11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 0, 0, 0, 0, 0>(
                rg_lo, rg_hi,
            );
            let o1 = u8x16_shuffle::<0, 21, 1, 2, 22, 3, 4, 23, 5, 6, 24, 7, 8, 25, 9, 10>(t, b);
            let o2 = u8x16_shuffle::<26, 6, 7, 27, 8, 9, 28, 10, 11, 29, 12, 13, 30, 14, 15, 31>(
                rg_hi, b,
            );
            let p = o.as_mut_ptr();
            v128_store(p.cast(), o0);
            v128_store(p.add(16).cast(), o1);
            v128_store(p.add(32).cast(), o2);
        }
        done += 16;
    }
    done
}

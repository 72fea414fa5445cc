//! RGB to level-shifted Y, Cb and Cr planes (JFIF's equations, in `f32`: the DCT takes
//! `f32` samples, so they are not rounded to bytes first as libjpeg's are).
//!
//! In wasm with simd128, sixteen pixels at a time: three byte shuffles per channel
//! split R, G and B out of 48 interleaved bytes, and for 4:2:0 a pairwise widening add
//! sums each 2x2. The scalar code does the same `f32` operations in the same order, so
//! both give the same samples (checked in wasm by the crate's tests).

const KR: f32 = 0.299;
const KG: f32 = 0.587;
const KB: f32 = 0.114;
const CB: [f32; 3] = [-0.168_736, -0.331_264, 0.5];
const CR: [f32; 3] = [0.5, -0.418_688, -0.081_312];

#[inline(always)]
fn luma(r: f32, g: f32, b: f32) -> f32 {
    r * KR + g * KG + b * KB - 128.0
}

#[inline(always)]
fn chroma(k: &[f32; 3], r: f32, g: f32, b: f32) -> f32 {
    r * k[0] + g * k[1] + b * k[2]
}

/// Y of each pixel of an RGB row.
pub(super) fn luma_row(src: &[u8], y: &mut [f32]) {
    let done = simd_luma(src, y);
    for (d, p) in y[done..].iter_mut().zip(src[done * 3..].chunks_exact(3)) {
        *d = luma(f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
    }
}

/// Cb and Cr of each pixel of an RGB row (4:4:4).
pub(super) fn chroma_row(src: &[u8], cb: &mut [f32], cr: &mut [f32]) {
    let done = simd_chroma(src, cb, cr);
    for ((b, r), p) in cb[done..]
        .iter_mut()
        .zip(&mut cr[done..])
        .zip(src[done * 3..].chunks_exact(3))
    {
        let (pr, pg, pb) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
        *b = chroma(&CB, pr, pg, pb);
        *r = chroma(&CR, pr, pg, pb);
    }
}

/// Cb and Cr of each 2x2 of RGB rows `a` and `b` (of equal length; 4:2:0): the chroma of
/// their mean, an odd last column paired with itself. Fills `cb` and `cr` up to half the
/// row's pixels, rounded up.
pub(super) fn chroma_row_420(a: &[u8], b: &[u8], cb: &mut [f32], cr: &mut [f32]) {
    let w = a.len() / 3;
    let done = simd_chroma_420(a, b, cb, cr);
    let quarter = |k: &[f32; 3]| k.map(|v| v * 0.25);
    let (qb, qr) = (quarter(&CB), quarter(&CR));
    for x in done..w.div_ceil(2) {
        let (x0, x1) = ((2 * x) * 3, (2 * x + 1).min(w - 1) * 3);
        let sum = |c: usize| {
            f32::from(
                u16::from(a[x0 + c])
                    + u16::from(a[x1 + c])
                    + u16::from(b[x0 + c])
                    + u16::from(b[x1 + c]),
            )
        };
        let (r, g, bl) = (sum(0), sum(1), sum(2));
        cb[x] = chroma(&qb, r, g, bl);
        cr[x] = chroma(&qr, r, g, bl);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_luma(_: &[u8], _: &mut [f32]) -> usize {
    0
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_chroma(_: &[u8], _: &mut [f32], _: &mut [f32]) -> usize {
    0
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_chroma_420(_: &[u8], _: &[u8], _: &mut [f32], _: &mut [f32]) -> usize {
    0
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd::{simd_chroma, simd_chroma_420, simd_luma};

/// The wasm SIMD forms; each returns how many outputs it wrote (whole groups of 16
/// pixels), the scalar code does the rest.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::{CB, CR, KB, KG, KR};

    /// Byte `i` of the result is byte `3 i + channel` of the 48, if it is in part `part`
    /// (bytes `16 part..16 part + 16`), else 0x80 (which `i8x16_swizzle` turns into 0).
    const fn picks(channel: usize, part: usize) -> [u8; 16] {
        let mut out = [0x80u8; 16];
        let mut i = 0;
        while i < 16 {
            let at = 3 * i + channel;
            if at >= 16 * part && at < 16 * part + 16 {
                out[i] = (at - 16 * part) as u8;
            }
            i += 1;
        }
        out
    }

    const PICKS: [[[u8; 16]; 3]; 3] = {
        let mut t = [[[0u8; 16]; 3]; 3];
        let mut c = 0;
        while c < 3 {
            let mut p = 0;
            while p < 3 {
                t[c][p] = picks(c, p);
                p += 1;
            }
            c += 1;
        }
        t
    };

    #[inline(always)]
    fn load16(bytes: &[u8]) -> v128 {
        assert!(bytes.len() >= 16);
        // SAFETY: 16 readable bytes; no alignment requirement.
        unsafe { v128_load(bytes.as_ptr().cast()) }
    }

    #[inline(always)]
    fn store4(out: &mut [f32], v: v128) {
        assert!(out.len() >= 4);
        // SAFETY: 16 writable bytes; no alignment requirement.
        unsafe { v128_store(out.as_mut_ptr().cast(), v) }
    }

    /// R, G and B of 16 pixels (48 bytes).
    #[inline(always)]
    fn split(px: &[u8]) -> [v128; 3] {
        let parts = [load16(&px[0..16]), load16(&px[16..32]), load16(&px[32..48])];
        std::array::from_fn(|c| {
            let pick = |p: usize| i8x16_swizzle(parts[p], load16(&PICKS[c][p]));
            v128_or(v128_or(pick(0), pick(1)), pick(2))
        })
    }

    /// 16 bytes as four `f32x4`.
    #[inline(always)]
    fn floats(v: v128) -> [v128; 4] {
        let (lo, hi) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
        [
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(lo)),
            f32x4_convert_u32x4(u32x4_extend_high_u16x8(lo)),
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(hi)),
            f32x4_convert_u32x4(u32x4_extend_high_u16x8(hi)),
        ]
    }

    /// Eight u16 as two `f32x4`.
    #[inline(always)]
    fn floats8(v: v128) -> [v128; 2] {
        [
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(v)),
            f32x4_convert_u32x4(u32x4_extend_high_u16x8(v)),
        ]
    }

    #[inline(always)]
    fn weighted(k: [f32; 3], r: v128, g: v128, b: v128) -> v128 {
        let t = f32x4_add(
            f32x4_mul(r, f32x4_splat(k[0])),
            f32x4_mul(g, f32x4_splat(k[1])),
        );
        f32x4_add(t, f32x4_mul(b, f32x4_splat(k[2])))
    }

    pub(super) fn simd_luma(src: &[u8], y: &mut [f32]) -> usize {
        let n = (src.len() / 3).min(y.len()) / 16;
        for i in 0..n {
            let [r, g, b] = split(&src[i * 48..i * 48 + 48]).map(floats);
            for q in 0..4 {
                let v = f32x4_sub(weighted([KR, KG, KB], r[q], g[q], b[q]), f32x4_splat(128.0));
                store4(&mut y[i * 16 + q * 4..], v);
            }
        }
        n * 16
    }

    pub(super) fn simd_chroma(src: &[u8], cb: &mut [f32], cr: &mut [f32]) -> usize {
        let n = (src.len() / 3).min(cb.len()).min(cr.len()) / 16;
        for i in 0..n {
            let [r, g, b] = split(&src[i * 48..i * 48 + 48]).map(floats);
            for q in 0..4 {
                store4(&mut cb[i * 16 + q * 4..], weighted(CB, r[q], g[q], b[q]));
                store4(&mut cr[i * 16 + q * 4..], weighted(CR, r[q], g[q], b[q]));
            }
        }
        n * 16
    }

    pub(super) fn simd_chroma_420(a: &[u8], b: &[u8], cb: &mut [f32], cr: &mut [f32]) -> usize {
        let n = (a.len() / 3)
            .min(b.len() / 3)
            .min(cb.len() * 2)
            .min(cr.len() * 2)
            / 16;
        let (qb, qr) = (CB.map(|v| v * 0.25), CR.map(|v| v * 0.25));
        for i in 0..n {
            let (top, bottom) = (
                split(&a[i * 48..i * 48 + 48]),
                split(&b[i * 48..i * 48 + 48]),
            );
            let sums: [[v128; 2]; 3] = std::array::from_fn(|c| {
                floats8(i16x8_add(
                    u16x8_extadd_pairwise_u8x16(top[c]),
                    u16x8_extadd_pairwise_u8x16(bottom[c]),
                ))
            });
            for h in 0..2 {
                store4(
                    &mut cb[i * 8 + h * 4..],
                    weighted(qb, sums[0][h], sums[1][h], sums[2][h]),
                );
                store4(
                    &mut cr[i * 8 + h * 4..],
                    weighted(qr, sums[0][h], sums[1][h], sums[2][h]),
                );
            }
        }
        n * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(w: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
        let mut s = seed | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        };
        let a = (0..w * 3).map(|_| next()).collect();
        let b = (0..w * 3).map(|_| next()).collect();
        (a, b)
    }

    /// Every row width around the 16-pixel groups, against the formulas pixel by pixel:
    /// in a wasm build with simd128 this is the SIMD code against the scalar one, bit
    /// for bit.
    #[test]
    fn rows_equal_the_formulas() {
        for w in 1..=70 {
            let (a, b) = rows(w, w as u64 * 7919);
            let mut y = vec![0f32; w];
            luma_row(&a, &mut y);
            let (mut cb, mut cr) = (vec![0f32; w], vec![0f32; w]);
            chroma_row(&a, &mut cb, &mut cr);
            for x in 0..w {
                let (r, g, bl) = (
                    f32::from(a[3 * x]),
                    f32::from(a[3 * x + 1]),
                    f32::from(a[3 * x + 2]),
                );
                assert_eq!(
                    y[x].to_bits(),
                    luma(r, g, bl).to_bits(),
                    "luma, width {w}, x {x}"
                );
                assert_eq!(
                    cb[x].to_bits(),
                    chroma(&CB, r, g, bl).to_bits(),
                    "cb, width {w}, x {x}"
                );
                assert_eq!(
                    cr[x].to_bits(),
                    chroma(&CR, r, g, bl).to_bits(),
                    "cr, width {w}, x {x}"
                );
            }
            let half = w.div_ceil(2);
            let (mut cb, mut cr) = (vec![0f32; half], vec![0f32; half]);
            chroma_row_420(&a, &b, &mut cb, &mut cr);
            for x in 0..half {
                let (x0, x1) = (2 * x, (2 * x + 1).min(w - 1));
                let sum = |c: usize| {
                    f32::from(a[3 * x0 + c])
                        + f32::from(a[3 * x1 + c])
                        + f32::from(b[3 * x0 + c])
                        + f32::from(b[3 * x1 + c])
                };
                let q = |k: &[f32; 3]| k.map(|v| v * 0.25);
                let (r, g, bl) = (sum(0), sum(1), sum(2));
                assert_eq!(
                    cb[x].to_bits(),
                    chroma(&q(&CB), r, g, bl).to_bits(),
                    "420 cb, width {w}, x {x}"
                );
                assert_eq!(
                    cr[x].to_bits(),
                    chroma(&q(&CR), r, g, bl).to_bits(),
                    "420 cr, width {w}, x {x}"
                );
            }
        }
    }
}

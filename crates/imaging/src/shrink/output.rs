//! From decoded component samples to the output image, one band at a time: chroma
//! upsampling and colour conversion.
//!
//! A decoder fills one *band* (the samples of one MCU row, for every component) and
//! pushes it; the band before it is then converted to output rows. One band of delay,
//! because the last output rows of a band interpolate the first chroma row of the next.
//! So memory is the output image plus two bands, never whole component planes.
//!
//! Upsampling is centred bilinear: at 2× it is libjpeg's "fancy" upsampling (3/4, 1/4
//! weights as `jpeg-decoder` does too; at full size with libjpeg's rounding), clamped
//! at the image edges. Colour conversion is JFIF's YCbCr -> RGB in 16-bit fixed point.

use image::{DynamicImage, GrayImage, RgbImage};

use super::markers::{Color, Frame};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;

/// The SIMD loops where there are some ([`simd`]); elsewhere they do nothing and the
/// scalar code does everything.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd::{blend as simd_blend, h2 as simd_h2, ycbcr_to_rgb as simd_ycbcr_to_rgb};
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_blend(_: &[u8], _: &[u8], _: u32, _: u32, _: &mut [u16]) -> usize {
    0
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_h2(_: &[u16], _: &mut [u8], _: u32, _: u32, _: u32) -> usize {
    0
}
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_ycbcr_to_rgb(_: &[u8], _: &[u8], _: &[u8], _: &mut [u8]) -> usize {
    0
}

/// One component's band being filled: `rows` of `stride` bytes, the top-left of the
/// band's first block at index 0.
pub(super) struct Band<'a> {
    pub rows: &'a mut [u8],
    pub stride: usize,
}

struct Plane {
    /// Upsampling ratios to the output grid: 1, 2 or 4.
    rx: usize,
    ry: usize,
    /// Samples that hold image data (the rest of a band is MCU padding).
    w: usize,
    h: usize,
    stride: usize,
    /// Rows per band.
    rows: usize,
    /// Round 2x upsampling as libjpeg does (full-size decodes), else with a plain half.
    libjpeg: bool,
    /// The band being converted and the one being filled, each with a context row
    /// above and below: `(rows + 2) * stride` bytes.
    cur: Vec<u8>,
    next: Vec<u8>,
    /// One row of vertically interpolated samples (scaled by the vertical weights' sum),
    /// and one upsampled output row.
    tmp: Vec<u16>,
    line: Vec<u8>,
}

/// Source samples and weights (out of `2r`, or 1 when `r == 1`) of output index `o` for
/// ratio `r` over `n` samples: centred bilinear, clamped at the edges.
#[inline(always)]
fn taps(o: usize, r: usize, n: usize) -> (usize, usize, u32, u32) {
    if r == 1 {
        return (o, o, 1, 0);
    }
    let (i, j) = (o / r, (o % r) as u32);
    let r32 = r as u32;
    if 2 * j + 1 < r32 {
        (
            i.saturating_sub(1),
            i.min(n - 1),
            r32 - 2 * j - 1,
            r32 + 2 * j + 1,
        )
    } else {
        (
            i.min(n - 1),
            (i + 1).min(n - 1),
            3 * r32 - 2 * j - 1,
            2 * j + 1 - r32,
        )
    }
}

/// log2 of the weights' sum for ratio `r`.
fn weight_bits(r: usize) -> u32 {
    if r == 1 { 0 } else { (2 * r).trailing_zeros() }
}

impl Plane {
    /// Output row `y` (of band `k`): straight from the band when the component is not
    /// subsampled, else the upsampled row.
    fn row(&self, y: usize, k: usize, width: usize) -> Option<&[u8]> {
        if self.rx == 1 && self.ry == 1 {
            self.cur
                .get((y + 1 - k * self.rows) * self.stride..)?
                .get(..width)
        } else {
            self.line.get(..width)
        }
    }

    /// Output row `y` (of band `k`) of this component, upsampled into `self.line`.
    fn upsample(&mut self, y: usize, k: usize, width: usize) -> Option<()> {
        let (a, b, wa, wb) = taps(y, self.ry, self.h);
        // Band-local rows: row 0 is the context row above the band.
        let local = |g: usize| (g + 1).checked_sub(k * self.rows);
        let ra = self.cur.get(local(a)? * self.stride..)?.get(..self.w)?;
        let rb = self.cur.get(local(b)? * self.stride..)?.get(..self.w)?;
        blend(ra, rb, wa, wb, &mut self.tmp);
        let shift = weight_bits(self.rx) + weight_bits(self.ry);
        let half = (1u32 << shift) >> 1;
        // At full size, libjpeg's rounding at 2x (`jdsample.c`), which alternates its
        // bias between the two outputs of a sample so that neither direction is
        // favoured: so that a full decode is Pillow's to the level. Scaled decodes keep
        // the plain half, as `jpeg-decoder` (and stb_image) round. (even, odd) column.
        let (even, odd) = match (self.libjpeg, self.rx, self.ry) {
            (true, 2, 2) => (8, 7),
            (true, 2, 1) => (1, 2),
            (true, 1, 2) => (1 + (y as u32 & 1), 1 + (y as u32 & 1)),
            _ => (half, half),
        };
        let tmp = &self.tmp[..self.w];
        let line = self.line.get_mut(..width)?;
        let n = tmp.len();
        let t = |i: usize| u32::from(tmp[i.min(n - 1)]);
        match self.rx {
            1 => {
                for (o, &v) in line.iter_mut().zip(tmp) {
                    *o = ((u32::from(v) + even) >> shift) as u8;
                }
            }
            2 => {
                // Output 2i + j sits between samples i and i - 1 + 2j (3/4, 1/4).
                let px = |x: usize| {
                    let (i, c) = (x / 2, 3 * t(x / 2));
                    let (side, bias) = if x.is_multiple_of(2) {
                        (t(i.saturating_sub(1)), even)
                    } else {
                        (t(i + 1), odd)
                    };
                    ((c + side + bias) >> shift) as u8
                };
                // Inside the row both neighbours exist: a 3-sample window per output
                // pair, no clamping or bounds checks.
                let mut inner = 0;
                if let Some(rest) = line.get_mut(2..) {
                    inner = 2 * h2_inner(tmp, rest, shift, even, odd);
                }
                for x in (0..width.min(2)).chain(2 + inner..width) {
                    line[x] = px(x);
                }
            }
            r => {
                for (x, o) in line.iter_mut().enumerate() {
                    let (a, b, wa, wb) = taps(x, r, n);
                    *o = ((wa * t(a) + wb * t(b) + half) >> shift) as u8;
                }
            }
        }
        Some(())
    }
}

/// Collects bands of samples at `s`/8 scale and writes the output image.
pub(super) struct Sink {
    color: Color,
    width: usize,
    height: usize,
    /// Output rows per band.
    lines: usize,
    /// Bands pushed so far.
    bands: usize,
    planes: Vec<Plane>,
    out: Vec<u8>,
}

impl Sink {
    /// For `frame` decoded with `s`×`s` samples per block (s = 1, 2, 4 or 8). `None`
    /// when a sampling ratio is not 1, 2 or 4, or the output cannot be allocated.
    pub fn new(frame: &Frame, s: usize, color: Color) -> Option<Sink> {
        let scaled = |len: usize, num: usize, den: usize| {
            len.checked_mul(num)?
                .checked_mul(s)
                .map(|v| v.div_ceil(den * 8))
        };
        let width = scaled(frame.width, 1, 1)?;
        let height = scaled(frame.height, 1, 1)?;
        let mut planes = Vec::with_capacity(frame.comps.len());
        for (ci, c) in frame.comps.iter().enumerate() {
            let (rx, ry) = (frame.hmax / c.h, frame.vmax / c.v);
            if !matches!(rx, 1 | 2 | 4) || !matches!(ry, 1 | 2 | 4) {
                return None;
            }
            let stride = frame.stride(ci).checked_mul(s)?;
            let rows = c.v * s;
            let band = stride.checked_mul(rows + 2)?;
            let w = scaled(frame.width, c.h, frame.hmax)?;
            planes.push(Plane {
                rx,
                ry,
                w,
                h: scaled(frame.height, c.v, frame.vmax)?,
                stride,
                rows,
                libjpeg: s == 8,
                cur: vec![0; band],
                next: vec![0; band],
                tmp: vec![0; w],
                line: vec![0; width],
            });
        }
        let channels = if color == Color::Grey { 1 } else { 3 };
        let mut out = Vec::new();
        out.try_reserve_exact(width.checked_mul(height)?.checked_mul(channels)?)
            .ok()?;
        Some(Sink {
            color,
            width,
            height,
            lines: frame.vmax * s,
            bands: 0,
            planes,
            out,
        })
    }

    /// The band to fill next, one per component in frame order.
    pub fn bands(&mut self) -> Vec<Band<'_>> {
        self.planes
            .iter_mut()
            .map(|p| Band {
                rows: &mut p.next[p.stride..p.stride * (p.rows + 1)],
                stride: p.stride,
            })
            .collect()
    }

    /// Takes the band just filled; converts the one before it.
    pub fn push(&mut self) -> Option<()> {
        if self.bands > 0 {
            for p in &mut self.planes {
                let (s, r) = (p.stride, p.rows);
                p.cur[(r + 1) * s..(r + 2) * s].copy_from_slice(&p.next[s..2 * s]);
            }
            self.emit(self.bands - 1)?;
            for p in &mut self.planes {
                let (s, r) = (p.stride, p.rows);
                p.next[..s].copy_from_slice(&p.cur[r * s..(r + 1) * s]);
            }
        }
        for p in &mut self.planes {
            std::mem::swap(&mut p.cur, &mut p.next);
        }
        self.bands += 1;
        Some(())
    }

    /// Converts the last band and returns the image; `None` unless every output row
    /// was written.
    pub fn finish(mut self) -> Option<DynamicImage> {
        self.emit(self.bands.checked_sub(1)?)?;
        let (w, h) = (
            u32::try_from(self.width).ok()?,
            u32::try_from(self.height).ok()?,
        );
        match self.color {
            Color::Grey => GrayImage::from_raw(w, h, self.out).map(DynamicImage::ImageLuma8),
            _ => RgbImage::from_raw(w, h, self.out).map(DynamicImage::ImageRgb8),
        }
    }

    /// Appends the output rows of band `k` (held in the planes' `cur`).
    fn emit(&mut self, k: usize) -> Option<()> {
        let y0 = k * self.lines;
        let y1 = (y0 + self.lines).min(self.height);
        let width = self.width;
        for y in y0..y1 {
            for p in &mut self.planes {
                if p.rx != 1 || p.ry != 1 {
                    p.upsample(y, k, width)?;
                }
            }
            let row = |p| Plane::row(p, y, k, width);
            match self.color {
                Color::Grey => self.out.extend_from_slice(row(&self.planes[0])?),
                Color::YCbCr => {
                    let (y, cb, cr) = (
                        row(&self.planes[0])?,
                        row(&self.planes[1])?,
                        row(&self.planes[2])?,
                    );
                    ycbcr_to_rgb(y, cb, cr, &mut self.out);
                }
                Color::Rgb => {
                    let (r, g, b) = (
                        row(&self.planes[0])?,
                        row(&self.planes[1])?,
                        row(&self.planes[2])?,
                    );
                    for ((&r, &g), &b) in r.iter().zip(g).zip(b) {
                        self.out.extend_from_slice(&[r, g, b]);
                    }
                }
            }
        }
        Some(())
    }
}

/// `tmp[i] = wa * a[i] + wb * b[i]`: two rows blended vertically.
fn blend(a: &[u8], b: &[u8], wa: u32, wb: u32, tmp: &mut [u16]) {
    let done = simd_blend(a, b, wa, wb, tmp);
    blend_scalar(&a[done..], &b[done..], wa, wb, &mut tmp[done..]);
}

fn blend_scalar(a: &[u8], b: &[u8], wa: u32, wb: u32, tmp: &mut [u16]) {
    for ((t, &a), &b) in tmp.iter_mut().zip(a).zip(b) {
        *t = (wa * u32::from(a) + wb * u32::from(b)) as u16;
    }
}

/// Output pairs `2j, 2j + 1` of a row upsampled 2x from `tmp`, centred on `tmp[j + 1]`,
/// written to `out` from its start, as long as `tmp[j + 2]` and `out` last; returns how
/// many pairs.
fn h2_inner(tmp: &[u16], out: &mut [u8], shift: u32, even: u32, odd: u32) -> usize {
    let done = simd_h2(tmp, out, shift, even, odd);
    done + h2_scalar(&tmp[done..], &mut out[2 * done..], shift, even, odd)
}

fn h2_scalar(tmp: &[u16], out: &mut [u8], shift: u32, even: u32, odd: u32) -> usize {
    let mut pairs = 0;
    for (o, w) in out.chunks_exact_mut(2).zip(tmp.windows(3)) {
        let c = 3 * u32::from(w[1]);
        o[0] = ((u32::from(w[0]) + c + even) >> shift) as u8;
        o[1] = ((c + u32::from(w[2]) + odd) >> shift) as u8;
        pairs += 1;
    }
    pairs
}

/// Appends the RGB pixels of one row (JFIF YCbCr, 16-bit fixed point, rounded).
fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 3 * y.len(), 0);
    let done = simd_ycbcr_to_rgb(y, cb, cr, &mut out[start..]);
    let (y, cb, cr) = (&y[done..], &cb[done..], &cr[done..]);
    ycbcr_to_rgb_scalar(y, cb, cr, &mut out[start + 3 * done..]);
}

fn ycbcr_to_rgb_scalar(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((px, &y), &cb), &cr) in out.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let yv = (i32::from(y) << 16) + 32_768;
        let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
        let r = (yv + 91_881 * cr) >> 16;
        let g = (yv - 22_554 * cb - 46_802 * cr) >> 16;
        let b = (yv + 116_130 * cb) >> 16;
        px.copy_from_slice(&[r, g, b].map(|v| v.clamp(0, 255) as u8));
    }
}

#[cfg(test)]
mod tests {
    /// The wasm SIMD loops equal the scalar ones bit for bit, on random rows of every
    /// length up to a few vectors (so every remainder is seen), with every weight and
    /// rounding the decoders use. Runs where it is compiled: a wasm32 build with
    /// simd128 (`scripts/wasm-unit-tests.sh`).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd_loops_equal_the_scalar_ones() {
        use super::*;
        let mut rng = crate::testkit::Rng::new(4);
        let mut bytes = |n: usize| (0..n).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>();
        for n in 0..80 {
            let (a, b, c) = (bytes(n), bytes(n), bytes(n));
            for (wa, wb) in [(1, 0), (1, 3), (3, 1), (1, 7), (7, 1), (3, 5)] {
                let (mut simd, mut scalar) = (vec![0u16; n], vec![0u16; n]);
                blend(&a, &b, wa, wb, &mut simd);
                blend_scalar(&a, &b, wa, wb, &mut scalar);
                assert_eq!(simd, scalar, "blend {n} {wa} {wb}");
            }
            let tmp: Vec<u16> = a
                .iter()
                .zip(&b)
                .map(|(&a, &b)| u16::from(a) + 3 * u16::from(b))
                .collect();
            for (shift, even, odd) in [(4, 8, 7), (2, 1, 2), (4, 8, 8), (2, 2, 2)] {
                let tmp: Vec<u16> = tmp.iter().map(|&t| t >> (4 - shift)).collect();
                let (mut simd, mut scalar) = (vec![0u8; 2 * n], vec![0u8; 2 * n]);
                let pairs = h2_inner(&tmp, &mut simd, shift, even, odd);
                assert_eq!(pairs, h2_scalar(&tmp, &mut scalar, shift, even, odd));
                assert_eq!(simd, scalar, "h2 {n} {shift}");
            }
            let mut simd = Vec::new();
            ycbcr_to_rgb(&a, &b, &c, &mut simd);
            let mut scalar = vec![0u8; 3 * n];
            ycbcr_to_rgb_scalar(&a, &b, &c, &mut scalar);
            assert_eq!(simd, scalar, "ycbcr {n}");
        }
        // Every Cb and Cr at the extremes of Y.
        for y in [0u8, 1, 16, 128, 235, 254, 255] {
            let cb: Vec<u8> = (0..=255).collect();
            for cr in 0..=255u8 {
                let (ys, crs) = (vec![y; 256], vec![cr; 256]);
                let mut simd = Vec::new();
                ycbcr_to_rgb(&ys, &cb, &crs, &mut simd);
                let mut scalar = vec![0u8; 768];
                ycbcr_to_rgb_scalar(&ys, &cb, &crs, &mut scalar);
                assert_eq!(simd, scalar, "y {y} cr {cr}");
            }
        }
    }
}

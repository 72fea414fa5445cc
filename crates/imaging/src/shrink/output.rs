//! From decoded component samples to the output image, one band at a time: chroma
//! upsampling and colour conversion.
//!
//! A decoder fills one *band* (the samples of one MCU row, for every component) and
//! pushes it; the band before it is then converted to output rows. One band of delay,
//! because the last output rows of a band interpolate the first chroma row of the next.
//! So memory is the output image plus two bands, never whole component planes.
//!
//! Upsampling is centred bilinear: at 2× it is libjpeg's "fancy" upsampling (3/4, 1/4
//! weights, as `jpeg-decoder` does too), clamped at the image edges. Colour conversion
//! is JFIF's YCbCr -> RGB in 16-bit fixed point.

use image::{DynamicImage, GrayImage, RgbImage};

use super::markers::{Color, Frame};

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
        for ((t, &a), &b) in self.tmp.iter_mut().zip(ra).zip(rb) {
            *t = (wa * u32::from(a) + wb * u32::from(b)) as u16;
        }
        let shift = weight_bits(self.rx) + weight_bits(self.ry);
        let half = (1u32 << shift) >> 1;
        let tmp = &self.tmp[..self.w];
        let line = self.line.get_mut(..width)?;
        let n = tmp.len();
        let t = |i: usize| u32::from(tmp[i.min(n - 1)]);
        match self.rx {
            1 => {
                for (o, &v) in line.iter_mut().zip(tmp) {
                    *o = ((u32::from(v) + half) >> shift) as u8;
                }
            }
            2 => {
                // Output 2i + j sits between samples i and i - 1 + 2j (3/4, 1/4).
                let px = |x: usize| {
                    let (i, c) = (x / 2, 3 * t(x / 2));
                    let side = if x.is_multiple_of(2) {
                        t(i.saturating_sub(1))
                    } else {
                        t(i + 1)
                    };
                    ((c + side + half) >> shift) as u8
                };
                // Inside the row both neighbours exist: a 3-sample window per output
                // pair, no clamping or bounds checks (a loop the compiler can vectorise).
                let mut inner = 0;
                if let Some(rest) = line.get_mut(2..) {
                    for (o, w) in rest.chunks_exact_mut(2).zip(tmp.windows(3)) {
                        let c = 3 * u32::from(w[1]);
                        o[0] = ((u32::from(w[0]) + c + half) >> shift) as u8;
                        o[1] = ((c + u32::from(w[2]) + half) >> shift) as u8;
                        inner += 2;
                    }
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

/// Appends the RGB pixels of one row (JFIF YCbCr, 16-bit fixed point, rounded).
fn ycbcr_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + 3 * y.len(), 0);
    for (((px, &y), &cb), &cr) in out[start..].chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let yv = (i32::from(y) << 16) + 32_768;
        let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
        let r = (yv + 91_881 * cr) >> 16;
        let g = (yv - 22_554 * cb - 46_802 * cr) >> 16;
        let b = (yv + 116_130 * cb) >> 16;
        px.copy_from_slice(&[r, g, b].map(|v| v.clamp(0, 255) as u8));
    }
}

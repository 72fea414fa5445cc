//! PNG shrink-on-load: rows streamed from the `png` crate and box-averaged by an integer
//! factor as they arrive, so a thumbnail of a 50 MP PNG never holds the full image
//! (8660×5773 RGB is 150 MB decoded, more than a 128 MiB instance).
//!
//! Like the JPEG DCT scaling (`shrink`), the reduced image keeps a 2x margin over the box
//! and a Lanczos3 resize finishes the job, so the result stays close to a full decode
//! followed by the same resize. Memory: the `png` crate's own buffers (a few rows and the
//! zlib window), one row of `u64` sums and the reduced image.
//!
//! - Any integer factor, not only powers of two: the largest `f` that keeps the margin.
//!   The output is `ceil(side / f)`; when `f` does not divide a side its groups are `f`
//!   or `f - 1` pixels, spread evenly (see [`BoxShrink`]).
//! - Alpha is averaged premultiplied (sums of `c·a` and of `a`), so fully transparent
//!   pixels, whatever colour they store, do not bleed into their neighbours.
//! - Palette, tRNS and 1/2/4-bit samples are expanded by the `png` crate; 16-bit samples
//!   are summed at 16 bits and rounded to 8 once, at the end.
//! - Interlaced (Adam7) PNGs are not streamed: each pass is a sub-sampled image spread
//!   over the whole height, so the sums of every output row would have to stay alive
//!   until the last pass. They take the full decode under `max_alloc` (413 when too large).

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer};
use png::{BitDepth, ColorType, Transformations};

use crate::decode::copies;
use crate::{Error, Header, Limits};

/// The largest integer factor `f` such that the image reduced by `f`, to
/// `ceil(width / f)` x `ceil(height / f)`, is still at least `2 * min_w` x `2 * min_h`;
/// at least 1.
/// The same 2x margin as [`crate::shrink_factor`], without its power-of-two steps.
pub(crate) fn box_factor(width: u32, height: u32, min_w: u32, min_h: u32) -> u32 {
    // ceil(w / f) >= n  <=>  w / f > n - 1  <=>  f <= (w - 1) / (n - 1), for n >= 2.
    let largest = |side: u32, min: u32| {
        let need = 2 * u64::from(min.max(1));
        (u64::from(side).saturating_sub(1) / (need - 1)).max(1)
    };
    let f = largest(width, min_w).min(largest(height, min_h));
    u32::try_from(f).unwrap_or(u32::MAX)
}

/// Decodes the PNG `bytes` (whose header is `header`) reduced by [`box_factor`] for a box
/// of `min_w` x `min_h` (stored orientation, no EXIF applied). The result is 8-bit: grey,
/// grey+alpha, RGB or RGBA, as the file is.
///
/// `Ok(None)` means "not streamed, use the full decode": no reduction possible (`f` = 1),
/// an interlaced or oddly framed file, or sums that could overflow.
pub(crate) fn decode_png_reduced(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    min_w: u32,
    min_h: u32,
) -> Result<Option<DynamicImage>, Error> {
    let f = box_factor(header.width, header.height, min_w, min_h);
    if f < 2 {
        return Ok(None);
    }
    let budget = usize::try_from(limits.max_alloc).unwrap_or(usize::MAX);
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: budget });
    // Palette, tRNS and low bit depths to 8 bits; 16 bits kept (rounded once, later).
    decoder.set_transformations(Transformations::EXPAND);
    // The header pass (`image`'s decoder) has read the metadata already.
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(map_err)?;
    let info = reader.info();
    let framed_differently = info.frame_control.is_some_and(|fc| {
        (fc.width, fc.height, fc.x_offset, fc.y_offset) != (info.width, info.height, 0, 0)
    });
    if info.interlaced
        || framed_differently
        || (info.width, info.height) != (header.width, header.height)
    {
        return Ok(None);
    }
    let Some(layout) = Layout::of(reader.output_color_type()) else {
        return Ok(None);
    };
    let Some(mut shrink) = BoxShrink::new(layout, header.width, header.height, f) else {
        return Ok(None);
    };
    let (out_w, out_h) = shrink.output_size();
    let needed = shrink
        .output_bytes()
        .saturating_mul(copies(header.orientation, layout.alpha()))
        .saturating_add(shrink.working_bytes());
    limits.check_alloc(
        format_args!(
            "{}x{} reduced to {out_w}x{out_h}",
            header.width, header.height
        ),
        needed,
    )?;
    shrink.reserve();
    while let Some(row) = reader.next_row().map_err(map_err)? {
        shrink.push(row.data())?;
    }
    shrink.finish().map(Some)
}

/// The sample layout of the rows the `png` crate hands out after `EXPAND`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; alpha is always the last channel.
    channels: usize,
    /// 16-bit big-endian samples.
    wide: bool,
}

impl Layout {
    fn of((color, depth): (ColorType, BitDepth)) -> Option<Layout> {
        let channels = match color {
            ColorType::Grayscale => 1,
            ColorType::GrayscaleAlpha => 2,
            ColorType::Rgb => 3,
            ColorType::Rgba => 4,
            ColorType::Indexed => return None, // EXPAND turns palettes into RGB(A)
        };
        let wide = match depth {
            BitDepth::Eight => false,
            BitDepth::Sixteen => true,
            _ => return None, // EXPAND turns 1/2/4 bits into 8
        };
        Some(Layout { channels, wide })
    }

    fn alpha(self) -> bool {
        self.channels.is_multiple_of(2)
    }

    /// What one stored sample at full scale divides by to come back to 8 bits.
    fn scale(self) -> u64 {
        if self.wide { 257 } else { 1 }
    }

    fn bytes_per_pixel(self) -> usize {
        self.channels * if self.wide { 2 } else { 1 }
    }
}

/// Averages groups of about `f` x `f` pixels of rows pushed one at a time into an 8-bit
/// image of `ceil(width / f)` x `ceil(height / f)`.
///
/// The groups are `f` or `f - 1` pixels wide (and high), their edges spread evenly over the
/// image (rounded to whole pixels), so the reduced image covers exactly the source: a
/// short group at the right or bottom edge instead would stretch the picture by up to
/// `f - 1` source pixels, and sharp edges near the far side would land up to a third of
/// an output pixel off (58 levels off a full decode at 1000x779 by 3 in the tests).
/// When `f` divides the side, every group is `f` pixels.
struct BoxShrink {
    layout: Layout,
    width: u32,
    height: u32,
    f: u32,
    /// Per output column: the input column after its group's last.
    col_ends: Vec<u32>,
    /// Per output column and channel: the sum of the group's samples (colour channels
    /// weighted by alpha when there is alpha).
    sums: Vec<u64>,
    /// Input rows summed into `sums` since the last output row.
    pending: u32,
    /// Input rows seen.
    rows: u32,
    /// Output rows made.
    out_rows: u32,
    out: Vec<u8>,
}

/// The end (exclusive) of group `i` when `len` pixels go into `groups` even groups.
fn group_end(i: u32, len: u32, groups: u32) -> u32 {
    let end = (u64::from(i) + 1) * u64::from(len) + u64::from(groups / 2);
    // At most `len`: i < groups.
    (end / u64::from(groups)) as u32
}

impl BoxShrink {
    /// `None` when a group's sums could overflow `u64` (absurdly large groups).
    fn new(layout: Layout, width: u32, height: u32, f: u32) -> Option<BoxShrink> {
        let sample_max = if layout.wide { 65_535u64 } else { 255 };
        let per_pixel = if layout.alpha() {
            sample_max * sample_max
        } else {
            sample_max
        };
        let group = u64::from(f.min(width)) * u64::from(f.min(height));
        // Twice the largest sum, so the rounding in `divide` cannot overflow either.
        group
            .checked_mul(per_pixel)?
            .checked_mul(2 * layout.scale())?;
        let out_w = width.div_ceil(f);
        let col_ends = (0..out_w).map(|i| group_end(i, width, out_w)).collect();
        Some(BoxShrink {
            layout,
            width,
            height,
            f,
            col_ends,
            sums: vec![0; usize::try_from(out_w).ok()? * layout.channels],
            pending: 0,
            rows: 0,
            out_rows: 0,
            out: Vec::new(),
        })
    }

    fn output_size(&self) -> (u32, u32) {
        (self.width.div_ceil(self.f), self.height.div_ceil(self.f))
    }

    /// The reduced image, 8 bits per sample.
    fn output_bytes(&self) -> u64 {
        let (w, h) = self.output_size();
        u64::from(w) * u64::from(h) * self.layout.channels as u64
    }

    /// The row of sums and the column groups.
    fn working_bytes(&self) -> u64 {
        (self.sums.len() * size_of::<u64>() + self.col_ends.len() * size_of::<u32>()) as u64
    }

    /// Allocates the reduced image (once the budget has been checked).
    fn reserve(&mut self) {
        self.out
            .reserve_exact(usize::try_from(self.output_bytes()).unwrap_or(0));
    }

    fn push(&mut self, row: &[u8]) -> Result<(), Error> {
        let expected = self.width as usize * self.layout.bytes_per_pixel();
        if row.len() != expected || self.rows >= self.height {
            return Err(Error::Corrupt(format!(
                "PNG row {} has {} bytes, expected {expected}",
                self.rows,
                row.len()
            )));
        }
        let (sums, ends) = (&mut self.sums, &self.col_ends);
        match (self.layout.channels, self.layout.wide) {
            (1, false) => add_row::<1, 1>(sums, row, ends),
            (2, false) => add_row::<2, 1>(sums, row, ends),
            (3, false) => add_row::<3, 1>(sums, row, ends),
            (4, false) => add_row::<4, 1>(sums, row, ends),
            (1, true) => add_row::<1, 2>(sums, row, ends),
            (2, true) => add_row::<2, 2>(sums, row, ends),
            (3, true) => add_row::<3, 2>(sums, row, ends),
            _ => add_row::<4, 2>(sums, row, ends),
        }
        self.rows += 1;
        self.pending += 1;
        let (_, out_h) = self.output_size();
        if self.rows == group_end(self.out_rows, self.height, out_h) {
            self.emit();
        }
        Ok(())
    }

    /// Turns the sums into one output row and clears them.
    fn emit(&mut self) {
        let (channels, scale) = (self.layout.channels, self.layout.scale());
        let rows = u64::from(self.pending);
        let mut start = 0;
        for (sum, &end) in self.sums.chunks_exact_mut(channels).zip(&self.col_ends) {
            let count = u64::from(end - start) * rows * scale;
            start = end;
            if self.layout.alpha() {
                let (colour, alpha) = sum.split_at(channels - 1);
                let a = alpha[0];
                // Premultiplied sums over the summed alpha: the alpha-weighted mean colour.
                self.out.extend(
                    colour
                        .iter()
                        .map(|&c| if a == 0 { 0 } else { divide(c, a * scale) }),
                );
                self.out.push(divide(a, count));
            } else {
                self.out.extend(sum.iter().map(|&s| divide(s, count)));
            }
            sum.fill(0);
        }
        self.pending = 0;
        self.out_rows += 1;
    }

    fn finish(self) -> Result<DynamicImage, Error> {
        if self.rows != self.height {
            return Err(Error::Corrupt(format!(
                "PNG has {} rows, its header says {}",
                self.rows, self.height
            )));
        }
        let (w, h) = self.output_size();
        let img = match self.layout.channels {
            1 => ImageBuffer::from_raw(w, h, self.out).map(DynamicImage::ImageLuma8),
            2 => ImageBuffer::from_raw(w, h, self.out).map(DynamicImage::ImageLumaA8),
            3 => ImageBuffer::from_raw(w, h, self.out).map(DynamicImage::ImageRgb8),
            _ => ImageBuffer::from_raw(w, h, self.out).map(DynamicImage::ImageRgba8),
        };
        img.ok_or_else(|| Error::Corrupt("reduced PNG has the wrong size".into()))
    }
}

/// Adds one row of `C`-channel pixels with `B`-byte big-endian samples into the per-group
/// `sums` (group `i` ends before pixel `ends[i]`). With alpha (C = 2 or 4, last channel)
/// colour samples are added multiplied by their alpha.
fn add_row<const C: usize, const B: usize>(sums: &mut [u64], row: &[u8], ends: &[u32]) {
    let alpha = C.is_multiple_of(2);
    let sample = |px: &[u8], k: usize| -> u64 {
        if B == 1 {
            u64::from(px[k])
        } else {
            u64::from(u16::from_be_bytes([px[2 * k], px[2 * k + 1]]))
        }
    };
    let mut start = 0;
    for (sum, &end) in sums.chunks_exact_mut(C).zip(ends) {
        let group = &row[start * C * B..end as usize * C * B];
        start = end as usize;
        for px in group.chunks_exact(C * B) {
            let weight = if alpha { sample(px, C - 1) } else { 1 };
            let colours = if alpha { C - 1 } else { C };
            for (k, s) in sum[..colours].iter_mut().enumerate() {
                *s += sample(px, k) * weight;
            }
            if alpha {
                sum[C - 1] += weight;
            }
        }
    }
}

/// `sum / count` rounded half up, as a sample (`count` > 0; at most 255 by construction).
fn divide(sum: u64, count: u64) -> u8 {
    ((sum + count / 2) / count).min(255) as u8
}

fn map_err(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::LimitsExceeded => {
            Error::TooLarge("the PNG decoder's buffers pass the allocation limit".into())
        }
        other => Error::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_factor_keeps_twice_the_box() {
        assert_eq!(box_factor(8660, 5773, 128, 85), 33); // 263x175 >= 256x170
        assert_eq!(box_factor(640, 480, 16, 12), 20);
        assert_eq!(box_factor(10, 10, 1, 1), 9); // ceil(10/9) = 2
        assert_eq!(box_factor(300, 200, 128, 96), 1);
        assert_eq!(box_factor(1, 1, 1, 1), 1);
        for (w, h, bw, bh) in [
            (1001, 777, 125, 97),
            (4096, 4096, 1024, 1024),
            (37, 5000, 3, 40),
        ] {
            let f = box_factor(w, h, bw, bh);
            assert!(
                w.div_ceil(f) >= 2 * bw && h.div_ceil(f) >= 2 * bh,
                "{w}x{h} by {f}"
            );
            let g = f + 1;
            assert!(
                w.div_ceil(g) < 2 * bw || h.div_ceil(g) < 2 * bh,
                "{w}x{h}: {g} also fits"
            );
        }
    }

    #[test]
    fn transparent_pixels_do_not_bleed() {
        let layout = Layout {
            channels: 4,
            wide: false,
        };
        let mut shrink = BoxShrink::new(layout, 3, 2, 2).unwrap();
        shrink.reserve();
        // Opaque red next to transparent green; a lone half-transparent blue at the edge.
        let row = [255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128];
        shrink.push(&row).unwrap();
        shrink.push(&row).unwrap();
        let img = shrink.finish().unwrap().to_rgba8();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0, 128]);
        assert_eq!(img.get_pixel(1, 0).0, [0, 0, 255, 128]);
    }

    #[test]
    fn sixteen_bit_rounds_once() {
        let layout = Layout {
            channels: 1,
            wide: true,
        };
        let mut shrink = BoxShrink::new(layout, 2, 1, 2).unwrap();
        shrink.reserve();
        // 0xFF00 is 254.0 on the 8-bit scale; keeping the high byte would say 255.
        shrink.push(&[0xFF, 0x00, 0xFF, 0x00]).unwrap();
        assert_eq!(shrink.finish().unwrap().to_luma8().into_raw(), [254]);
    }

    #[test]
    fn short_and_wrong_rows_are_corrupt() {
        let layout = Layout {
            channels: 3,
            wide: false,
        };
        let mut shrink = BoxShrink::new(layout, 4, 4, 2).unwrap();
        assert!(matches!(shrink.push(&[0; 11]), Err(Error::Corrupt(_))));
        shrink.push(&[0; 12]).unwrap();
        assert!(matches!(shrink.finish(), Err(Error::Corrupt(_))));
    }
}

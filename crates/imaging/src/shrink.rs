//! JPEG shrink-on-load: decode with DCT scaling (1/2, 1/4, 1/8), by our own decoders
//! where they apply (8-bit Huffman baseline and progressive files), else by
//! `jpeg-decoder`; and the full-size decode of baseline files by our own decoder.
//!
//! Like libvips and Pillow's `draft`, we keep a 2x margin: the scaled decode is at least
//! twice the requested box in both directions, so the final resampling still has enough
//! pixels to filter and the result matches a full decode followed by a resize.
//! Only 8-bit greyscale and YCbCr/RGB JPEGs take this path; CMYK, 12/16-bit and anything
//! `jpeg-decoder` does not support fall back to the full decode.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, RgbImage};

use crate::{Error, Header, Limits};

mod baseline;
mod dc;
mod entropy;
mod idct;
mod idct8;
mod markers;
mod output;
mod progressive;
mod scan;

pub(crate) use baseline::ZIGZAG;

/// The DCT scale denominators `jpeg-decoder` offers, largest first.
const DENOMINATORS: [u32; 3] = [8, 4, 2];

/// The largest denominator `d` in {1, 2, 4, 8} such that the image decoded at `1/d`
/// is still at least `2 * min_w` x `2 * min_h` (sizes in stored orientation).
///
/// ```
/// assert_eq!(imaging::shrink_factor(4000, 3000, 128, 96), 8);  // 500x375 >= 256x192
/// assert_eq!(imaging::shrink_factor(640, 480, 128, 96), 2);    // 320x240 >= 256x192
/// assert_eq!(imaging::shrink_factor(300, 200, 128, 96), 1);
/// ```
pub fn shrink_factor(width: u32, height: u32, min_w: u32, min_h: u32) -> u32 {
    let need_w = u64::from(min_w) * 2;
    let need_h = u64::from(min_h) * 2;
    DENOMINATORS
        .into_iter()
        .find(|&d| {
            u64::from(width.div_ceil(d)) >= need_w && u64::from(height.div_ceil(d)) >= need_h
        })
        .unwrap_or(1)
}

/// Decodes `bytes` (a JPEG whose header is `header`) scaled down by the largest DCT factor
/// that keeps the 2x margin over `min_w` x `min_h` (stored orientation, no EXIF applied).
///
/// `Ok(None)` means "no shrinking possible or supported here, use the full decode".
pub(crate) fn decode_jpeg_scaled(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
    min_w: u32,
    min_h: u32,
) -> Result<Option<DynamicImage>, Error> {
    let d = shrink_factor(header.width, header.height, min_w, min_h);
    if d == 1 {
        return Ok(None);
    }
    let Some(kind) = markers::frame_kind(bytes) else {
        return Ok(None);
    };
    // jpeg-decoder's `info()` panics on unusual component counts; only take known-good shapes.
    if kind.precision != 8 || !matches!(kind.components, 1 | 3) {
        return Ok(None);
    }
    let fits = |img: &DynamicImage, d: u32| {
        (img.width(), img.height()) == (header.width.div_ceil(d), header.height.div_ceil(d))
            && img.width() >= min_w
            && img.height() >= min_h
    };
    // Our decoders allocate for the frame header's size: only when it is the size the
    // header was checked with (a garbled file could hide another frame header).
    let same_frame = (kind.width, kind.height) == (header.width, header.height);
    if same_frame
        && let Some(img) = decode_own(bytes, d, limits.max_alloc)
        && fits(&img, d)
    {
        return Ok(Some(img));
    }
    // A progressive file our decoder did not take (too large for it, or a shape it does
    // not handle) that `jpeg-decoder` cannot hold either: a coarser scale of ours (down to
    // the 1/8 DC image) that still covers the box beats an error, or an instance out of
    // memory (`jpeg-decoder` does not keep to its buffer limit).
    if same_frame
        && let Some(frame) = markers::frame(bytes)
        && frame.progressive
        && progressive::full_coefficient_bytes(&frame).is_none_or(|n| n > limits.max_alloc)
    {
        for coarser in [4, 8].into_iter().filter(|&c| c > d) {
            if let Some(img) = progressive::decode(bytes, coarser, limits.max_alloc)
                && fits(&img, coarser)
            {
                return Ok(Some(img));
            }
        }
    }
    let (Ok(req_w), Ok(req_h)) = (
        u16::try_from(header.width.div_ceil(d)),
        u16::try_from(header.height.div_ceil(d)),
    ) else {
        return Ok(None);
    };

    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let (w, h) = match decoder.scale(req_w, req_h) {
        Ok(size) => size,
        Err(jpeg_decoder::Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(map_err(e)),
    };
    let (w, h) = (u32::from(w), u32::from(h));
    if w < min_w || h < min_h {
        return Ok(None); // never return less than the box
    }
    let pixels = match decoder.decode() {
        Ok(p) => p,
        Err(jpeg_decoder::Error::Unsupported(_)) => return Ok(None),
        Err(e) => return Err(map_err(e)),
    };
    let img = match kind.components {
        1 => GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        _ => RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
    };
    img.map(Some)
        .ok_or_else(|| Error::Corrupt("scaled JPEG decode has the wrong size".into()))
}

/// Decodes a baseline JPEG (8-bit Huffman, one scan, one or three components) at full
/// size with our own decoder: libjpeg-turbo's arithmetic, so Pillow's pixels, in a
/// fraction of `image`'s (zune-jpeg's) time in wasm, where zune-jpeg has no SIMD.
///
/// `Ok(None)`: not such a file, or corrupt (then `image`'s decoder decodes or reports
/// it). `Err` when the pixels would exceed `max_alloc`, as `image`'s path reports it.
pub(crate) fn decode_jpeg_full(
    bytes: &[u8],
    header: &Header,
    limits: &Limits,
) -> Result<Option<DynamicImage>, Error> {
    let Some(kind) = markers::frame_kind(bytes) else {
        return Ok(None);
    };
    let ours = matches!(kind.marker, 0xC0 | 0xC1)
        && kind.precision == 8
        && matches!(kind.components, 1 | 3)
        && (kind.width, kind.height) == (header.width, header.height);
    if !ours {
        return Ok(None);
    }
    let channels = if kind.components == 1 { 1 } else { 3 };
    let pixels = u64::from(header.width) * u64::from(header.height) * channels;
    limits.check_alloc(
        format_args!("{}x{}", header.width, header.height),
        pixels.saturating_mul(crate::decode::copies(header.orientation, false)),
    )?;
    Ok(baseline::decode(bytes, 1)
        .filter(|img| (img.width(), img.height()) == (header.width, header.height)))
}

/// The stored size and EXIF orientation of a JPEG that our own scaled decoders take
/// (8-bit Huffman, one or three components), read by our marker walk alone; `None` for
/// any other file, whose header `image` reads. Sparing `image`'s JPEG decoder here spares
/// its copy of the whole file and its two header parses (one more for the EXIF): in a
/// fresh wasm instance that copy alone is a page fault per 4 KiB, about a twentieth of a
/// 2 MP thumbnail request (docs/performance.md, "Per-request cost").
pub(crate) fn own_header(bytes: &[u8]) -> Option<(u32, u32, u8)> {
    let kind = markers::frame_kind(bytes)?;
    let ours = markers::is_huffman_8bit_sof(kind.marker)
        && kind.precision == 8
        && matches!(kind.components, 1 | 3)
        && kind.width > 0
        && kind.height > 0;
    if !ours {
        return None;
    }
    // Bogus EXIF is not an error, as in `header::open`: the image is shown as stored.
    let orientation = markers::exif(bytes)
        .and_then(image::metadata::Orientation::from_exif_chunk)
        .map_or(1, |o| o.to_exif());
    Some((kind.width, kind.height, orientation))
}

/// Our own scaled decoders, where they apply: baseline files at any scale (a fast
/// Huffman decoder that keeps only the coefficients the scale needs), progressive ones
/// keeping only the coefficients the scale needs of every block (at 1/8 from their DC
/// scans alone): far less memory than keeping all coefficients, which a 50 MP image
/// cannot do within 128 MiB. Allocates at most about `max_alloc` bytes. `None`: use
/// `jpeg-decoder`.
pub(crate) fn decode_own(bytes: &[u8], d: u32, max_alloc: u64) -> Option<DynamicImage> {
    match markers::frame_kind(bytes)?.marker {
        0xC0 | 0xC1 => baseline::decode(bytes, d),
        0xC2 => progressive::decode(bytes, d, max_alloc),
        _ => None,
    }
}

fn map_err(e: jpeg_decoder::Error) -> Error {
    match e {
        jpeg_decoder::Error::Unsupported(_) => Error::Unsupported,
        other => Error::Corrupt(other.to_string()),
    }
}

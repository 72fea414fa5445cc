//! JPEG shrink-on-load: decode with DCT scaling (1/2, 1/4, 1/8) via `jpeg-decoder`.
//!
//! Like libvips and Pillow's `draft`, we keep a 2x margin: the scaled decode is at least
//! twice the requested box in both directions, so the final resampling still has enough
//! pixels to filter and the result matches a full decode followed by a resize.
//! Only 8-bit greyscale and YCbCr/RGB JPEGs take this path; CMYK, 12/16-bit and anything
//! `jpeg-decoder` does not support fall back to the full decode.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, RgbImage};

use crate::{Error, Header, Limits};

mod dc;

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

/// Frame parameters from the JPEG start-of-frame segment.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// SOF2: progressive, Huffman-coded.
    progressive: bool,
    precision: u8,
    components: u8,
}

/// Walks the marker segments up to the first SOFn. Tolerant: returns `None` on anything odd.
fn scan_frame(b: &[u8]) -> Option<Frame> {
    let mut i = 2; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *b.get(i)? != 0xFF {
            return None;
        }
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        if matches!(marker, 0x01 | 0xD0..=0xD8) {
            continue; // standalone markers carry no length
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let seg = b.get(i + 2..i + len)?;
                return Some(Frame {
                    progressive: marker == 0xC2,
                    precision: *seg.first()?,
                    components: *seg.get(5)?,
                });
            }
            0xDA | 0xD9 => return None, // scan or end before any frame header
            _ => i += len,
        }
    }
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
    let Some(frame) = scan_frame(bytes) else {
        return Ok(None);
    };
    // jpeg-decoder's `info()` panics on unusual component counts; only take known-good shapes.
    if frame.precision != 8 || !matches!(frame.components, 1 | 3) {
        return Ok(None);
    }
    // At 1/8 a progressive JPEG needs only its DC scans: far less work and memory than
    // keeping all coefficients (which a 50 MP image cannot do within 128 MiB).
    if d == 8
        && frame.progressive
        && let Some(img) = dc::decode_dc(bytes)
        && (img.width(), img.height()) == (header.width.div_ceil(8), header.height.div_ceil(8))
        && img.width() >= min_w
        && img.height() >= min_h
    {
        return Ok(Some(img));
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
    let img = match frame.components {
        1 => GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        _ => RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
    };
    img.map(Some)
        .ok_or_else(|| Error::Corrupt("scaled JPEG decode has the wrong size".into()))
}

fn map_err(e: jpeg_decoder::Error) -> Error {
    match e {
        jpeg_decoder::Error::Unsupported(_) => Error::Unsupported,
        other => Error::Corrupt(other.to_string()),
    }
}

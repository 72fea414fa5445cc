//! Full decodes and shrink-on-load decodes, with limits and EXIF orientation applied.

use image::{DynamicImage, ImageDecoder};

use crate::header::open;
use crate::orientation::{apply_orientation, to_stored};
use crate::{Error, Format, Header, Limits, png_stream, shrink};

/// Decodes the whole image: header checked against `limits` first, `image::Limits` set,
/// EXIF orientation applied (the result is upright). Baseline JPEGs take our own
/// decoder, as in [`decode_planned`].
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, Error> {
    decode_planned(bytes, limits, |header| Ok(header.oriented_size())).map(|(_, img)| img)
}

/// Decodes an image that will be shown at (or reduced to) `min_w` x `min_h` (upright
/// orientation). JPEGs are decoded with DCT scaling (baseline ones by our own decoder at
/// any scale, full size included), non-interlaced PNGs streamed row by
/// row and box-averaged, each at the smallest size that is still at least twice the box
/// (and never smaller than the box); other formats are decoded fully.
/// Orientation is applied. Resize the result to the final size with [`crate::resize`].
pub fn decode_at_least(
    bytes: &[u8],
    limits: &Limits,
    min_w: u32,
    min_h: u32,
) -> Result<DynamicImage, Error> {
    decode_planned(bytes, limits, |_| Ok((min_w, min_h))).map(|(_, img)| img)
}

/// Opens `bytes`, lets `plan` choose the upright box from the header (geometry decided
/// before any pixel is touched), then decodes at least that box. Returns the header too.
pub fn decode_planned(
    bytes: &[u8],
    limits: &Limits,
    plan: impl FnOnce(&Header) -> Result<(u32, u32), Error>,
) -> Result<(Header, DynamicImage), Error> {
    // A JPEG our scaled decoders take is opened without `image` (`shrink::own_header`);
    // its decoder is made only if our decode (scaled or full) declines.
    let (header, decoder) = match own_jpeg_header(bytes, limits)? {
        Some(header) => (header, None),
        None => open(bytes, limits).map(|(header, decoder)| (header, Some(decoder)))?,
    };
    let (min_w, min_h) = plan(&header)?;
    if min_w == 0 || min_h == 0 {
        return Err(Error::InvalidParameter(format!(
            "box {min_w}x{min_h} is empty"
        )));
    }
    let (sw, sh) = to_stored(header.orientation, min_w, min_h);
    let own = match header.format {
        Format::Jpeg => match shrink::decode_jpeg_scaled(bytes, &header, limits, sw, sh)? {
            Some(img) => Some(img),
            None => shrink::decode_jpeg_full(bytes, &header, limits)?,
        },
        Format::Png => png_stream::decode_png_reduced(bytes, &header, limits, sw, sh)?,
        _ => None,
    };
    match (own, decoder) {
        (Some(img), _) => Ok((header, apply_orientation(img, header.orientation))),
        (None, Some(decoder)) => finish(header, decoder, limits).map(|img| (header, img)),
        (None, None) => {
            let (opened, decoder) = open(bytes, limits)?;
            finish(opened, decoder, limits).map(|img| (opened, img))
        }
    }
}

/// [`Header`] of a JPEG our own decoders take, with the limits checked as [`open`]
/// checks them; `None` for any other file.
fn own_jpeg_header(bytes: &[u8], limits: &Limits) -> Result<Option<Header>, Error> {
    if crate::sniff(bytes) != Some(Format::Jpeg) {
        return Ok(None);
    }
    let Some((width, height, orientation)) = shrink::own_header(bytes) else {
        return Ok(None);
    };
    limits.validate()?;
    limits.check_dimensions(width, height)?;
    Ok(Some(Header {
        format: Format::Jpeg,
        width,
        height,
        orientation,
        has_alpha: false,
    }))
}

fn finish(
    header: Header,
    decoder: impl ImageDecoder,
    limits: &Limits,
) -> Result<DynamicImage, Error> {
    // `DynamicImage::from_decoder` does not check `max_alloc` itself (`ImageReader::decode` would).
    let copies = copies(header.orientation, decoder.color_type().has_alpha());
    limits.check_alloc(
        format_args!("{}x{}", header.width, header.height),
        decoder.total_bytes().saturating_mul(copies),
    )?;
    let img = DynamicImage::from_decoder(decoder).map_err(Error::from_decode)?;
    Ok(apply_orientation(img, header.orientation))
}

/// How many image-sized buffers a decode leads to: the decoded one is not the only copy,
/// an EXIF rotation makes a rotated one, and resizing an image with alpha a premultiplied
/// one, so those count twice against `max_alloc`.
pub(crate) fn copies(orientation: u8, has_alpha: bool) -> u64 {
    if orientation != 1 || has_alpha { 2 } else { 1 }
}

//! Header-only reads: format, size and EXIF orientation, before any pixel is decoded.

use std::io::Cursor;

use image::{ImageDecoder, ImageReader};

use crate::{Error, Format, Limits, orientation};

/// What the header says about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    /// Stored width (before orientation is applied).
    pub width: u32,
    /// Stored height (before orientation is applied).
    pub height: u32,
    /// EXIF orientation, 1..=8 (1 when absent or invalid).
    pub orientation: u8,
    /// Whether the pixels carry an alpha channel (decides PNG over JPEG for `format=auto`).
    pub has_alpha: bool,
}

impl Header {
    /// Size as displayed, after the EXIF orientation is applied (5..=8 swap the sides).
    pub fn oriented_size(&self) -> (u32, u32) {
        if orientation::swaps_dimensions(self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// `width * height`.
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Reads the header and refuses images over [`Limits::max_pixels`] without decoding pixels.
pub fn read_header(bytes: &[u8], limits: &Limits) -> Result<Header, Error> {
    open(bytes, limits).map(|(header, _)| header)
}

/// Opens a decoder with `image::Limits` set, reads the header and checks the pixel limit.
/// The returned decoder has not decoded any pixel yet.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<(Header, impl ImageDecoder + 'a), Error> {
    limits.validate()?;
    let format = crate::sniff(bytes).ok_or(Error::Unsupported)?;
    if format == Format::Tiff {
        crate::tiff_guard::check(bytes)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits.to_image_limits());
    let mut decoder = reader.into_decoder().map_err(Error::from_decode)?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(width, height)?;
    // Bogus EXIF is not an error: the image is shown as stored.
    let orientation = decoder.orientation().map(|o| o.to_exif()).unwrap_or(1);
    let has_alpha = decoder.color_type().has_alpha();
    Ok((
        Header {
            format,
            width,
            height,
            orientation,
            has_alpha,
        },
        decoder,
    ))
}

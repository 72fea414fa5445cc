//! Encoders: JPEG (quality, 4:2:0), PNG, WebP (lossless). Metadata is never written:
//! the encoders get bare pixels, so EXIF, XMP and ICC of the source are dropped.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder};

use crate::{Error, OutputFormat};

/// Encodes `img` (8-bit RGB or RGBA; JPEG input must be RGB) as `format`.
pub(crate) fn encode(img: &DynamicImage, format: OutputFormat, quality: u8) -> Result<Vec<u8>, Error> {
    let (w, h) = (img.width(), img.height());
    let (bytes, color) = match img {
        DynamicImage::ImageRgb8(b) => (b.as_raw().as_slice(), ExtendedColorType::Rgb8),
        DynamicImage::ImageRgba8(b) => (b.as_raw().as_slice(), ExtendedColorType::Rgba8),
        _ => return Err(Error::Internal("encode expects 8-bit RGB or RGBA".into())),
    };
    let mut out = Vec::new();
    let result = match format {
        OutputFormat::Jpeg => {
            if color != ExtendedColorType::Rgb8 {
                return Err(Error::Internal("JPEG needs RGB (flatten first)".into()));
            }
            JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100)).write_image(bytes, w, h, color)
        }
        OutputFormat::Png => PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Adaptive)
            .write_image(bytes, w, h, color),
        OutputFormat::Webp => WebPEncoder::new_lossless(Cursor::new(&mut out)).write_image(bytes, w, h, color),
        OutputFormat::Avif => return Err(Error::range("format", "avif output is not available in this build")),
    };
    result.map_err(|e| Error::Internal(format!("{} encoding failed: {e}", format.name())))?;
    Ok(out)
}

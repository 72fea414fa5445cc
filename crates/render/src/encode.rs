//! Encoders: JPEG (quality, 4:2:0, baseline or progressive), PNG, WebP (lossy through
//! libwebp, see the `webp` module, or lossless through `image-webp`), AVIF (ravif/rav1e,
//! quality and speed).
//! Metadata is never written: the encoders get bare pixels, so EXIF, XMP and ICC of the
//! source are dropped.
//!
//! JPEG goes through `imaging::jpeg_pixels`: imaging's own baseline writer (about twice
//! `jpeg-encoder`'s speed in wasm at equal SSIM, docs/performance.md), and the
//! `jpeg-encoder` crate for progressive output; `examples/jpeg_encoders.rs` compares
//! them with `image`'s encoder.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder};

use crate::{Error, OutputFormat, webp};

/// How to encode, beyond the format and quality.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// JPEG: progressive scans with optimised Huffman tables (about 10 % smaller, 40 %
    /// slower to encode).
    pub progressive: bool,
    /// AVIF: rav1e speed 1..=10 (10 fastest).
    pub avif_speed: u8,
    /// WebP: lossless (`image-webp`) instead of lossy (libwebp at `quality`).
    pub lossless: bool,
    /// WebP lossy: libwebp's `method` 0..=6 (sharp's `effort`; 0 fastest, 6 smallest).
    pub webp_effort: u8,
}

/// Encodes `img` (8-bit RGB or RGBA; JPEG input must be RGB) as `format`. Takes the
/// image so that an encoder with its own copy of the pixels (libwebp) can free ours.
pub(crate) fn encode(
    img: DynamicImage,
    format: OutputFormat,
    quality: u8,
    settings: Settings,
) -> Result<Vec<u8>, Error> {
    if format == OutputFormat::Webp && !settings.lossless {
        return webp::encode_lossy(img, quality, settings.webp_effort);
    }
    let (w, h) = (img.width(), img.height());
    let (bytes, color) = match &img {
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
            return jpeg(bytes, w, h, quality, settings.progressive);
        }
        OutputFormat::Png => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Adaptive)
                .write_image(bytes, w, h, color)
        }
        OutputFormat::Webp => {
            WebPEncoder::new_lossless(Cursor::new(&mut out)).write_image(bytes, w, h, color)
        }
        OutputFormat::Avif => {
            return avif(
                bytes,
                w,
                h,
                color == ExtendedColorType::Rgba8,
                quality,
                settings.avif_speed,
            );
        }
    };
    result.map_err(|e| Error::Internal(format!("{} encoding failed: {e}", format.name())))?;
    Ok(out)
}

/// A 4:2:0 JPEG of 8-bit RGB pixels through `imaging::jpeg_pixels` (its own writer for
/// baseline, `jpeg-encoder` for progressive); a size past JPEG's 65535 px is the
/// request's `w` out of range.
fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8, progressive: bool) -> Result<Vec<u8>, Error> {
    let (color, sampling) = (jpeg_encoder::ColorType::Rgb, jpeg_encoder::SamplingFactor::F_2_2);
    imaging::jpeg_pixels(rgb, w, h, color, sampling, quality, progressive).map_err(|e| match e {
        imaging::Error::InvalidParameter(detail) => Error::range("w", detail),
        e => Error::Internal(format!("jpeg encoding failed: {e}")),
    })
}

/// An AVIF of 8-bit RGB(A) pixels through ravif/rav1e (single-threaded, no asm).
fn avif(px: &[u8], w: u32, h: u32, alpha: bool, quality: u8, speed: u8) -> Result<Vec<u8>, Error> {
    let encoder = ravif::Encoder::new()
        .with_quality(f32::from(quality.clamp(1, 100)))
        .with_alpha_quality(f32::from(quality.clamp(1, 100)))
        .with_speed(speed.clamp(1, 10))
        .with_num_threads(Some(1));
    let (w, h) = (w as usize, h as usize);
    let encoded = if alpha {
        let rgba: Vec<ravif::RGBA8> = px
            .chunks_exact(4)
            .map(|c| ravif::RGBA8::new(c[0], c[1], c[2], c[3]))
            .collect();
        encoder.encode_rgba(ravif::Img::new(&rgba[..], w, h))
    } else {
        let rgb: Vec<ravif::RGB8> = px
            .chunks_exact(3)
            .map(|c| ravif::RGB8::new(c[0], c[1], c[2]))
            .collect();
        encoder.encode_rgb(ravif::Img::new(&rgb[..], w, h))
    };
    encoded
        .map(|e| e.avif_file)
        .map_err(|e| Error::Internal(format!("avif encoding failed: {e}")))
}

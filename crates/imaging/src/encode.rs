//! Encoding to the supported formats. JPEG output has alpha flattened on white.

use std::io::Cursor;

use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, RgbImage};

use crate::jpeg_writer::{self, Layout};
use crate::{Error, Format};

/// Encodes `img` as `format`. `quality` (1..=100) is used by JPEG; WebP is lossless (the
/// only WebP encoder the `image` crate has), the other formats are lossless by nature.
pub fn encode(img: &DynamicImage, format: Format, quality: u8) -> Result<Vec<u8>, Error> {
    if format == Format::Jpeg {
        return encode_jpeg(img, quality);
    }
    // Every encoder accepts 8-bit RGB/RGBA; normalise to those.
    let img = if img.color().has_alpha() {
        DynamicImage::ImageRgba8(img.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    let mut out = Cursor::new(Vec::new());
    if format == Format::Webp {
        WebPEncoder::new_lossless(&mut out)
            .write_image(
                img.as_bytes(),
                img.width(),
                img.height(),
                img.color().into(),
            )
            .map_err(Error::from_encode)?;
    } else {
        img.write_to(&mut out, format.image_format())
            .map_err(Error::from_encode)?;
    }
    Ok(out.into_inner())
}

/// Encodes a baseline 4:4:4 JPEG at `quality` (1..=100); alpha is composited on white.
/// No chroma subsampling, as `image`'s encoder (which this replaced) did: thumbnails and
/// the fixtures tests make keep their colour detail and their sizes.
pub fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, Error> {
    check_quality(quality)?;
    match img {
        DynamicImage::ImageLuma8(grey) => jpeg_pixels(
            grey.as_raw(),
            grey.width(),
            grey.height(),
            jpeg_encoder::ColorType::Luma,
            jpeg_encoder::SamplingFactor::F_1_1,
            quality,
            false,
        ),
        _ => {
            let rgb = flatten_on_white(img);
            let (w, h) = rgb.dimensions();
            let (color, sampling) = (
                jpeg_encoder::ColorType::Rgb,
                jpeg_encoder::SamplingFactor::F_1_1,
            );
            jpeg_pixels(rgb.as_raw(), w, h, color, sampling, quality, false)
        }
    }
}

/// A JPEG of 8-bit `color` pixels with the chroma `sampling` (`F_2_2` is 4:2:0), baseline
/// or progressive. Baseline greyscale, 4:4:4 and 4:2:0 go through our own writer
/// (`jpeg_writer`: in wasm about twice `jpeg-encoder`'s speed, docs/performance.md);
/// progressive output (with optimised Huffman tables) and other layouts through the
/// `jpeg-encoder` crate. More than 65535 px a side is [`Error::InvalidParameter`].
pub fn jpeg_pixels(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: jpeg_encoder::ColorType,
    sampling: jpeg_encoder::SamplingFactor,
    quality: u8,
    progressive: bool,
) -> Result<Vec<u8>, Error> {
    use jpeg_encoder::{ColorType, SamplingFactor};
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(Error::InvalidParameter(format!(
            "a JPEG is at most 65535 px a side, not {width}x{height}"
        )));
    };
    let layout = match (color, sampling) {
        _ if progressive => None,
        (ColorType::Luma, _) => Some(Layout::Grey),
        (ColorType::Rgb, SamplingFactor::F_1_1) => Some(Layout::Rgb444),
        (ColorType::Rgb, SamplingFactor::F_2_2) => Some(Layout::Rgb420),
        _ => None,
    };
    if let Some(layout) = layout {
        return jpeg_writer::encode(pixels, w, h, layout, quality);
    }
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(sampling);
    if progressive {
        encoder.set_progressive(true);
        encoder.set_optimized_huffman_tables(true);
    }
    encoder
        .encode(pixels, w, h, color)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

/// Drops alpha by compositing over white (transparent areas become white, not black).
pub fn flatten_on_white(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

pub(crate) fn check_quality(quality: u8) -> Result<(), Error> {
    if (1..=100).contains(&quality) {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "quality {quality} is not in 1..=100"
        )))
    }
}

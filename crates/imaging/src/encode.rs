//! Encoding to the supported formats. JPEG output has alpha flattened on white.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, RgbImage};

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

/// Encodes a baseline JPEG at `quality` (1..=100); alpha is composited on white.
pub fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, Error> {
    check_quality(quality)?;
    let mut out = Vec::new();
    let encoder = JpegEncoder::new_with_quality(&mut out, quality);
    match img {
        DynamicImage::ImageLuma8(grey) => encoder.write_image(
            grey.as_raw(),
            grey.width(),
            grey.height(),
            image::ExtendedColorType::L8,
        ),
        _ => {
            let rgb = flatten_on_white(img);
            encoder.write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
    }
    .map_err(Error::from_encode)?;
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

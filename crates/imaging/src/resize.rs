//! Resampling with `fast_image_resize` (SIMD on x86 and wasm32 `simd128`).

use fast_image_resize::{CpuExtensions, FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use crate::Error;

/// Resizes `img` to exactly `width` x `height` with a Lanczos3 convolution.
/// Alpha is handled premultiplied, so transparent pixels do not bleed colour.
pub fn resize(img: &DynamicImage, width: u32, height: u32) -> Result<DynamicImage, Error> {
    resize_on(img, width, height, Cpu::Simd)
}

/// Which code `fast_image_resize` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cpu {
    /// The best SIMD the target has (what the service runs).
    Simd,
    /// Plain scalar code: the reference a SIMD build is checked against, since Rust
    /// 1.95/1.96 miscompile some wasm SIMD (rust-lang/rust#157456).
    Scalar,
}

pub(crate) fn resize_on(
    img: &DynamicImage,
    width: u32,
    height: u32,
    cpu: Cpu,
) -> Result<DynamicImage, Error> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidParameter(format!(
            "resize to {width}x{height}"
        )));
    }
    if (width, height) == (img.width(), img.height()) {
        return Ok(img.clone());
    }
    // fast_image_resize handles every DynamicImage layout except these; widen them first.
    let converted;
    let src = match img {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_)
        | DynamicImage::ImageRgb32F(_)
        | DynamicImage::ImageRgba32F(_) => img,
        other => {
            converted = if other.color().has_alpha() {
                DynamicImage::ImageRgba8(other.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(other.to_rgb8())
            };
            &converted
        }
    };
    let mut dst = DynamicImage::new(width, height, src.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut resizer = Resizer::new();
    if cpu == Cpu::Scalar {
        // SAFETY: scalar code needs no CPU extension.
        unsafe { resizer.set_cpu_extensions(CpuExtensions::None) };
    }
    resizer
        .resize(src, &mut dst, &options)
        .map_err(|e| Error::InvalidParameter(format!("resize failed: {e}")))?;
    Ok(dst)
}

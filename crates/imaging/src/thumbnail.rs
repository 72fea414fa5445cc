//! Thumbnails: fit inside a square, keep the aspect, never upscale, JPEG out.
//!
//! The plan (output size) is computed from the header before decoding; the image is then
//! decoded no larger than needed (JPEGs with DCT scaling, non-interlaced PNGs streamed and
//! box-reduced row by row, see `decode_planned`) and finished with one Lanczos3 resize.

use image::DynamicImage;

use crate::resize::{Cpu, resize_on};
use crate::{Error, Limits, Placeholder, Stages, decode::decode_planned, encode, placeholder};

/// What thumbnail to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailSpec {
    /// The thumbnail fits inside `max_side` x `max_side`.
    pub max_side: u32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
}

impl ThumbnailSpec {
    /// Largest `max_side` this crate accepts (the service's own cap is usually lower).
    pub const MAX_SIDE: u32 = 8192;

    pub fn validate(&self) -> Result<(), Error> {
        if self.max_side == 0 || self.max_side > Self::MAX_SIDE {
            return Err(Error::InvalidParameter(format!(
                "thumbnail size {} is not in 1..={}",
                self.max_side,
                Self::MAX_SIDE
            )));
        }
        encode::check_quality(self.quality)
    }
}

impl Default for ThumbnailSpec {
    /// 128 px, quality 80 (the service defaults).
    fn default() -> Self {
        ThumbnailSpec {
            max_side: 128,
            quality: 80,
        }
    }
}

/// An encoded thumbnail (always JPEG), with the placeholder computed from its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub placeholder: Placeholder,
}

/// The size that fits `width` x `height` inside `max_side` x `max_side`, keeping the aspect
/// ratio (rounded, at least 1 px) and never upscaling.
///
/// ```
/// assert_eq!(imaging::fit_within(640, 480, 128), (128, 96));
/// assert_eq!(imaging::fit_within(480, 640, 128), (96, 128));
/// assert_eq!(imaging::fit_within(100, 50, 128), (100, 50));
/// assert_eq!(imaging::fit_within(10_000, 1, 128), (128, 1));
/// ```
pub fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let (w, h, m) = (
        u64::from(width),
        u64::from(height),
        u64::from(max_side.max(1)),
    );
    if w <= m && h <= m {
        return (width.max(1), height.max(1));
    }
    // Round half up: (a * m + b / 2) / b.
    let scaled = |a: u64, b: u64| ((a * m + b / 2) / b).clamp(1, m) as u32;
    if w >= h {
        (m as u32, scaled(h, w))
    } else {
        (scaled(w, h), m as u32)
    }
}

/// Makes a JPEG thumbnail of the image in `bytes`: fit inside `spec.max_side`², aspect
/// kept, never upscaled, EXIF orientation applied, alpha flattened on white.
pub fn thumbnail(bytes: &[u8], spec: &ThumbnailSpec, limits: &Limits) -> Result<Thumbnail, Error> {
    thumbnail_on(bytes, spec, limits, Cpu::Simd, &mut Stages::start())
}

/// A thumbnail's JPEG alone, without the placeholder: for an answer that has nowhere to
/// put one (the stateless `POST /api/thumbnail`), where the BlurHash would cost about a
/// tenth of a 2 MP request in wasm (docs/performance.md, "Per-request cost").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailJpeg {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The JPEG of [`thumbnail`], no placeholder, marking its stages in `stages`: `header`,
/// `decode`, `resize`, `encode`.
pub fn thumbnail_staged(
    bytes: &[u8],
    spec: &ThumbnailSpec,
    limits: &Limits,
    stages: &mut Stages,
) -> Result<ThumbnailJpeg, Error> {
    let (target, img) = decode_for(bytes, spec, limits, stages)?;
    jpeg(&img, target, spec.quality, Cpu::Simd, stages).map(|(jpeg, _)| jpeg)
}

pub(crate) fn thumbnail_on(
    bytes: &[u8],
    spec: &ThumbnailSpec,
    limits: &Limits,
    cpu: Cpu,
    stages: &mut Stages,
) -> Result<Thumbnail, Error> {
    let (target, img) = decode_for(bytes, spec, limits, stages)?;
    finish(&img, target, spec.quality, cpu, stages)
}

/// The thumbnail's size and the image decoded no larger than it needs.
fn decode_for(
    bytes: &[u8],
    spec: &ThumbnailSpec,
    limits: &Limits,
    stages: &mut Stages,
) -> Result<((u32, u32), DynamicImage), Error> {
    spec.validate()?;
    // The output size comes from the header, not from the (possibly DCT-scaled) pixels,
    // so shrink-on-load cannot shift the rounding by a pixel.
    let mut target = (1, 1);
    let (_, img) = decode_planned(bytes, limits, |header| {
        stages.mark("header");
        let (w, h) = header.oriented_size();
        target = fit_within(w, h, spec.max_side);
        Ok(target)
    })?;
    stages.mark("decode");
    Ok((target, img))
}

/// Same as [`thumbnail`] for an image already decoded (and upright), e.g. when one decode
/// feeds both the thumbnail and the feature vector.
pub fn thumbnail_from_image(img: &DynamicImage, spec: &ThumbnailSpec) -> Result<Thumbnail, Error> {
    spec.validate()?;
    finish(
        img,
        fit_within(img.width(), img.height(), spec.max_side),
        spec.quality,
        Cpu::Simd,
        &mut Stages::start(),
    )
}

/// Resized and encoded: the JPEG, and the resized pixels a placeholder is made from.
fn jpeg(
    img: &DynamicImage,
    (width, height): (u32, u32),
    quality: u8,
    cpu: Cpu,
    stages: &mut Stages,
) -> Result<(ThumbnailJpeg, DynamicImage), Error> {
    let small = resize_on(img, width, height, cpu)?;
    stages.mark("resize");
    let bytes = encode::encode_jpeg(&small, quality)?;
    stages.mark("encode");
    Ok((
        ThumbnailJpeg {
            bytes,
            width,
            height,
        },
        small,
    ))
}

fn finish(
    img: &DynamicImage,
    target: (u32, u32),
    quality: u8,
    cpu: Cpu,
    stages: &mut Stages,
) -> Result<Thumbnail, Error> {
    let (jpeg, small) = jpeg(img, target, quality, cpu, stages)?;
    let placeholder = placeholder(&encode::flatten_on_white(&small))?;
    stages.mark("placeholder");
    Ok(Thumbnail {
        bytes: jpeg.bytes,
        width: jpeg.width,
        height: jpeg.height,
        placeholder,
    })
}

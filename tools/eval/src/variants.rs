//! The variants of a photo that must find their original: resized, recompressed, converted,
//! cropped, brightened or darkened, plus the horizontal flip (reported on its own).
//!
//! Every variant is an encoded file, as a user would upload it; the evaluation decodes it
//! the way the `vectorize` component does ([`crate::features_of`]).

use anyhow::{Context, Result};
use image::{DynamicImage, RgbImage};
use imaging::{Format, Limits};

/// JPEG quality of the stored originals and of the geometric/tonal variants: what a camera
/// or a photo app typically writes.
pub const ORIGINAL_QUALITY: u8 = 90;

/// A kind of change, with its own row in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Resize,
    Recompress,
    Convert,
    Crop,
    Brightness,
    /// Horizontal mirror: darkroom counts it as a *different* image (docs/vectors.md).
    Flip,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::Resize,
        Family::Recompress,
        Family::Convert,
        Family::Crop,
        Family::Brightness,
        Family::Flip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Resize => "resize",
            Family::Recompress => "recompress",
            Family::Convert => "convert",
            Family::Crop => "crop",
            Family::Brightness => "brightness",
            Family::Flip => "flip",
        }
    }

    /// Whether a variant of this family is "the same image" (must rank its original first
    /// and score above the duplicate threshold). Flips are not.
    pub fn is_same_image(self) -> bool {
        self != Family::Flip
    }

    /// The recall@1 the feature vector must reach on this family (issue 4); `None` for
    /// families without a target.
    pub fn target_recall_at_1(self) -> Option<f64> {
        match self {
            Family::Resize | Family::Recompress | Family::Convert => Some(0.98),
            Family::Crop | Family::Brightness => Some(0.90),
            Family::Flip => None,
        }
    }
}

/// One encoded variant of a photo.
#[derive(Debug, Clone)]
pub struct Variant {
    pub family: Family,
    /// Short label, e.g. `"x0.25"`, `"q30"`, `"png->jpeg"`, `"10% centre"`.
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// Shrinks `photo` so its long side is at most `max_side` (never enlarges): the evaluation
/// works on such a "base" photo for speed; the variants are made from it.
pub fn base_photo(photo: &DynamicImage, max_side: u32) -> Result<RgbImage> {
    let (w, h) = (photo.width(), photo.height());
    let long = w.max(h);
    if long <= max_side || max_side == 0 {
        return Ok(imaging::flatten_on_white(photo));
    }
    let scale = f64::from(max_side) / f64::from(long);
    let (nw, nh) = (scaled(w, scale), scaled(h, scale));
    let small = imaging::resize(photo, nw, nh).context("shrinking the photo")?;
    Ok(imaging::flatten_on_white(&small))
}

/// The stored original of a base photo: a JPEG at [`ORIGINAL_QUALITY`], as uploads usually are.
pub fn original(base: &RgbImage) -> Result<Vec<u8>> {
    jpeg(base, ORIGINAL_QUALITY)
}

/// Every variant of `base` (see the module doc), in a fixed order.
pub fn variants(base: &RgbImage) -> Result<Vec<Variant>> {
    use Family::*;
    let stored = imaging::decode(&original(base)?, &Limits::default())?.to_rgb8();
    let mut out = Vec::new();
    let mut push = |family, name, bytes| {
        out.push(Variant {
            family,
            name,
            bytes,
        })
    };

    for (name, factor) in [("x0.25", 0.25), ("x0.5", 0.5), ("x0.75", 0.75), ("x2", 2.0)] {
        push(
            Resize,
            name,
            jpeg(&resize(base, factor)?, ORIGINAL_QUALITY)?,
        );
    }

    // The stored JPEG decoded and saved again, as an app re-saving it would.
    for (name, q) in [("q30", 30), ("q50", 50), ("q70", 70), ("q95", 95)] {
        push(Recompress, name, jpeg(&stored, q)?);
    }

    push(Convert, "jpeg->png", encode(&stored, Format::Png, 0)?);
    push(Convert, "jpeg->webp", encode(&stored, Format::Webp, 0)?);
    let png = decode_rgb(&encode(base, Format::Png, 0)?)?;
    push(Convert, "png->jpeg", jpeg(&png, 80)?);
    let webp = decode_rgb(&encode(base, Format::Webp, 0)?)?;
    push(Convert, "webp->jpeg", jpeg(&webp, 80)?);
    let via_webp = decode_rgb(&encode(&stored, Format::Webp, 0)?)?;
    push(
        Convert,
        "jpeg->webp->png",
        encode(&via_webp, Format::Png, 0)?,
    );

    // Crops keep `keep` of each side; the anchor says where the kept window sits
    // (0 = left/top edge, 0.5 = centred, 1 = right/bottom edge).
    for (name, keep_w, keep_h, ax, ay) in [
        ("5% centre", 0.95, 0.95, 0.5, 0.5),
        ("10% centre", 0.90, 0.90, 0.5, 0.5),
        ("5% top-left", 0.95, 0.95, 0.0, 0.0),
        ("10% bottom-right", 0.90, 0.90, 1.0, 1.0),
        ("10% left side", 0.90, 1.0, 1.0, 0.5),
    ] {
        push(
            Crop,
            name,
            jpeg(&crop(base, keep_w, keep_h, ax, ay), ORIGINAL_QUALITY)?,
        );
    }

    for (name, factor) in [("+20%", 1.2), ("-20%", 0.8), ("+10%", 1.1), ("-10%", 0.9)] {
        push(
            Brightness,
            name,
            jpeg(&brightness(base, factor), ORIGINAL_QUALITY)?,
        );
    }

    let flipped = image::imageops::flip_horizontal(base);
    push(Flip, "horizontal", jpeg(&flipped, ORIGINAL_QUALITY)?);
    Ok(out)
}

/// Resizes by `factor` (Lanczos3, like the service's thumbnails).
pub fn resize(img: &RgbImage, factor: f64) -> Result<RgbImage> {
    let (w, h) = (scaled(img.width(), factor), scaled(img.height(), factor));
    Ok(imaging::resize(&DynamicImage::ImageRgb8(img.clone()), w, h)?.to_rgb8())
}

/// Keeps `keep_w` x `keep_h` of the image (fractions of each side), the window placed at
/// anchor (`ax`, `ay`) in [0, 1].
pub fn crop(img: &RgbImage, keep_w: f64, keep_h: f64, ax: f64, ay: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (scaled(w, keep_w), scaled(h, keep_h));
    let x = (f64::from(w - cw) * ax).round() as u32;
    let y = (f64::from(h - ch) * ay).round() as u32;
    image::imageops::crop_imm(img, x, y, cw, ch).to_image()
}

/// Multiplies every channel by `factor` (like PIL's `ImageEnhance.Brightness`), clipped.
pub fn brightness(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    for v in out.iter_mut() {
        *v = (f32::from(*v) * factor).round().clamp(0.0, 255.0) as u8;
    }
    out
}

fn scaled(side: u32, factor: f64) -> u32 {
    ((f64::from(side) * factor).round() as u32).max(1)
}

fn jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    encode(img, Format::Jpeg, quality)
}

fn encode(img: &RgbImage, format: Format, quality: u8) -> Result<Vec<u8>> {
    imaging::encode(&DynamicImage::ImageRgb8(img.clone()), format, quality)
        .with_context(|| format!("encoding {format}"))
}

fn decode_rgb(bytes: &[u8]) -> Result<RgbImage> {
    Ok(imaging::decode(bytes, &Limits::default())?.to_rgb8())
}

//! Colour management: an embedded ICC profile (Display P3, Adobe RGB, ...) is converted
//! to sRGB with `moxcms` (pure Rust), so wide-gamut photos do not come out dull when the
//! profile is stripped with the rest of the metadata. Done on the resized image (the
//! conversion is per pixel, so its cost follows the output size). Relative colorimetric
//! intent, as sharp/libvips use by default.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

/// Largest ICC profile we read (real ones are a few KiB; LUT profiles up to ~1 MiB).
const MAX_ICC: usize = 4 << 20;

/// The source's embedded ICC profile, if it has a usable RGB one that is not sRGB.
pub(crate) fn source_profile(bytes: &[u8]) -> Option<ColorProfile> {
    let format = imaging::sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(64 << 20);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let icc = decoder.icc_profile().ok()??;
    if icc.len() > MAX_ICC {
        return None;
    }
    let profile = ColorProfile::new_from_slice(&icc).ok()?;
    if profile.color_space != DataColorSpace::Rgb {
        return None;
    }
    // An sRGB profile needs no work (and would cost a pass over the pixels).
    let srgb = ColorProfile::new_srgb();
    if profile.red_colorant == srgb.red_colorant
        && profile.green_colorant == srgb.green_colorant
        && profile.blue_colorant == srgb.blue_colorant
        && profile.red_trc == srgb.red_trc
    {
        return None;
    }
    Some(profile)
}

/// Converts 8-bit RGB(A) pixels from `profile` to sRGB in place. A profile moxcms cannot
/// build a transform for leaves the pixels as they are (shown as if sRGB, as before).
pub(crate) fn to_srgb(img: &mut DynamicImage, profile: &ColorProfile) {
    let srgb = ColorProfile::new_srgb();
    let (layout, data): (Layout, &mut [u8]) = match img {
        DynamicImage::ImageRgb8(b) => (Layout::Rgb, b.as_mut()),
        DynamicImage::ImageRgba8(b) => (Layout::Rgba, b.as_mut()),
        _ => return,
    };
    let Ok(transform) =
        profile.create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
    else {
        return;
    };
    let src = data.to_vec();
    let _ = transform.transform(&src, data);
}

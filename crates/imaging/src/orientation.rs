//! EXIF orientation (tag 0x0112): values 1..=8, applied after decoding.

use image::DynamicImage;
use image::metadata::Orientation;

/// True for orientations 5..=8, which transpose the image (width and height swap).
pub fn swaps_dimensions(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// Rotates/flips `img` so it displays upright. Values outside 1..=8 leave it unchanged.
pub fn apply_orientation(mut img: DynamicImage, orientation: u8) -> DynamicImage {
    if let Some(o) = Orientation::from_exif(orientation) {
        img.apply_orientation(o);
    }
    img
}

/// Converts a box given in displayed orientation into stored orientation.
pub(crate) fn to_stored(orientation: u8, w: u32, h: u32) -> (u32, u32) {
    if swaps_dimensions(orientation) {
        (h, w)
    } else {
        (w, h)
    }
}

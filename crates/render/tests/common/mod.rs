//! Test helpers: the committed test photo and reference images, and SSIM.
#![allow(dead_code)]

use std::path::PathBuf;

use image::{DynamicImage, RgbImage};

/// `tests/data/<rel>` decoded as RGB.
pub fn data_image(rel: &str) -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// The test photo (scikit-image's astronaut, 320x240; see scripts/render-ref/make-refs.py).
pub fn photo() -> DynamicImage {
    DynamicImage::ImageRgb8(data_image("photo.png"))
}

/// SSIM (shared with the e2e suite).
pub use imaging::testkit::ssim;

//! Writes `tests/data/p3-patches.png`: eight 16x16 colour patches whose values are
//! Display P3, with the Display P3 ICC profile that sharp (libvips) ships embedded
//! (`tests/data/display-p3.icc`, extracted by `scripts/render-ref/p3-ref.mjs icc`).
//! sharp's sRGB conversion of it (`p3-ref.mjs`) is the reference of `tests/icc.rs`.
//!
//!   (cd scripts/render-ref && node p3-ref.mjs icc)
//!   cargo run --release -p darkroom-render --example p3_fixture
//!   (cd scripts/render-ref && node p3-ref.mjs)

use image::{ImageEncoder, Rgb, RgbImage};

/// The patches, in Display P3 values.
pub const PATCHES: [[u8; 3]; 8] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 0],
    [200, 100, 50],
    [30, 160, 220],
    [128, 128, 128],
    [250, 200, 180],
];

fn main() {
    let img = RgbImage::from_fn(16 * PATCHES.len() as u32, 16, |x, _| {
        Rgb(PATCHES[(x / 16) as usize])
    });
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let icc = std::fs::read(data.join("display-p3.icc")).unwrap();
    let mut out = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
    encoder.set_icc_profile(icc).unwrap();
    encoder
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    let path = data.join("p3-patches.png");
    std::fs::write(&path, out).unwrap();
    println!("wrote {}", path.display());
}

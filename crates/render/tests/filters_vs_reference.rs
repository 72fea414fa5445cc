//! Each basic filter against an independent rendering of the same operation on the same
//! photo (`tests/data/photo.png`), by SSIM with a threshold per filter:
//! - the CSS filter functions against headless Chromium's `filter:` (the definition of
//!   their semantics), `tests/data/chromium/filter-*.png`;
//! - blur, sharpen, gamma, pixelate (and invert, grayscale for a second opinion) against
//!   Pillow, `tests/data/pillow/*.png`.
//!
//! The references are made by `scripts/render-ref/make-refs.py`. Every case also checks
//! that the filter brings the photo closer to the reference than doing nothing, so a
//! filter that is a no-op cannot pass on a reference close to the photo.

mod common;

use common::{data_image, photo, ssim};
use render::Chain;

/// (darkroom chain, reference image, least SSIM).
const CASES: &[(&str, &str, f64)] = &[
    ("grayscale", "chromium/filter-grayscale.png", 0.995),
    ("grayscale:0.5", "chromium/filter-grayscale-0.5.png", 0.995),
    ("sepia", "chromium/filter-sepia.png", 0.995),
    ("sepia:0.4", "chromium/filter-sepia-0.4.png", 0.995),
    (
        "brightness:1.3",
        "chromium/filter-brightness-1.3.png",
        0.995,
    ),
    (
        "brightness:0.6",
        "chromium/filter-brightness-0.6.png",
        0.995,
    ),
    ("contrast:1.5", "chromium/filter-contrast-1.5.png", 0.995),
    ("contrast:0.5", "chromium/filter-contrast-0.5.png", 0.995),
    ("saturate:2", "chromium/filter-saturate-2.png", 0.995),
    ("saturate:0.3", "chromium/filter-saturate-0.3.png", 0.995),
    ("hue:90", "chromium/filter-hue-90.png", 0.995),
    ("hue:-150", "chromium/filter-hue--150.png", 0.995),
    ("invert", "chromium/filter-invert.png", 0.995),
    (
        "grayscale,contrast:1.2,brightness:1.1",
        "chromium/filter-chain.png",
        0.995,
    ),
    ("blur:2", "chromium/filter-blur-2.png", 0.97),
    ("blur:2", "pillow/blur-2.png", 0.99),
    ("blur:6", "pillow/blur-6.png", 0.99),
    ("sharpen:1.5", "pillow/sharpen-1.5.png", 0.99),
    ("gamma:2.2", "pillow/gamma-2.2.png", 0.995),
    ("gamma:0.5", "pillow/gamma-0.5.png", 0.995),
    ("pixelate:8", "pillow/pixelate-8.png", 0.995),
    ("invert", "pillow/invert.png", 0.995),
    // Pillow's "L" uses Rec. 601 weights, CSS Rec. 709: close, not equal.
    ("grayscale", "pillow/grayscale.png", 0.99),
];

#[test]
fn filters_match_their_references() {
    let src = photo();
    let mut failures = Vec::new();
    let mut table =
        String::from("chain | reference | SSIM | threshold | SSIM of the unfiltered photo\n");
    for &(chain, reference, least) in CASES {
        let mut img = src.clone();
        Chain::parse(chain).unwrap().apply(&mut img);
        let want = data_image(reference);
        let got = ssim(&img.to_rgb8(), &want);
        let baseline = ssim(&src.to_rgb8(), &want);
        table += &format!("{chain} | {reference} | {got:.4} | {least} | {baseline:.4}\n");
        if got < least || got <= baseline {
            failures.push(format!(
                "{chain} vs {reference}: SSIM {got:.4} (need {least}, unfiltered {baseline:.4})"
            ));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

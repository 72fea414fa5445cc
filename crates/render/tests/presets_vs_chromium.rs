//! Each built-in preset against headless Chromium rendering CSSgram's CSS for it on the
//! same photo (`tests/data/chromium/preset-*.png`, made by
//! `scripts/render-ref/make-refs.py`): SSIM >= 0.95 (the bar), and closer to
//! Chromium than the untouched photo is.
//!
//! The references are committed PNGs rather than Chromium run at test time: a browser
//! start per case is slow, and Chromium is only needed to regenerate them.

mod common;

use common::{data_image, photo, ssim};
use render::Presets;

#[test]
fn presets_match_chromium() {
    let presets = Presets::builtin();
    let src = photo();
    let mut failures = Vec::new();
    let mut names = 0;
    for preset in presets.iter() {
        names += 1;
        let mut img = src.clone();
        preset.apply(&mut img);
        let want = data_image(&format!("chromium/preset-{}.png", preset.name()));
        let got = ssim(&img.to_rgb8(), &want);
        let baseline = ssim(&src.to_rgb8(), &want);
        println!(
            "{:10} SSIM {got:.4} (unfiltered {baseline:.4})",
            preset.name()
        );
        if got < 0.95 || got <= baseline {
            failures.push(format!(
                "{}: SSIM {got:.4}, unfiltered {baseline:.4}",
                preset.name()
            ));
        }
    }
    assert!(names >= 8, "only {names} built-in presets");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

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

/// Mean SSIM over R, G and B (Wang et al. 2004, 7x7 uniform windows as scikit-image's
/// default, C1 = (0.01 L)², C2 = (0.03 L)², L = 255).
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "SSIM needs equal sizes");
    let (w, h) = (a.width() as usize, a.height() as usize);
    const R: usize = 3;
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for c in 0..3 {
        let ch = |img: &RgbImage| -> Vec<f64> { img.pixels().map(|p| f64::from(p.0[c])).collect() };
        let (x, y) = (ch(a), ch(b));
        for cy in R..h.saturating_sub(R) {
            for cx in R..w.saturating_sub(R) {
                let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for yy in cy - R..=cy + R {
                    for xx in cx - R..=cx + R {
                        let (p, q) = (x[yy * w + xx], y[yy * w + xx]);
                        sx += p;
                        sy += q;
                        sxx += p * p;
                        syy += q * q;
                        sxy += p * q;
                    }
                }
                let n = ((2 * R + 1) * (2 * R + 1)) as f64;
                let (mx, my) = (sx / n, sy / n);
                // Sample covariance, as scikit-image computes it.
                let k = n / (n - 1.0);
                let vx = (sxx / n - mx * mx) * k;
                let vy = (syy / n - my * my) * k;
                let cxy = (sxy / n - mx * my) * k;
                total += ((2.0 * mx * my + c1) * (2.0 * cxy + c2))
                    / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count += 1;
            }
        }
    }
    total / count as f64
}

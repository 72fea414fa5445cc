//! Smart gravity: where a `cover` window keeps the most interesting part of the image.
//!
//! The score of a pixel is how far its colour is from the image's border colour (the
//! background, for a subject shot on a plain backdrop) plus its local detail (gradient
//! magnitude, where texture and edges are). Scores are computed on a copy reduced to at
//! most 256 px on the long side; a summed-area table then gives the window with the
//! highest total in one pass. Ties go to the window nearest the centre, so a flat image
//! crops like `center`.

use image::{DynamicImage, RgbImage, imageops::FilterType};

/// Long side of the scoring copy.
const SCORE_SIDE: u32 = 256;

/// The top-left corner of the `ww` x `wh` window of `img` with the most interest.
pub(crate) fn choose(img: &DynamicImage, ww: u32, wh: u32) -> (u32, u32) {
    let (w, h) = (img.width(), img.height());
    if ww >= w && wh >= h {
        return (0, 0);
    }
    let scale = (f64::from(SCORE_SIDE) / f64::from(w.max(h))).min(1.0);
    let (sw, sh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let small: RgbImage = if scale < 1.0 {
        image::imageops::resize(&img.to_rgb8(), sw, sh, FilterType::Triangle)
    } else {
        img.to_rgb8()
    };
    let score = interest(&small);
    // Window size in the scoring copy.
    let kw =
        ((f64::from(ww) * f64::from(sw) / f64::from(w)).round() as usize).clamp(1, sw as usize);
    let kh =
        ((f64::from(wh) * f64::from(sh) / f64::from(h)).round() as usize).clamp(1, sh as usize);
    let (best_x, best_y) = best_window(&score, sw as usize, sh as usize, kw, kh);
    // Back to full size, kept inside the image.
    let x = ((best_x as f64 / f64::from(sw)) * f64::from(w)).round() as u32;
    let y = ((best_y as f64 / f64::from(sh)) * f64::from(h)).round() as u32;
    (x.min(w.saturating_sub(ww)), y.min(h.saturating_sub(wh)))
}

/// Per-pixel interest: colour distance from the border's mean colour plus gradient.
fn interest(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = |x: usize, y: usize| {
        let p = img.get_pixel(x as u32, y as u32).0;
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    };
    let mut border = [0f32; 3];
    let mut n = 0f32;
    for y in 0..h {
        for x in 0..w {
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                let p = px(x, y);
                for c in 0..3 {
                    border[c] += p[c];
                }
                n += 1.0;
            }
        }
    }
    for c in &mut border {
        *c /= n.max(1.0);
    }
    let lum = |p: [f32; 3]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = px(x, y);
            let dist = ((p[0] - border[0]).powi(2)
                + (p[1] - border[1]).powi(2)
                + (p[2] - border[2]).powi(2))
            .sqrt();
            let gx = lum(px((x + 1).min(w - 1), y)) - lum(px(x.saturating_sub(1), y));
            let gy = lum(px(x, (y + 1).min(h - 1))) - lum(px(x, y.saturating_sub(1)));
            // Small differences are noise or gradients of the backdrop, not a subject.
            let detail = (gx.abs() + gy.abs() - 8.0).max(0.0);
            out[y * w + x] = (dist - 12.0).max(0.0) + detail;
        }
    }
    out
}

/// The top-left of the `kw` x `kh` window with the largest sum (nearest the centre on ties).
fn best_window(score: &[f32], w: usize, h: usize, kw: usize, kh: usize) -> (usize, usize) {
    // Summed-area table with a zero row and column.
    let mut sat = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0f64;
        for x in 0..w {
            row += f64::from(score[y * w + x]);
            sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
        }
    }
    let sum = |x: usize, y: usize| {
        sat[(y + kh) * (w + 1) + x + kw] - sat[y * (w + 1) + x + kw] - sat[(y + kh) * (w + 1) + x]
            + sat[y * (w + 1) + x]
    };
    let (cx, cy) = ((w - kw) as f64 / 2.0, (h - kh) as f64 / 2.0);
    let mut best = (f64::MIN, f64::MAX, (w - kw) / 2, (h - kh) / 2);
    for y in 0..=h - kh {
        for x in 0..=w - kw {
            let s = sum(x, y);
            let d = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2);
            // Compare with a tolerance so float noise does not pull off-centre.
            if s > best.0 + 1e-6 * best.0.abs().max(1.0)
                || ((s - best.0).abs() <= 1e-6 * best.0.abs().max(1.0) && d < best.1)
            {
                best = (s, d, x, y);
            }
        }
    }
    (best.2, best.3)
}

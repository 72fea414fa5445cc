//! The blocks of the feature vector, each computed from the small working images that
//! `extract` prepares. Each returns raw values; `extract` normalises and weights them.

use crate::phash::SIDE as PHASH_SIDE;

/// Side of the working image every block starts from.
pub(crate) const WORK: usize = 64;

/// Hue x saturation histogram: 12 hues x 4 saturation bands, plus one bin for the
/// achromatic pixels (grey, near-black). Hue and HSV saturation do not change when a
/// photo is made uniformly brighter or darker (only clipping moves them), unlike an RGB
/// histogram, whose bins a +-20% brightness change empties into their neighbours. Each
/// pixel's hue is shared linearly between the two nearest hue bins, so noise near a bin
/// edge moves mass smoothly. Square-rooted (Hellinger): a few dominant colours do not
/// swamp the rest.
pub(crate) const HUES: usize = 12;
pub(crate) const SATURATIONS: usize = 4;
pub(crate) const COLOUR_DIMS: usize = HUES * SATURATIONS + 1;
/// Below this saturation or value (0..1) a pixel's hue is noise: it counts as achromatic.
const CHROMA_MIN: f32 = 0.12;
pub(crate) fn colour_histogram(rgb: &[u8]) -> Vec<f32> {
    let mut bins = vec![0f32; COLOUR_DIMS];
    for p in rgb.chunks_exact(3) {
        let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let chroma = max - min;
        let sat = if max > 0.0 { chroma / max } else { 0.0 };
        if max < CHROMA_MIN * 255.0 || sat < CHROMA_MIN {
            bins[COLOUR_DIMS - 1] += 1.0;
            continue;
        }
        // Hue in [0, 6): the standard HSV sextant formula.
        let hue = if max == r {
            ((g - b) / chroma).rem_euclid(6.0)
        } else if max == g {
            (b - r) / chroma + 2.0
        } else {
            (r - g) / chroma + 4.0
        };
        let band = (((sat - CHROMA_MIN) / (1.0 - CHROMA_MIN) * SATURATIONS as f32) as usize)
            .min(SATURATIONS - 1);
        // Bin centres at (i + 0.5) * 6 / HUES; share between the two nearest, wrapping.
        let pos = hue / 6.0 * HUES as f32 - 0.5;
        let lo = pos.floor();
        let frac = pos - lo;
        let lo = (lo as i32).rem_euclid(HUES as i32) as usize;
        let hi = (lo + 1) % HUES;
        bins[band * HUES + lo] += 1.0 - frac;
        bins[band * HUES + hi] += frac;
    }
    bins.iter_mut().for_each(|v| *v = v.sqrt());
    bins
}

/// 8x8 grey layout, mean-centred (and, once `extract` L2-normalises it, divided by its
/// standard deviation): the arrangement of light and dark, independent of brightness and
/// contrast. Coarse on purpose: a 10% crop moves content by well under one cell. The
/// outer ring of cells is weighted down ([`TINY_EDGE_WEIGHT`]), since crops remove or
/// shift the borders first.
pub(crate) const TINY_SIDE: usize = 8;
pub(crate) const TINY_DIMS: usize = TINY_SIDE * TINY_SIDE;
pub(crate) const TINY_EDGE_WEIGHT: f32 = 0.6;
pub(crate) fn tiny_image(grey: &[f32]) -> Vec<f32> {
    let mut tiny = box_reduce(grey, WORK, TINY_SIDE);
    let mean = tiny.iter().sum::<f32>() / tiny.len() as f32;
    for (i, v) in tiny.iter_mut().enumerate() {
        let (x, y) = (i % TINY_SIDE, i / TINY_SIDE);
        let border = x == 0 || y == 0 || x == TINY_SIDE - 1 || y == TINY_SIDE - 1;
        *v = (*v - mean) * if border { TINY_EDGE_WEIGHT } else { 1.0 };
    }
    tiny
}

/// The 32x32 grey image the pHash is computed on.
pub(crate) fn phash_input(grey: &[f32]) -> Vec<f32> {
    box_reduce(grey, WORK, PHASH_SIDE)
}

/// The pHash bits as a +-1 block, so near-identical hashes also score high by cosine.
pub(crate) const PHASH_DIMS: usize = 64;
pub(crate) fn phash_bits(h: u64) -> Vec<f32> {
    (0..64)
        .rev()
        .map(|i| if (h >> i) & 1 == 1 { 1.0 } else { -1.0 })
        .collect()
}

/// Edge-orientation histogram: Sobel gradients on the 64x64 grey image, 8 unsigned
/// orientation bins in each of 2x2 spatial cells, weighted by gradient magnitude.
pub(crate) const EDGE_BINS: usize = 8;
pub(crate) const EDGE_CELLS: usize = 2;
pub(crate) const EDGE_DIMS: usize = EDGE_BINS * EDGE_CELLS * EDGE_CELLS;
pub(crate) fn edge_histogram(grey: &[f32]) -> Vec<f32> {
    let n = WORK;
    let at = |x: usize, y: usize| grey[y * n + x];
    let mut hist = vec![0f32; EDGE_DIMS];
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            let mag = (gx * gx + gy * gy).sqrt();
            if mag < 1e-3 {
                continue;
            }
            // Unsigned orientation in [0, pi): a dark-to-light edge equals light-to-dark.
            let angle = gy.atan2(gx).rem_euclid(std::f32::consts::PI);
            let bin =
                ((angle / std::f32::consts::PI * EDGE_BINS as f32) as usize).min(EDGE_BINS - 1);
            let cell = (y * EDGE_CELLS / n) * EDGE_CELLS + x * EDGE_CELLS / n;
            hist[cell * EDGE_BINS + bin] += mag;
        }
    }
    hist.iter_mut().for_each(|v| *v = v.sqrt());
    // Mean-centred: every photo has edges in every cell and direction, and that shared
    // baseline made distinct photos score ~0.8 on this block; what is left is which
    // directions and cells have more edges than the photo's own average.
    let mean = hist.iter().sum::<f32>() / hist.len() as f32;
    hist.iter_mut().for_each(|v| *v -= mean);
    hist
}

/// Averages `from` x `from` down to `to` x `to` (`from` a multiple of `to`).
fn box_reduce(src: &[f32], from: usize, to: usize) -> Vec<f32> {
    let f = from / to;
    let mut out = vec![0f32; to * to];
    for y in 0..from {
        for x in 0..from {
            out[(y / f) * to + x / f] += src[y * from + x];
        }
    }
    let area = (f * f) as f32;
    out.iter_mut().for_each(|v| *v /= area);
    out
}

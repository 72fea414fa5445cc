//! The blocks of the feature vector, each computed from the small working images that
//! `extract` prepares. Each returns raw values; `extract` normalises and weights them.

use crate::phash::SIDE as PHASH_SIDE;

/// Side of the working image every block starts from.
pub(crate) const WORK: usize = 64;

/// RGB histogram with 4 levels per channel (64 bins), square-rooted (Hellinger), so a
/// few dominant colours do not swamp the rest.
pub(crate) const COLOUR_DIMS: usize = 64;
pub(crate) fn colour_histogram(rgb: &[u8]) -> Vec<f32> {
    let mut bins = vec![0f32; COLOUR_DIMS];
    for p in rgb.chunks_exact(3) {
        let (r, g, b) = (
            usize::from(p[0] >> 6),
            usize::from(p[1] >> 6),
            usize::from(p[2] >> 6),
        );
        bins[r * 16 + g * 4 + b] += 1.0;
    }
    bins.iter_mut().for_each(|v| *v = v.sqrt());
    bins
}

/// 16x16 grey thumbnail, mean-centred: the layout of light and dark, independent of
/// overall brightness (and, after normalisation, of contrast).
pub(crate) const TINY_SIDE: usize = 16;
pub(crate) const TINY_DIMS: usize = TINY_SIDE * TINY_SIDE;
pub(crate) fn tiny_image(grey: &[f32]) -> Vec<f32> {
    let mut tiny = box_reduce(grey, WORK, TINY_SIDE);
    let mean = tiny.iter().sum::<f32>() / tiny.len() as f32;
    tiny.iter_mut().for_each(|v| *v -= mean);
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

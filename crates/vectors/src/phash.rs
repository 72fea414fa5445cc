//! 64-bit perceptual hash (DCT pHash, as in `imagehash.phash`): the 8x8 lowest DCT
//! frequencies of a 32x32 grey image, each bit "above the median of the 64".
//! Robust to resizing, recompression and small colour changes; compare with [`hamming`].

/// Side of the grey image the DCT runs on.
pub(crate) const SIDE: usize = 32;
/// Low frequencies kept per axis (8 x 8 = 64 bits).
const KEEP: usize = 8;

/// The hash of a 32x32 grey image given row-major (values in any range).
pub(crate) fn phash(grey: &[f32]) -> u64 {
    debug_assert_eq!(grey.len(), SIDE * SIDE);
    // cos[u][x] = cos(pi * (2x + 1) * u / 2N): the DCT-II basis, only the first 8 rows.
    let mut cos = [[0f32; SIDE]; KEEP];
    for (u, row) in cos.iter_mut().enumerate() {
        for (x, c) in row.iter_mut().enumerate() {
            *c = (std::f32::consts::PI * (2 * x + 1) as f32 * u as f32 / (2 * SIDE) as f32).cos();
        }
    }
    // Separable DCT: rows first (32 x 8), then columns (8 x 8). Scale factors do not
    // change which coefficients are above the median except for DC, as in imagehash.
    let mut rows = [[0f32; KEEP]; SIDE];
    for y in 0..SIDE {
        let line = &grey[y * SIDE..(y + 1) * SIDE];
        for u in 0..KEEP {
            rows[y][u] = line.iter().zip(&cos[u]).map(|(a, b)| a * b).sum();
        }
    }
    let mut coeffs = [0f32; KEEP * KEEP];
    for v in 0..KEEP {
        for u in 0..KEEP {
            coeffs[v * KEEP + u] = (0..SIDE).map(|y| rows[y][u] * cos[v][y]).sum();
        }
    }
    let mut sorted = coeffs;
    sorted.sort_by(f32::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    // Row-major, first coefficient in the most significant bit (imagehash's hex order).
    coeffs
        .iter()
        .fold(0u64, |h, &c| (h << 1) | u64::from(c > median))
}

/// Lowercase 16-digit hex, e.g. `"c3a1..."`.
pub fn phash_hex(h: u64) -> String {
    format!("{h:016x}")
}

/// Parses [`phash_hex`] output.
pub fn phash_from_hex(s: &str) -> Option<u64> {
    if s.len() != 16 {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// Number of differing bits (0 = same picture, ~32 = unrelated).
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

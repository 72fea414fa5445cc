//! Colour matrices and lookup tables on sRGB-encoded values, the way CSS filter
//! functions work (W3C Filter Effects 1; they ignore `color-interpolation-filters`).
//! Every result is clamped to [0, 1] before the next function runs, as in a browser.

/// A 3x3 colour matrix applied to (R, G, B) in [0, 1].
pub(crate) type Matrix = [[f32; 3]; 3];

/// Applies `m` to every pixel of an interleaved 8-bit buffer with `channels` (3 or 4)
/// channels; alpha is left alone.
pub(crate) fn apply_matrix(data: &mut [u8], channels: usize, m: &Matrix) {
    // Scale by 255 once: out = m * in works on 0..255 values directly.
    for px in data.chunks_exact_mut(channels) {
        let (r, g, b) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
        for (c, row) in px.iter_mut().zip(m) {
            *c = to_u8(row[0] * r + row[1] * g + row[2] * b);
        }
    }
}

/// Applies a per-channel function of a value in [0, 1] through a 256-entry table.
pub(crate) fn apply_curve(data: &mut [u8], channels: usize, f: impl Fn(f32) -> f32) {
    let lut: Vec<u8> = (0..=255u8)
        .map(|v| to_u8(f(f32::from(v) / 255.0) * 255.0))
        .collect();
    for px in data.chunks_exact_mut(channels) {
        for c in &mut px[..3] {
            *c = lut[usize::from(*c)];
        }
    }
}

/// Rounds and clamps a 0..255 float to a byte (NaN becomes 0).
pub(crate) fn to_u8(v: f32) -> u8 {
    // `as` saturates and maps NaN to 0.
    (v + 0.5) as u8
}

/// W3C `saturate(s)` (feColorMatrix type="saturate").
pub(crate) fn saturate(s: f32) -> Matrix {
    [
        [0.213 + 0.787 * s, 0.715 - 0.715 * s, 0.072 - 0.072 * s],
        [0.213 - 0.213 * s, 0.715 + 0.285 * s, 0.072 - 0.072 * s],
        [0.213 - 0.213 * s, 0.715 - 0.715 * s, 0.072 + 0.928 * s],
    ]
}

/// W3C `hue-rotate(deg)` (feColorMatrix type="hueRotate").
pub(crate) fn hue_rotate(degrees: f32) -> Matrix {
    let (sin, cos) = degrees.to_radians().sin_cos();
    [
        [
            0.213 + cos * 0.787 - sin * 0.213,
            0.715 - cos * 0.715 - sin * 0.715,
            0.072 - cos * 0.072 + sin * 0.928,
        ],
        [
            0.213 - cos * 0.213 + sin * 0.143,
            0.715 + cos * 0.285 + sin * 0.140,
            0.072 - cos * 0.072 - sin * 0.283,
        ],
        [
            0.213 - cos * 0.213 - sin * 0.787,
            0.715 - cos * 0.715 + sin * 0.715,
            0.072 + cos * 0.928 + sin * 0.072,
        ],
    ]
}

/// W3C `grayscale(amount)`, amount in [0, 1].
pub(crate) fn grayscale(amount: f32) -> Matrix {
    let k = 1.0 - amount.clamp(0.0, 1.0);
    [
        [
            0.2126 + 0.7874 * k,
            0.7152 - 0.7152 * k,
            0.0722 - 0.0722 * k,
        ],
        [
            0.2126 - 0.2126 * k,
            0.7152 + 0.2848 * k,
            0.0722 - 0.0722 * k,
        ],
        [
            0.2126 - 0.2126 * k,
            0.7152 - 0.7152 * k,
            0.0722 + 0.9278 * k,
        ],
    ]
}

/// W3C `sepia(amount)`, amount in [0, 1].
pub(crate) fn sepia(amount: f32) -> Matrix {
    let k = 1.0 - amount.clamp(0.0, 1.0);
    [
        [0.393 + 0.607 * k, 0.769 - 0.769 * k, 0.189 - 0.189 * k],
        [0.349 - 0.349 * k, 0.686 + 0.314 * k, 0.168 - 0.168 * k],
        [0.272 - 0.272 * k, 0.534 - 0.534 * k, 0.131 + 0.869 * k],
    ]
}

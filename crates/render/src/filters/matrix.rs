//! Colour matrices and lookup tables on sRGB-encoded values, the way CSS filter
//! functions work (W3C Filter Effects 1; they ignore `color-interpolation-filters`).
//! Every result is clamped to [0, 1] before the next function runs, as in a browser.

/// A 3x3 colour matrix applied to (R, G, B) in [0, 1].
pub(crate) type Matrix = [[f32; 3]; 3];

/// A per-pixel colour operation: what every filter but the spatial ones (blur, sharpen,
/// pixelate) is. `pointwise` runs a sequence of them in one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Colour {
    /// A function of each channel's own value, as a table per channel (R, G, B).
    Curve([[u8; 256]; 3]),
    /// A matrix on (R, G, B), each result rounded and clamped to a byte.
    Matrix(Matrix),
}

/// The same function `f` of a value in [0, 1] on every channel, as a table.
pub(crate) fn curve(f: impl Fn(f32) -> f32) -> Colour {
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = to_u8(f(v as f32 / 255.0) * 255.0);
    }
    Colour::Curve([lut; 3])
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

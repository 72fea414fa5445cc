//! `gamma:g`: C^(1/g) on sRGB values (g > 1 lightens the mid-tones, as ImageMagick's and
//! Pillow's `point(lambda x: 255 * (x / 255) ** (1 / g))`; 1 = unchanged).

use super::matrix::{self, Colour};

/// Applies the power curve C^(1/g).
pub(crate) fn colour(g: f32) -> Colour {
    let inv = 1.0 / g;
    matrix::curve(|c| c.max(0.0).powf(inv))
}

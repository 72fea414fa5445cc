//! `gamma:g`: C^(1/g) on sRGB values (g > 1 lightens the mid-tones, as ImageMagick's and
//! Pillow's `point(lambda x: 255 * (x / 255) ** (1 / g))`; 1 = unchanged).

use super::matrix;

/// Applies the power curve C^(1/g).
pub(crate) fn apply(data: &mut [u8], channels: usize, g: f32) {
    let inv = 1.0 / g;
    matrix::apply_curve(data, channels, |c| c.max(0.0).powf(inv));
}

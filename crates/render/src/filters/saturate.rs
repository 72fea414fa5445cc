//! `saturate:s`: CSS `saturate()` (0 = grey, 1 = unchanged, > 1 more saturated).

use super::matrix;

/// Scales saturation by `s` with the feColorMatrix `saturate` matrix.
pub(crate) fn apply(data: &mut [u8], channels: usize, s: f32) {
    matrix::apply_matrix(data, channels, &matrix::saturate(s));
}

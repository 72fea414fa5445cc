//! `hue:degrees`: CSS `hue-rotate()` (an approximate rotation in a luma-preserving
//! plane, exactly the browser's matrix, not an HSL rotation).

use super::matrix;

/// Rotates hues by `degrees`.
pub(crate) fn apply(data: &mut [u8], channels: usize, degrees: f32) {
    matrix::apply_matrix(data, channels, &matrix::hue_rotate(degrees));
}

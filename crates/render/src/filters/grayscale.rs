//! `grayscale[:amount]`: CSS `grayscale()` (Rec. 709 luma weights on sRGB values).

use super::matrix;

/// Blends towards grey by `amount` (0 = unchanged, 1 = fully grey).
pub(crate) fn apply(data: &mut [u8], channels: usize, amount: f32) {
    matrix::apply_matrix(data, channels, &matrix::grayscale(amount));
}

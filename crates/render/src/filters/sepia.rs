//! `sepia[:amount]`: CSS `sepia()`.

use super::matrix;

/// Tones towards sepia by `amount` (0 = unchanged, 1 = full sepia).
pub(crate) fn apply(data: &mut [u8], channels: usize, amount: f32) {
    matrix::apply_matrix(data, channels, &matrix::sepia(amount));
}

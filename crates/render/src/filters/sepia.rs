//! `sepia[:amount]`: CSS `sepia()`.

use super::matrix::{self, Colour};

/// Tones towards sepia by `amount` (0 = unchanged, 1 = full sepia).
pub(crate) fn colour(amount: f32) -> Colour {
    Colour::Matrix(matrix::sepia(amount))
}

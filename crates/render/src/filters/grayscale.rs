//! `grayscale[:amount]`: CSS `grayscale()` (Rec. 709 luma weights on sRGB values).

use super::matrix::{self, Colour};

/// Blends towards grey by `amount` (0 = unchanged, 1 = fully grey).
pub(crate) fn colour(amount: f32) -> Colour {
    Colour::Matrix(matrix::grayscale(amount))
}

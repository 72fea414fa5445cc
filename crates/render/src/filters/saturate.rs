//! `saturate:s`: CSS `saturate()` (0 = grey, 1 = unchanged, > 1 more saturated).

use super::matrix::{self, Colour};

/// Scales saturation by `s` with the feColorMatrix `saturate` matrix.
pub(crate) fn colour(s: f32) -> Colour {
    Colour::Matrix(matrix::saturate(s))
}

//! `hue:degrees`: CSS `hue-rotate()` (an approximate rotation in a luma-preserving
//! plane, exactly the browser's matrix, not an HSL rotation).

use super::matrix::{self, Colour};

/// Rotates hues by `degrees`.
pub(crate) fn colour(degrees: f32) -> Colour {
    Colour::Matrix(matrix::hue_rotate(degrees))
}

//! `brightness:f`: CSS `brightness()`, C * f (1 = unchanged).

use super::matrix::{self, Colour};

/// Multiplies every channel by `f`.
pub(crate) fn colour(f: f32) -> Colour {
    matrix::curve(|c| c * f)
}

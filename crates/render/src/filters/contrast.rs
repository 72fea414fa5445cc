//! `contrast:f`: CSS `contrast()`, (C - 0.5) * f + 0.5 (1 = unchanged, 0 = mid grey).

use super::matrix::{self, Colour};

/// Stretches every channel around mid grey by `f`.
pub(crate) fn colour(f: f32) -> Colour {
    matrix::curve(|c| (c - 0.5) * f + 0.5)
}

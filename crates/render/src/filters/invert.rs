//! `invert[:amount]`: CSS `invert()`, amount * (1 - C) + (1 - amount) * C.

use super::matrix::{self, Colour};

/// Inverts every channel by `amount` (1 = negative, 0.5 = flat grey).
pub(crate) fn colour(amount: f32) -> Colour {
    matrix::curve(|c| amount * (1.0 - c) + (1.0 - amount) * c)
}

//! `invert[:amount]`: CSS `invert()`, amount * (1 - C) + (1 - amount) * C.

use super::matrix;

/// Inverts every channel by `amount` (1 = negative, 0.5 = flat grey).
pub(crate) fn apply(data: &mut [u8], channels: usize, amount: f32) {
    matrix::apply_curve(data, channels, |c| amount * (1.0 - c) + (1.0 - amount) * c);
}

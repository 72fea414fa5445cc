//! `brightness:f`: CSS `brightness()`, C * f (1 = unchanged).

use super::matrix;

/// Multiplies every channel by `f`.
pub(crate) fn apply(data: &mut [u8], channels: usize, f: f32) {
    matrix::apply_curve(data, channels, |c| c * f);
}

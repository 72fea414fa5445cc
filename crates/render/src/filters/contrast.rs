//! `contrast:f`: CSS `contrast()`, (C - 0.5) * f + 0.5 (1 = unchanged, 0 = mid grey).

use super::matrix;

/// Stretches every channel around mid grey by `f`.
pub(crate) fn apply(data: &mut [u8], channels: usize, f: f32) {
    matrix::apply_curve(data, channels, |c| (c - 0.5) * f + 0.5);
}

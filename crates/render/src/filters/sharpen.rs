//! `sharpen:sigma`: unsharp mask, C + (C - blur_sigma(C)), i.e. Pillow's
//! `UnsharpMask(radius=sigma, percent=100, threshold=0)` and imgproxy's `sh:%sigma`
//! in spirit. Alpha is left alone.

use super::{blur, matrix::to_u8};

/// Sharpens in place: adds the difference to a Gaussian-blurred copy.
pub(crate) fn apply(data: &mut [u8], width: u32, height: u32, channels: usize, sigma: f32) {
    let mut blurred = data.to_vec();
    blur::apply(&mut blurred, width, height, channels, sigma);
    for (px, bl) in data
        .chunks_exact_mut(channels)
        .zip(blurred.chunks_exact(channels))
    {
        for c in 0..3 {
            let v = f32::from(px[c]);
            px[c] = to_u8(v + (v - f32::from(bl[c])));
        }
    }
}

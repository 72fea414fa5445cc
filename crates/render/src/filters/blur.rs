//! `blur:sigma`: Gaussian blur, approximated by three extended box blurs per direction
//! (Gwosdek et al., "Theoretical foundations of Gaussian convolution by extended box
//! filtering", the method Pillow's `GaussianBlur(radius=sigma)` uses). The cost per pixel
//! does not grow with sigma, so a large blur cannot stall a request. Edges repeat the
//! border pixel. Every channel (alpha too) is blurred.

/// Box passes per direction: three give a close Gaussian.
const PASSES: usize = 3;

/// Blurs an interleaved 8-bit buffer in place with standard deviation `sigma` (pixels).
pub(crate) fn apply(data: &mut [u8], width: u32, height: u32, channels: usize, sigma: f32) {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || sigma <= 0.0 {
        return;
    }
    let radius = box_radius(sigma, PASSES);
    let mut line = Vec::new();
    let mut scratch = Vec::new();
    // Rows.
    for y in 0..h {
        for c in 0..channels {
            line.clear();
            line.extend((0..w).map(|x| f32::from(data[(y * w + x) * channels + c])));
            blur_line(&mut line, &mut scratch, radius);
            for (x, v) in line.iter().enumerate() {
                data[(y * w + x) * channels + c] = (v + 0.5) as u8;
            }
        }
    }
    // Columns.
    for x in 0..w {
        for c in 0..channels {
            line.clear();
            line.extend((0..h).map(|y| f32::from(data[(y * w + x) * channels + c])));
            blur_line(&mut line, &mut scratch, radius);
            for (y, v) in line.iter().enumerate() {
                data[(y * w + x) * channels + c] = (v + 0.5) as u8;
            }
        }
    }
}

/// The extended box radius (integer part plus a fractional weight) whose `passes`-fold
/// repetition has variance `sigma`² (Gwosdek et al., eqs. 7, 11, 14).
fn box_radius(sigma: f32, passes: usize) -> f32 {
    let sigma2 = f64::from(sigma) * f64::from(sigma) / passes as f64;
    let big_l = (12.0 * sigma2 + 1.0).sqrt();
    let l = ((big_l - 1.0) / 2.0).floor();
    let a =
        (2.0 * l + 1.0) * (l * (l + 1.0) - 3.0 * sigma2) / (6.0 * (sigma2 - (l + 1.0) * (l + 1.0)));
    (l + a) as f32
}

/// `PASSES` extended box blurs of one line, edges clamped.
fn blur_line(line: &mut [f32], prefix: &mut Vec<f32>, radius: f32) {
    let n = line.len();
    let l = radius.floor() as usize;
    let frac = radius - l as f32;
    let norm = 1.0 / (2.0 * radius + 1.0);
    let last = n - 1;
    let at = |line: &[f32], i: isize| line[i.clamp(0, last as isize) as usize];
    for _ in 0..PASSES {
        // Prefix sums over the line padded with l + 1 edge copies on each side.
        let pad = l + 1;
        prefix.clear();
        prefix.push(0.0);
        let mut acc = 0.0f64;
        for i in 0..n + 2 * pad {
            acc += f64::from(at(line, i as isize - pad as isize));
            prefix.push(acc as f32);
        }
        let out: Vec<f32> = (0..n)
            .map(|x| {
                // Padded index of x is x + pad; window [x - l, x + l].
                let lo = x + pad - l;
                let hi = x + pad + l + 1;
                let inner = f64::from(prefix[hi]) - f64::from(prefix[lo]);
                let outer = at(line, x as isize - l as isize - 1) + at(line, (x + l + 1) as isize);
                ((inner as f32) + frac * outer) * norm
            })
            .collect();
        line.copy_from_slice(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_radius_has_the_asked_variance() {
        for sigma in [0.5f32, 1.0, 2.0, 7.5, 40.0] {
            let r = box_radius(sigma, PASSES);
            let (l, a) = (r.floor(), r - r.floor());
            // Variance of one extended box (Gwosdek eq. 6), times the passes.
            let var = (2.0 * l + 1.0) * l * (l + 1.0) / 3.0 + 2.0 * a * (l + 1.0) * (l + 1.0);
            let var = var / (2.0 * l + 1.0 + 2.0 * a) * PASSES as f32;
            assert!(
                (var - sigma * sigma).abs() < 0.01 * sigma * sigma + 1e-3,
                "{sigma}: {var}"
            );
        }
    }

    #[test]
    fn a_flat_line_stays_flat() {
        let mut line = vec![100.0f32; 17];
        blur_line(&mut line, &mut Vec::new(), box_radius(3.0, PASSES));
        assert!(line.iter().all(|v| (v - 100.0).abs() < 1e-3));
    }
}

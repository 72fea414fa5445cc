//! `pixelate:size`: averages `size` x `size` blocks from the top-left corner (the last
//! row and column of blocks may be smaller), as a BOX reduction followed by a nearest
//! enlargement does.

/// Replaces each block with its mean colour (alpha included).
pub(crate) fn apply(data: &mut [u8], width: u32, height: u32, channels: usize, size: u32) {
    let (w, h, size) = (width as usize, height as usize, size.max(1) as usize);
    if size == 1 {
        return;
    }
    for by in (0..h).step_by(size) {
        for bx in (0..w).step_by(size) {
            let (ye, xe) = ((by + size).min(h), (bx + size).min(w));
            let mut sum = [0u32; 4];
            for y in by..ye {
                for px in
                    data[(y * w + bx) * channels..(y * w + xe) * channels].chunks_exact(channels)
                {
                    for (s, &c) in sum.iter_mut().zip(px) {
                        *s += u32::from(c);
                    }
                }
            }
            let n = ((ye - by) * (xe - bx)) as u32;
            let mut mean = [0u8; 4];
            for (m, s) in mean.iter_mut().zip(sum) {
                *m = ((s + n / 2) / n) as u8;
            }
            let mean = &mean[..channels];
            for y in by..ye {
                for px in data[(y * w + bx) * channels..(y * w + xe) * channels]
                    .chunks_exact_mut(channels)
                {
                    px.copy_from_slice(mean);
                }
            }
        }
    }
}

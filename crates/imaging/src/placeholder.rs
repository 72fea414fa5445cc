//! Placeholders a client shows while an image loads: a BlurHash and the dominant colour,
//! computed from the small thumbnail (never from the full image), so they cost well under a
//! millisecond on top of the thumbnail step.

use image::RgbImage;

use crate::Error;

/// A BlurHash string and the dominant colour of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// BlurHash with 4x3 components (3x4 for portrait images): 28 characters.
    pub blurhash: String,
    /// The dominant colour, sRGB.
    pub color: [u8; 3],
}

impl Placeholder {
    /// The colour as CSS hex, `#rrggbb`.
    pub fn color_hex(&self) -> String {
        let [r, g, b] = self.color;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// The placeholder of a small, upright, opaque image (a thumbnail).
pub fn placeholder(img: &RgbImage) -> Result<Placeholder, Error> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::InvalidParameter("a placeholder needs at least one pixel".into()));
    }
    let (cx, cy) = if w >= h { (4, 3) } else { (3, 4) };
    let rgba: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let blurhash = blurhash::encode(cx, cy, w, h, &rgba)
        .map_err(|e| Error::InvalidParameter(format!("blurhash: {e:?}")))?;
    Ok(Placeholder { blurhash, color: dominant_color(img) })
}

/// The mean colour of the most populous cell of a 16x16x16 RGB grid: the colour most of the
/// image is near, where a plain mean of a red flower on green leaves would be a brown
/// neither has.
pub fn dominant_color(img: &RgbImage) -> [u8; 3] {
    let mut counts = vec![0u32; 4096];
    let mut sums = vec![[0u64; 3]; 4096];
    for p in img.pixels() {
        let cell = (usize::from(p[0] >> 4) << 8) | (usize::from(p[1] >> 4) << 4) | usize::from(p[2] >> 4);
        counts[cell] += 1;
        for c in 0..3 {
            sums[cell][c] += u64::from(p[c]);
        }
    }
    // Ties go to the lowest cell, so the answer is deterministic.
    let best = (0..4096).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    let n = u64::from(counts[best].max(1));
    sums[best].map(|s| ((s + n / 2) / n) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_colour_is_the_majority_not_the_mean() {
        // 70% green leaves, 30% red flower: the mean would be a muddy brown.
        let img = RgbImage::from_fn(100, 10, |x, _| if x < 70 { image::Rgb([40, 160, 50]) } else { image::Rgb([220, 20, 30]) });
        let p = placeholder(&img).unwrap();
        assert_eq!(p.color, [40, 160, 50]);
        assert_eq!(p.color_hex(), "#28a032");
    }

    #[test]
    fn blurhash_decodes_back_to_the_image_colours() {
        // Left half blue, right half orange: the decoded hash keeps that layout.
        let img = RgbImage::from_fn(128, 96, |x, _| if x < 64 { image::Rgb([20, 40, 200]) } else { image::Rgb([240, 140, 20]) });
        let p = placeholder(&img).unwrap();
        assert_eq!(p.blurhash.len(), 28);
        let back = blurhash::decode(&p.blurhash, 32, 24, 1.0).unwrap();
        let at = |x: usize, y: usize| &back[(y * 32 + x) * 4..(y * 32 + x) * 4 + 3];
        let (left, right) = (at(2, 12), at(29, 12));
        // Four components blur the edge, but each side keeps its own colour.
        assert!(left[2] > 150 && left[2] > right[2] + 100, "left {left:?} right {right:?}");
        assert!(right[0] > 180 && right[0] > left[0] + 60, "left {left:?} right {right:?}");
        let portrait = placeholder(&RgbImage::new(30, 60)).unwrap();
        assert_eq!(portrait.blurhash.len(), 28);
    }
}

//! Feature extraction: one cheap downsize to 64x64, then four blocks, each L2-normalised
//! and weighted, concatenated and L2-normalised again. Cosine similarity of two vectors is
//! then the weighted mean of the blocks' own cosines (the shares sum to one).
//!
//! Design (version 2, measured with `tools/eval` on real photos: `docs/vectors.md`; bump
//! [`FEATURE_VERSION`] when anything here changes, since stored vectors of another
//! version are not comparable):
//! - The image is squashed to 64x64 ignoring its aspect ratio, so resized copies land on
//!   the same working image. Alpha is flattened on white, like the thumbnails.
//! - Colour is a hue x saturation histogram: unchanged by a uniform brightness change.
//! - Layout is an 8x8 grey image, mean-centred and contrast-normalised, its border cells
//!   weighted down: coarse enough that a 10% crop moves content by under one cell.
//! - The pHash bits add precision against false duplicates (they score ~0 between
//!   distinct photos) but break under crops, so their share is small.
//! - Edge orientations (8 directions x 2x2 cells), mean-centred so that the edges every
//!   photo has do not make distinct photos look alike.
//! - A horizontal flip is a *different* image: layout, pHash and edge cells are
//!   position-dependent (only the colour histogram is flip-invariant), so a mirrored copy
//!   scores well below [`DUPLICATE_THRESHOLD`] (it may still come up as "similar").

use image::DynamicImage;

use crate::blocks::{self, COLOUR_DIMS, EDGE_DIMS, PHASH_DIMS, TINY_DIMS, WORK};
use crate::phash;

/// Version of the feature layout and weights; stored with vectors so old ones can be redone.
pub const FEATURE_VERSION: u32 = 2;

/// The box (in pixels, both sides) an image is decoded to fill before [`extract`]: JPEGs
/// are shrunk on load to at least twice this box, so the features see the same
/// pixels whoever computes them (the vectorize component, the evaluation, benchmarks).
/// Part of the feature definition: changing it changes vectors.
pub const DECODE_SIDE: u32 = 256;

/// Suggested cosine threshold for "near-duplicate" with this feature version. On the 96
/// real photos of `docs/vectors.md`: every resized, recompressed or converted copy
/// scores above 0.92, ~98% of the +-10/20% brightness changes and about half of the
/// 5-10% crops reach 0.90, while no two distinct photos score above 0.71.
pub const DUPLICATE_THRESHOLD: f32 = 0.90;

/// Length of [`Features::vector`].
pub const DIMS: usize = COLOUR_DIMS + TINY_DIMS + PHASH_DIMS + EDGE_DIMS;

/// One block of the vector, for documentation, debugging and evaluation tools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub name: &'static str,
    /// First index of the block in the vector.
    pub offset: usize,
    pub dims: usize,
    /// The block's share of the cosine similarity (weights sum to 1).
    pub share: f32,
}

/// The vector layout, in order.
pub const BLOCKS: [Block; 4] = [
    Block {
        name: "colour_hue12_sat4_grey1",
        offset: 0,
        dims: COLOUR_DIMS,
        share: 0.30,
    },
    Block {
        name: "grey_layout_8x8",
        offset: COLOUR_DIMS,
        dims: TINY_DIMS,
        share: 0.40,
    },
    Block {
        name: "phash_bits",
        offset: COLOUR_DIMS + TINY_DIMS,
        dims: PHASH_DIMS,
        share: 0.10,
    },
    Block {
        name: "edge_orientation_8x2x2",
        offset: COLOUR_DIMS + TINY_DIMS + PHASH_DIMS,
        dims: EDGE_DIMS,
        share: 0.20,
    },
];

/// The features of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// [`DIMS`] values, unit L2 norm.
    pub vector: Vec<f32>,
    /// 64-bit DCT perceptual hash (see [`crate::hamming`]).
    pub phash: u64,
}

/// Extracts the features of `img` (any size, any colour type). Cost is dominated by one
/// SIMD downsize of the input to 64x64; everything after works on 4096 pixels.
pub fn extract(img: &DynamicImage) -> Features {
    let rgb = working_image(img);
    let grey: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let hash = phash::phash(&blocks::phash_input(&grey));
    let parts = [
        blocks::colour_histogram(&rgb),
        blocks::tiny_image(&grey),
        blocks::phash_bits(hash),
        blocks::edge_histogram(&grey),
    ];
    let mut vector = Vec::with_capacity(DIMS);
    for (mut part, block) in parts.into_iter().zip(BLOCKS) {
        debug_assert_eq!(part.len(), block.dims);
        normalise(&mut part);
        let weight = block.share.sqrt();
        vector.extend(part.iter().map(|v| v * weight));
    }
    normalise(&mut vector);
    Features {
        vector,
        phash: hash,
    }
}

/// The 64x64 RGB working image (row-major bytes), alpha flattened on white.
fn working_image(img: &DynamicImage) -> Vec<u8> {
    if img.width() == 0 || img.height() == 0 {
        return vec![0; WORK * WORK * 3];
    }
    let side = WORK as u32;
    // `resize` only fails on a zero target size, which cannot happen here.
    let small = imaging::resize(img, side, side)
        .unwrap_or_else(|_| img.resize_exact(side, side, image::imageops::FilterType::Triangle));
    imaging::flatten_on_white(&small).into_raw()
}

/// Scales `v` to unit L2 norm; an all-zero (or non-finite) block stays zero.
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm.is_finite() && norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
}

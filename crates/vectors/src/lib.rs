//! # darkroom vectors
//!
//! Feature vectors for similar-image search and batch statistics, plain Rust with no Spin
//! dependency (built natively and for `wasm32-wasip2`), f32 throughout.
//!
//! | what | module | entry points |
//! |---|---|---|
//! | feature extraction (versioned layout) | `extract` | [`extract`], [`Features`], [`DIMS`], [`FEATURE_VERSION`], [`DECODE_SIDE`], [`BLOCKS`], [`DUPLICATE_THRESHOLD`] |
//! | blocks: hue x saturation histogram, 8x8 grey layout, pHash bits, edge orientations | `blocks` | (internal) |
//! | perceptual hash | `phash` | [`phash_hex`], [`phash_from_hex`], [`hamming`] |
//! | storage codec (f32 little-endian) | `codec` | [`to_le_bytes`], [`from_le_bytes`], [`stack`] |
//! | cosine top-k | `search` | [`top_k`], [`scores`]; streaming: [`dot`], [`TopK`] |
//! | exact top-k from score intervals (sketched rows) | `shortlist` | [`Shortlist`], [`settle`] |
//! | similar search over the stored vectors | [`similar`] | [`similar::search`] |
//! | batch statistics, PCA | `batch` | [`batch_stats`], [`BatchStats`] |
//! | one error type | `error` | [`Error`] |
//!
//! ```
//! let photo = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(200, 100, |x, y| {
//!     image::Rgb([x as u8, y as u8, (x ^ y) as u8])
//! }));
//! let f = vectors::extract(&photo);
//! assert_eq!(f.vector.len(), vectors::DIMS);
//!
//! let bytes = vectors::to_le_bytes(&f.vector);          // what the store keeps
//! let back = vectors::from_le_bytes(&bytes)?;
//! let matrix = vectors::stack(&[back.clone(), back])?;  // n x DIMS
//! let best = vectors::top_k(&f.vector, matrix.view(), 1);
//! assert_eq!(best[0].0, 0);
//! assert!((best[0].1 - 1.0).abs() < 1e-5);
//! # Ok::<(), vectors::Error>(())
//! ```

mod batch;
mod blocks;
mod codec;
mod error;
mod extract;
mod phash;
mod search;
mod shortlist;
pub mod similar;

pub use batch::{BatchStats, batch_stats};
pub use codec::{from_le_bytes, stack, to_le_bytes};
pub use error::Error;
pub use extract::{
    BLOCKS, Block, DECODE_SIDE, DIMS, DUPLICATE_THRESHOLD, FEATURE_VERSION, Features, extract,
};
pub use phash::{hamming, phash_from_hex, phash_hex};
pub use search::{TopK, cosine, dot, scores, top_k};
pub use shortlist::{Candidate, Settling, Shortlist, settle};

/// The `ndarray` version this API exposes.
pub use ndarray;

//! # darkroom imaging
//!
//! The image core of darkroom: plain Rust, no Spin dependency, tested natively and built
//! for `wasm32-wasip2`. Nothing here panics on hostile input (truncated files, absurd
//! dimensions, bogus EXIF): every failure is an [`Error`].
//!
//! The pipeline, one module per step, in the order a request uses them:
//!
//! | step | module | entry points |
//! |---|---|---|
//! | format table, magic-byte sniffing | `format` | [`Format`], [`sniff`] |
//! | limits | `limits` | [`Limits`] (`Default`, `validate`) |
//! | header before any decode | `header` | [`read_header`], [`Header`] |
//! | decode (limits, orientation) | `decode` | [`decode`], [`decode_at_least`], [`decode_planned`] |
//! | JPEG shrink-on-load (DCT scaling, 2x margin) | `shrink` | [`shrink_factor`] |
//! | PNG shrink-on-load (rows streamed, box-averaged, 2x margin) | `png_stream` | used by [`decode_planned`] |
//! | EXIF orientation | `orientation` | [`apply_orientation`], [`swaps_dimensions`] |
//! | resampling (`fast_image_resize`, Lanczos3) | `resize` | [`resize`] |
//! | encoding (JPEG flattened on white) | `encode` | [`encode`], [`encode_jpeg`], [`jpeg_pixels`], [`flatten_on_white`] |
//! | baseline JPEG writer (SIMD DCT and colour conversion in wasm) | `jpeg_writer` | used by [`jpeg_pixels`] |
//! | thumbnails | `thumbnail` | [`thumbnail`], [`thumbnail_from_image`], [`fit_within`] |
//! | placeholders (BlurHash, dominant colour) | `placeholder` | [`placeholder()`], [`Placeholder`] |
//! | time per stage (`Server-Timing`) | `stages` | [`Stages`], [`thumbnail_staged`], [`ThumbnailJpeg`] |
//! | one error type | `error` | [`Error`] |
//! | test photos (feature `testkit`) | `testkit` | `testkit::synthetic_photo`, `testkit::encode` |
//!
//! ```
//! use imaging::{Format, Limits, ThumbnailSpec};
//!
//! // Any image bytes; here a 640x480 PNG made on the spot.
//! let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 128]));
//! let png = imaging::encode(&image::DynamicImage::ImageRgb8(img), Format::Png, 0)?;
//!
//! assert_eq!(imaging::sniff(&png), Some(Format::Png));
//! let limits = Limits::default();
//! let header = imaging::read_header(&png, &limits)?; // refuses huge images before decoding
//! assert_eq!((header.width, header.height), (640, 480));
//!
//! let thumb = imaging::thumbnail(&png, &ThumbnailSpec { max_side: 128, quality: 80 }, &limits)?;
//! assert_eq!((thumb.width, thumb.height), (128, 96));
//! assert_eq!(imaging::sniff(&thumb.bytes), Some(Format::Jpeg));
//! # Ok::<(), imaging::Error>(())
//! ```

mod decode;
mod encode;
mod error;
mod format;
mod header;
mod jpeg_writer;
mod limits;
mod orientation;
mod placeholder;
mod png_stream;
mod resize;
mod shrink;
mod stages;
mod thumbnail;
mod tiff_guard;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use decode::{decode, decode_at_least, decode_planned};
pub use encode::{encode, encode_jpeg, flatten_on_white, jpeg_pixels};
pub use error::Error;
pub use format::{Format, sniff};
pub use header::{Header, read_header};
pub use limits::Limits;
pub use orientation::{apply_orientation, swaps_dimensions};
pub use placeholder::{Placeholder, dominant_color, placeholder};
pub use resize::resize;
pub use shrink::shrink_factor;
pub use stages::Stages;
pub use thumbnail::{
    Thumbnail, ThumbnailJpeg, ThumbnailSpec, fit_within, thumbnail, thumbnail_from_image,
    thumbnail_staged,
};

/// The `image` crate version this API exposes (`DynamicImage`, `RgbImage`).
pub use image;

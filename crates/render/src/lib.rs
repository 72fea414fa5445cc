//! # darkroom render
//!
//! The render core of darkroom: turns one stored original into any size, crop, effect
//! and format from the query of a render URL (API-v2 "Render URLs", "Filters, presets,
//! variants"). Plain Rust on top of `imaging`, no Spin and no store dependency, tested
//! natively and built for `wasm32-wasip2`. Nothing here panics on any query or image:
//! every failure is an [`Error`] that says which HTTP status fits ([`Error::status`]).
//!
//! The pipeline, one module per step, in the order a request uses them:
//!
//! | step | module | entry points |
//! |---|---|---|
//! | query → options, canonical cache key, `Accept` negotiation | `options`, `format` | [`RenderOptions`], [`OutputFormat`], [`FormatChoice`] |
//! | geometry from the header (sharp's `resize` sizes) | `plan` | [`plan`], [`Plan`] |
//! | limits (checked on the plan, before decoding) | `limits` | [`Limits`] |
//! | decode with shrink-on-load, crop, resize, cover window | `render` | [`render`], [`render_image`] |
//! | smart gravity (content-aware window) | `smart` | [`Gravity::Smart`] |
//! | embedded ICC profile → sRGB (`moxcms`) | `color` | applied by [`render`] |
//! | filters, one file per operation | `filters` | [`Chain`], [`filter_catalog`] |
//! | presets (CSSgram chains and overlays) | `presets`, `blend` | [`Presets`], [`Preset`], [`BlendMode`] |
//! | letterbox, flatten, encode (no metadata; lossy WebP through libwebp) | `render`, `encode`, `webp` | [`Rendered`] |
//! | one error type | `error` | [`Error`] |
//!
//! ```
//! use render::{Limits, Presets, RenderOptions};
//!
//! let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 128]));
//! let png = imaging::encode(&image::DynamicImage::ImageRgb8(img), imaging::Format::Png, 0)?;
//!
//! let presets = Presets::builtin();
//! let opts = RenderOptions::parse("w=200&h=200&fit=cover&preset=clarendon", &presets)?;
//! let format = opts.output_format(Some("image/webp,*/*"), false);
//! let out = render::render(&png, &opts, format, &Limits::default())?;
//! assert_eq!((out.width, out.height, out.format.mime()), (200, 200, "image/webp"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod blend;
mod color;
mod encode;
mod error;
pub mod filters;
mod format;
mod limits;
mod options;
mod plan;
mod presets;
mod render;
mod smart;
mod webp;

pub use blend::{BlendMode, Overlay};
pub use error::Error;
pub use filters::{Chain, FilterInfo, ParamInfo, filter_catalog};
pub use format::{FormatChoice, OutputFormat};
pub use limits::Limits;
pub use options::{Effect, Fit, Gravity, MAX_SIDE, Rect, RenderOptions};
pub use plan::{Plan, plan};
pub use presets::{Preset, PresetInfo, Presets};
pub use render::{Rendered, check_budget, render, render_image};

/// The `image` crate version this API exposes.
pub use image;

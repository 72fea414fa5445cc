//! Render limits: the output budget checked from the plan before any decode, plus the
//! decode limits of `imaging`. Values come from Spin variables read by the component.

use crate::Error;

/// Limits of one render. `Default` gives the service defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest output (and intermediate resized image) in pixels; more is refused with
    /// 413 before decoding (variable `max_render_pixels`).
    pub max_render_pixels: u64,
    /// Largest AVIF output in pixels encoded on the fly (rav1e is slow: this keeps a
    /// render inside the request time limit). More is refused with 413; `format=auto`
    /// picks WebP instead ([`crate::RenderOptions::output_format_within`]).
    pub avif_max_pixels: u64,
    /// rav1e speed for AVIF, 1..=10 (10 fastest; variable `avif_speed`).
    pub avif_speed: u8,
    /// libwebp's `method` for lossy WebP, 0..=6 (sharp's `effort`: 0 fastest, 6 smallest;
    /// variable `webp_effort`).
    pub webp_effort: u8,
    /// Decode limits (source pixels, decoder memory).
    pub imaging: imaging::Limits,
}

impl Limits {
    /// Default output cap: 16 MP (a 4096 x 4096 render, about 64 MiB as RGBA).
    pub const DEFAULT_MAX_RENDER_PIXELS: u64 = 16_000_000;
    /// Default AVIF cap: 1 MP.
    pub const DEFAULT_AVIF_MAX_PIXELS: u64 = 1_000_000;

    /// Default AVIF speed: 10, the fastest (rav1e needs about 0.8 s per megapixel natively
    /// even there).
    pub const DEFAULT_AVIF_SPEED: u8 = 10;

    /// Default WebP effort: 4, sharp's and libwebp's default.
    pub const DEFAULT_WEBP_EFFORT: u8 = 4;

    /// Checks that the limits make sense.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_render_pixels == 0 {
            return Err(Error::range("max_render_pixels", "must be positive"));
        }
        if !(1..=10).contains(&self.avif_speed) {
            return Err(Error::range(
                "avif_speed",
                format!("{} is not in 1..=10", self.avif_speed),
            ));
        }
        if self.webp_effort > 6 {
            return Err(Error::range(
                "webp_effort",
                format!("{} is not in 0..=6", self.webp_effort),
            ));
        }
        self.imaging.validate()?;
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_render_pixels: Self::DEFAULT_MAX_RENDER_PIXELS,
            avif_max_pixels: Self::DEFAULT_AVIF_MAX_PIXELS,
            avif_speed: Self::DEFAULT_AVIF_SPEED,
            webp_effort: Self::DEFAULT_WEBP_EFFORT,
            imaging: imaging::Limits::default(),
        }
    }
}

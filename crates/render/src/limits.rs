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
            imaging: imaging::Limits::default(),
        }
    }
}

//! Resource limits checked before and during decoding.

use crate::Error;

/// Limits applied to every decode. Construct with `Default` and override fields:
///
/// ```
/// let limits = imaging::Limits { max_pixels: 1_000_000, ..Default::default() };
/// assert!(limits.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `width * height` accepted, checked on the header before decoding.
    pub max_pixels: u64,
    /// Largest buffer a decoder may allocate, in bytes (passed to `image::Limits`).
    pub max_alloc: u64,
}

impl Limits {
    /// Default pixel cap: 50 megapixels (the `max_pixels` Spin variable's default).
    pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
    /// Default allocation cap: 256 MiB (a 50 MP RGB image needs 150 MB).
    pub const DEFAULT_MAX_ALLOC: u64 = 256 * 1024 * 1024;

    /// Checks that the limits themselves make sense.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_pixels == 0 {
            return Err(Error::InvalidParameter(
                "max_pixels must be positive".into(),
            ));
        }
        if self.max_alloc == 0 {
            return Err(Error::InvalidParameter("max_alloc must be positive".into()));
        }
        Ok(())
    }

    /// Refuses `width x height` when it exceeds [`Limits::max_pixels`] (or is empty).
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), Error> {
        if width == 0 || height == 0 {
            return Err(Error::Corrupt(format!(
                "image has an empty size {width}x{height}"
            )));
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(Error::TooManyPixels {
                width,
                height,
                max: self.max_pixels,
            });
        }
        Ok(())
    }

    /// Refuses a decode of `what` that needs `bytes` of buffers, more than [`Limits::max_alloc`].
    pub(crate) fn check_alloc(
        &self,
        what: std::fmt::Arguments<'_>,
        bytes: u64,
    ) -> Result<(), Error> {
        if bytes > self.max_alloc {
            return Err(Error::TooLarge(format!(
                "{what} needs {bytes} bytes, more than the limit of {}",
                self.max_alloc
            )));
        }
        Ok(())
    }

    /// The equivalent `image::Limits` (allocation cap; pixel cap is checked by us).
    pub(crate) fn to_image_limits(self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_alloc = Some(self.max_alloc);
        l
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_alloc: Self::DEFAULT_MAX_ALLOC,
        }
    }
}

//! Output formats: the concrete encodings a render can produce, and `format=` choices.

use serde::Serialize;

/// A concrete output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Baseline (or progressive) JPEG, 4:2:0, alpha flattened on `bg`.
    Jpeg,
    /// 8-bit PNG, alpha kept.
    Png,
    /// WebP, alpha kept: lossy through libwebp at `q` (default 80, as sharp), or
    /// lossless (`image-webp`) with `lossless=1`.
    Webp,
    /// AVIF through `ravif` (only when [`crate::Limits::avif_max_pixels`] allows it).
    Avif,
}

impl OutputFormat {
    /// The `Content-Type` of this format.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Avif => "image/avif",
        }
    }

    /// The short name used by `format=` and in cache keys.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
        }
    }

    /// Whether the format keeps an alpha channel (JPEG flattens on `bg`).
    pub fn has_alpha(self) -> bool {
        !matches!(self, OutputFormat::Jpeg)
    }

    /// The largest width or height the format can store.
    pub fn max_side(self) -> u32 {
        match self {
            OutputFormat::Jpeg => 65_535,
            OutputFormat::Webp => 16_383,
            OutputFormat::Png | OutputFormat::Avif => 65_535,
        }
    }

    /// The default quality for a lossy format when `q` is absent (imgproxy's defaults:
    /// 80 for JPEG and WebP, as sharp's, 63 for AVIF); lossless formats ignore it.
    pub fn default_quality(self) -> u8 {
        match self {
            OutputFormat::Avif => 63,
            _ => 80,
        }
    }
}

/// What `format=` asked for: one format, or `auto` (negotiated from `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FormatChoice {
    /// `format=auto` (the default): AVIF if `Accept` names it, else WebP if named, else
    /// PNG for images with alpha, JPEG otherwise.
    #[default]
    Auto,
    /// `format=jpeg` (or `jpg`).
    Jpeg,
    /// `format=png`.
    Png,
    /// `format=webp`.
    Webp,
    /// `format=avif`.
    Avif,
}

impl FormatChoice {
    /// Parses a `format=` value (`jpg` is accepted for `jpeg`).
    pub fn from_name(name: &str) -> Option<FormatChoice> {
        Some(match name {
            "auto" => FormatChoice::Auto,
            "jpeg" | "jpg" => FormatChoice::Jpeg,
            "png" => FormatChoice::Png,
            "webp" => FormatChoice::Webp,
            "avif" => FormatChoice::Avif,
            _ => return None,
        })
    }

    /// The explicit format, or `None` for `auto`.
    pub fn fixed(self) -> Option<OutputFormat> {
        match self {
            FormatChoice::Auto => None,
            FormatChoice::Jpeg => Some(OutputFormat::Jpeg),
            FormatChoice::Png => Some(OutputFormat::Png),
            FormatChoice::Webp => Some(OutputFormat::Webp),
            FormatChoice::Avif => Some(OutputFormat::Avif),
        }
    }

    /// The canonical name (`auto`, `jpeg`, ...).
    pub fn name(self) -> &'static str {
        self.fixed().map_or("auto", OutputFormat::name)
    }
}

/// True when the `Accept` header names `mime` with a non-zero quality (wildcards do not
/// count: every browser sends `*/*`, which says nothing about AVIF support).
pub(crate) fn accepts(accept: &str, mime: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or("").trim();
        if !ty.eq_ignore_ascii_case(mime) {
            return false;
        }
        // `q=0` means "not acceptable".
        parts.all(|p| {
            let p = p.trim();
            match p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                Some(q) => q.trim().parse::<f32>().map(|q| q > 0.0).unwrap_or(true),
                None => true,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_names_a_type_with_nonzero_q() {
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        assert!(accepts(chrome, "image/avif"));
        assert!(accepts(chrome, "image/webp"));
        assert!(!accepts("image/*,*/*", "image/webp"));
        assert!(!accepts("image/webp;q=0", "image/webp"));
        assert!(accepts("IMAGE/WEBP ; q=0.5", "image/webp"));
    }
}

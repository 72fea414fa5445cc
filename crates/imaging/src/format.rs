//! The format table and magic-byte sniffing.
//!
//! Like imgproxy's `imagetype/defs.go`, formats are one table: name, MIME type, extension.
//! Sniffing looks only at the first bytes; Content-Type and file names are never trusted.

use std::fmt;

/// An image format darkroom accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
}

/// One row of the format table.
struct Def {
    name: &'static str,
    mime: &'static str,
    extension: &'static str,
    image: image::ImageFormat,
}

impl Format {
    /// Every supported format, in table order.
    pub const ALL: [Format; 6] = [
        Format::Jpeg,
        Format::Png,
        Format::Gif,
        Format::Webp,
        Format::Tiff,
        Format::Bmp,
    ];

    fn def(self) -> Def {
        use image::ImageFormat as F;
        let (name, mime, extension, image) = match self {
            Format::Jpeg => ("jpeg", "image/jpeg", "jpg", F::Jpeg),
            Format::Png => ("png", "image/png", "png", F::Png),
            Format::Gif => ("gif", "image/gif", "gif", F::Gif),
            Format::Webp => ("webp", "image/webp", "webp", F::WebP),
            Format::Tiff => ("tiff", "image/tiff", "tiff", F::Tiff),
            Format::Bmp => ("bmp", "image/bmp", "bmp", F::Bmp),
        };
        Def {
            name,
            mime,
            extension,
            image,
        }
    }

    /// Lowercase short name used in JSON (`"jpeg"`, `"png"`, ...).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// MIME type to serve the bytes with (`"image/jpeg"`, ...).
    pub fn mime(self) -> &'static str {
        self.def().mime
    }

    /// Usual file extension, without the dot (`"jpg"`, ...).
    pub fn extension(self) -> &'static str {
        self.def().extension
    }

    /// The inverse of [`Format::name`] (also accepts `"jpg"` and `"tif"`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "jpg" => return Some(Format::Jpeg),
            "tif" => return Some(Format::Tiff),
            _ => {}
        }
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The `image` crate's name for this format.
    pub fn image_format(self) -> image::ImageFormat {
        self.def().image
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies the format from magic bytes only (at most the first 30 bytes are read).
///
/// Returns `None` for anything else: text, HTML, SVG, empty input, unsupported formats.
///
/// ```
/// assert_eq!(imaging::sniff(b"\x89PNG\r\n\x1a\n...."), Some(imaging::Format::Png));
/// assert_eq!(imaging::sniff(b"<html>"), None);
/// ```
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Some(Format::Tiff)
    } else if is_bmp(b) {
        Some(Format::Bmp)
    } else {
        None
    }
}

/// "BM" alone is too weak (text may start with it): also require a known DIB header size.
fn is_bmp(b: &[u8]) -> bool {
    if b.len() < 18 || !b.starts_with(b"BM") {
        return false;
    }
    let dib = u32::from_le_bytes([b[14], b[15], b[16], b[17]]);
    matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
}

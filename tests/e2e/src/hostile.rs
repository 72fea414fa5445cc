//! The hostile corpus: inputs an attacker (or a broken client) sends, generated here
//! and never downloaded. Each [`Case`] says what the server must answer.
//!
//! | family | what | expected |
//! |---|---|---|
//! | `truncated` | JPEG, PNG, GIF, WebP, TIFF, BMP cut at many offsets | 4xx; a cut past the pixel data a decoder tolerates may be accepted whole |
//! | `flipped` | the same files with bytes flipped | 4xx, or accepted whole |
//! | `huge` | headers claiming 65535², 100000², 16384² (WebP VP8L) | 413 from the header, small peak memory |
//! | `bomb` | PNG zlib bombs: 7000×7000 (≤ 50 MP) grey, RGB, RGBA16, RGB interlaced, and 7072² (over) | streamed (not interlaced): accepted whole; interlaced (a full decode, 147 MB) or over `max_pixels`: 413 |
//! | `junk` | empty, zeros, random bytes, magic bytes followed by random bytes | 4xx |
//! | `disguised` | HTML, SVG, JS with an image Content-Type or a `.jpg` file name | 415 |
//! | `polyglot` | JPEG/PNG with HTML or a ZIP appended, GIF/JS | an image with trailing junk is an image: stored whole, served with its sniffed type and `nosniff` |
//! | `exif` | orientation 0, 9, 65535; IFD counts in the millions; loops; offsets past the end | the image, shown as stored |
//! | `multipart` | missing or wrong boundary, 1000 parts, huge part headers, no closing delimiter | 400 / 413 / 415 |
//!
//! The oversized streamed body is not a case (it needs a raw socket, see
//! [`crate::rawhttp`]).

use std::io::{Cursor, Write};

use image::{DynamicImage, ImageFormat, RgbImage};

use crate::fixtures::{self, seed};

/// What the server must answer to a [`Case`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A 4xx `application/problem+json`; `Some(status)` pins the status.
    Refused(Option<u16>),
    /// A valid image (trailing junk, bogus metadata): stored and served whole.
    Image { format: &'static str, width: u32, height: u32 },
    /// Refused with a 4xx, or accepted and stored whole: damaged data that some decoders
    /// tolerate (a JPEG without its last bytes is still a picture).
    Either,
}

/// One hostile request: `POST /api/images` with `body` and `content_type`.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub expect: Expect,
}

impl Case {
    fn new(name: impl Into<String>, content_type: &str, body: Vec<u8>, expect: Expect) -> Self {
        Self { name: name.into(), content_type: content_type.to_string(), body, expect }
    }
}

/// Width and height of the base images the corpus damages.
pub const BASE: (u32, u32) = (64, 48);

/// A small photo encoded as `format` (GIF, WebP lossless, TIFF, BMP via `image`).
pub fn base_image(format: ImageFormat, salt: u64) -> Vec<u8> {
    let photo = fixtures::photo(BASE.0, BASE.1, seed(0x4051_0000 + salt));
    encode(&photo, format)
}

/// `img` encoded as `format` with the `image` crate's defaults.
pub fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let dynamic = DynamicImage::ImageRgb8(img.clone());
    let dynamic = if format == ImageFormat::Gif { DynamicImage::ImageRgba8(dynamic.to_rgba8()) } else { dynamic };
    dynamic.write_to(&mut out, format).unwrap_or_else(|e| panic!("encoding {format:?}: {e}"));
    out.into_inner()
}

/// The six formats darkroom accepts, with their names.
pub const FORMATS: [(ImageFormat, &str); 6] = [
    (ImageFormat::Jpeg, "jpeg"),
    (ImageFormat::Png, "png"),
    (ImageFormat::Gif, "gif"),
    (ImageFormat::WebP, "webp"),
    (ImageFormat::Tiff, "tiff"),
    (ImageFormat::Bmp, "bmp"),
];

/// Every case, in a fixed order (the bytes depend on the run's seed).
pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    truncated(&mut cases);
    flipped(&mut cases);
    huge(&mut cases);
    bombs(&mut cases);
    junk(&mut cases);
    disguised(&mut cases);
    polyglots(&mut cases);
    exif(&mut cases);
    multipart(&mut cases);
    cases
}

fn truncated(cases: &mut Vec<Case>) {
    for (i, (format, name)) in FORMATS.into_iter().enumerate() {
        let bytes = base_image(format, i as u64);
        let len = bytes.len();
        let mut cuts: Vec<usize> = vec![
            1, 2, 3, 4, 6, 8, 11, 16, 24, 33, 48, 64, 100, 150, 300,
            len / 8, len / 4, len / 2, 3 * len / 4, len - 64, len - 16, len - 4, len - 2, len - 1,
        ];
        cuts.retain(|&c| c > 0 && c < len);
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            // A cut inside the first 16 bytes leaves no header to read.
            let expect = if cut <= 16 { Expect::Refused(None) } else { Expect::Either };
            cases.push(Case::new(
                format!("truncated/{name}/{cut}-of-{len}"),
                "application/octet-stream",
                bytes[..cut].to_vec(),
                expect,
            ));
        }
    }
}

fn flipped(cases: &mut Vec<Case>) {
    for (i, (format, name)) in FORMATS.into_iter().enumerate() {
        let bytes = base_image(format, 100 + i as u64);
        for k in 0..8u64 {
            let mut rng = imaging::testkit::Rng::new(seed(0xF11B + 16 * i as u64 + k));
            let mut damaged = bytes.clone();
            // Keep the magic bytes so the file still claims its format; damage 1..=32 bytes.
            let flips = 1 + (rng.next_u64() % 32) as usize;
            for _ in 0..flips {
                let at = 4 + (rng.next_u64() as usize) % (damaged.len() - 4);
                damaged[at] ^= 1 + (rng.next_u64() % 255) as u8;
            }
            cases.push(Case::new(format!("flipped/{name}/{k}x{flips}"), "image/png", damaged, Expect::Either));
        }
    }
}

fn huge(cases: &mut Vec<Case>) {
    let too_large = Expect::Refused(Some(413));
    for (w, h) in [(65_535, 65_535), (100_000, 100_000), (1, 4_000_000_000), (u32::MAX, u32::MAX)] {
        cases.push(Case::new(format!("huge/png/{w}x{h}"), "image/png", fixtures::png_claiming(w, h), too_large.clone()));
    }
    for (w, h) in [(65_535, 65_535), (65_535, 1_000)] {
        cases.push(Case::new(format!("huge/jpeg/{w}x{h}"), "image/jpeg", fixtures::jpeg_claiming(w, h), too_large.clone()));
    }
    for (w, h) in [(65_535, 65_535), (10_000, 65_535)] {
        cases.push(Case::new(format!("huge/gif/{w}x{h}"), "image/gif", gif_claiming(w, h), too_large.clone()));
    }
    // The BMP and WebP decoders refuse sides over their own limits (65535, 16384) as
    // malformed (415) before darkroom sees a size: any 4xx, with a small peak memory.
    for (w, h) in [(65_535, 65_535), (100_000, 100_000), (100_000, -100_000)] {
        cases.push(Case::new(format!("huge/bmp/{w}x{h}"), "image/bmp", bmp_claiming(w, h), Expect::Refused(None)));
    }
    cases.push(Case::new("huge/bmp/20000x20000", "image/bmp", bmp_claiming(20_000, 20_000), too_large.clone()));
    for (w, h) in [(65_535, 65_535), (100_000, 100_000)] {
        cases.push(Case::new(format!("huge/tiff/{w}x{h}"), "image/tiff", tiff_claiming(w, h), too_large.clone()));
    }
    cases.push(Case::new("huge/webp-vp8l/16384x16384", "image/webp", webp_vp8l_claiming(16_384, 16_384), Expect::Refused(None)));
    for (w, h) in [(65_535, 65_535), (100_000, 100_000)] {
        cases.push(Case::new(format!("huge/webp-vp8x/{w}x{h}"), "image/webp", webp_vp8x_claiming(w, h), Expect::Refused(None)));
    }
}

/// A GIF whose logical screen and first frame claim `width`×`height`.
pub fn gif_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = base_image(ImageFormat::Gif, 7);
    bytes[6..8].copy_from_slice(&width.to_le_bytes());
    bytes[8..10].copy_from_slice(&height.to_le_bytes());
    if let Some(at) = bytes.iter().position(|&b| b == 0x2C) {
        // Image descriptor: 0x2C, left, top, width, height (u16 LE each).
        if at + 9 < bytes.len() {
            bytes[at + 5..at + 7].copy_from_slice(&width.to_le_bytes());
            bytes[at + 7..at + 9].copy_from_slice(&height.to_le_bytes());
        }
    }
    bytes
}

/// A BMP whose info header claims `width`×`height` (negative height: top-down).
pub fn bmp_claiming(width: i32, height: i32) -> Vec<u8> {
    let mut bytes = base_image(ImageFormat::Bmp, 8);
    bytes[18..22].copy_from_slice(&width.to_le_bytes());
    bytes[22..26].copy_from_slice(&height.to_le_bytes());
    bytes
}

/// A TIFF whose ImageWidth and ImageLength tags claim `width`×`height` (as LONGs).
pub fn tiff_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = base_image(ImageFormat::Tiff, 9);
    let le = &bytes[0..2] == b"II";
    let u16_at = |b: &[u8], at: usize| if le { u16::from_le_bytes([b[at], b[at + 1]]) } else { u16::from_be_bytes([b[at], b[at + 1]]) };
    let u32_at = |b: &[u8], at: usize| {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) }
    };
    let ifd = u32_at(&bytes, 4) as usize;
    let count = u16_at(&bytes, ifd) as usize;
    for e in 0..count {
        let at = ifd + 2 + 12 * e;
        let tag = u16_at(&bytes, at);
        // One strip of all the rows, so the strip tables agree with the claimed size.
        let (value, count) = match tag {
            256 => (width, 1),
            257 | 278 => (height, 1),
            273 => (8, 1),
            279 => (bytes.len() as u32 - 8, 1),
            _ => continue,
        };
        let (ty, val) = if le { (4u16.to_le_bytes(), value.to_le_bytes()) } else { (4u16.to_be_bytes(), value.to_be_bytes()) };
        bytes[at + 2..at + 4].copy_from_slice(&ty);
        let count: u32 = count;
        let count = if le { count.to_le_bytes() } else { count.to_be_bytes() };
        bytes[at + 4..at + 8].copy_from_slice(&count);
        bytes[at + 8..at + 12].copy_from_slice(&val);
    }
    bytes
}

/// A lossless WebP whose VP8L header claims `width`×`height` (at most 16384 each).
pub fn webp_vp8l_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = base_image(ImageFormat::WebP, 10);
    let at = find(&bytes, b"VP8L").expect("a lossless WebP has a VP8L chunk");
    // chunk size (4), signature 0x2f (1), then 14 bits width-1, 14 bits height-1, ...
    let bits_at = at + 9;
    let old = u32::from_le_bytes(bytes[bits_at..bits_at + 4].try_into().unwrap());
    let packed = (old & 0xF000_0000) | ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14);
    bytes[bits_at..bits_at + 4].copy_from_slice(&packed.to_le_bytes());
    bytes
}

/// A WebP with a VP8X chunk claiming a `width`×`height` canvas (24-bit sizes), followed
/// by the small lossless image.
pub fn webp_vp8x_claiming(width: u32, height: u32) -> Vec<u8> {
    let small = base_image(ImageFormat::WebP, 11);
    let payload = &small[12..]; // the chunks after "RIFF" size "WEBP"
    let mut vp8x = Vec::new();
    vp8x.extend_from_slice(b"VP8X");
    vp8x.extend_from_slice(&10u32.to_le_bytes());
    vp8x.extend_from_slice(&[0, 0, 0, 0]);
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((4 + vp8x.len() + payload.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&vp8x);
    out.extend_from_slice(payload);
    out
}

fn bombs(cases: &mut Vec<Case>) {
    // colour type 0 = grey, 2 = RGB, 6 = RGBA; bit depth 8 or 16. Non-interlaced PNGs
    // stream row by row into the reduced image the steps need: accepted whole. Interlaced
    // ones need the full decode: over `max_decode_bytes`, refused.
    let whole = |w, h| Expect::Image { format: "png", width: w, height: h };
    cases.push(Case::new("bomb/png/7000x7000-grey8", "image/png", png_bomb(7000, 7000, 0, 8), whole(7000, 7000)));
    cases.push(Case::new("bomb/png/7000x7000-rgb8", "image/png", png_bomb(7000, 7000, 2, 8), whole(7000, 7000)));
    cases.push(Case::new("bomb/png/7000x7000-rgba16", "image/png", png_bomb(7000, 7000, 6, 16), whole(7000, 7000)));
    cases.push(Case::new("bomb/png/7000x7000-rgb8-interlaced", "image/png", png_bomb_interlaced(7000, 7000, 2, 8), Expect::Refused(Some(413))));
    cases.push(Case::new("bomb/png/7072x7072-grey8-over-max-pixels", "image/png", png_bomb(7072, 7072, 0, 8), Expect::Refused(Some(413))));
    cases.push(Case::new("bomb/png/64x64-idat-inflates-to-64MB", "image/png", png_overlong_idat(64, 64, 64 << 20), Expect::Either));
}

/// A PNG of `width`×`height` zeros: a few hundred kilobytes that inflate to
/// `height * (1 + width * channels * depth / 8)` bytes.
pub fn png_bomb(width: u32, height: u32, colour_type: u8, depth: u8) -> Vec<u8> {
    let row = row_bytes(colour_type, depth);
    zeros_png(width, height, colour_type, depth, false, row(width) * u64::from(height))
}

/// [`png_bomb`] interlaced (Adam7): the seven passes' rows of zeros.
pub fn png_bomb_interlaced(width: u32, height: u32, colour_type: u8, depth: u8) -> Vec<u8> {
    // (first column, first row, column step, row step) of each pass.
    const PASSES: [(u32, u32, u32, u32); 7] =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
    let row = row_bytes(colour_type, depth);
    let count = |side: u32, first: u32, step: u32| side.saturating_sub(first).div_ceil(step);
    let inflated = PASSES
        .iter()
        .map(|&(x0, y0, dx, dy)| match (count(width, x0, dx), count(height, y0, dy)) {
            (0, _) | (_, 0) => 0, // an empty pass has no rows at all
            (w, h) => row(w) * u64::from(h),
        })
        .sum();
    zeros_png(width, height, colour_type, depth, true, inflated)
}

/// The bytes of one filtered row of `width` pixels: the filter byte and the samples.
fn row_bytes(colour_type: u8, depth: u8) -> impl Fn(u32) -> u64 {
    let channels: u64 = match colour_type {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => panic!("colour type {colour_type}"),
    };
    move |width| 1 + (u64::from(width) * channels * u64::from(depth)).div_ceil(8)
}

/// A `width`×`height` grey PNG whose IDAT stream inflates to `inflated` zero bytes, far
/// more than the image needs.
pub fn png_overlong_idat(width: u32, height: u32, inflated: u64) -> Vec<u8> {
    zeros_png(width, height, 0, 8, false, inflated)
}

fn zeros_png(width: u32, height: u32, colour_type: u8, depth: u8, interlaced: bool, inflated: u64) -> Vec<u8> {
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        zlib.write_all(&block[..n]).expect("in-memory zlib");
        left -= n as u64;
    }
    let idat = zlib.finish().expect("in-memory zlib");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour_type, 0, 0, u8::from(interlaced)]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &ihdr);
    for piece in idat.chunks(256 * 1024) {
        png_chunk(&mut out, b"IDAT", piece);
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends a PNG chunk (length, type, data, CRC).
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

fn junk(cases: &mut Vec<Case>) {
    let refused = Expect::Refused(None);
    cases.push(Case::new("junk/empty", "image/jpeg", Vec::new(), refused.clone()));
    for len in [1usize, 16, 1024, 1 << 20] {
        cases.push(Case::new(format!("junk/zeros/{len}"), "image/png", vec![0; len], refused.clone()));
    }
    let mut rng = imaging::testkit::Rng::new(seed(0x7A2D));
    for len in [1usize, 7, 64, 512, 4096, 65_536, 1 << 20] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        cases.push(Case::new(format!("junk/random/{len}"), "image/jpeg", bytes, refused.clone()));
    }
    let magics: [(&str, &[u8]); 8] = [
        ("jpeg", b"\xFF\xD8\xFF\xE0"),
        ("png", b"\x89PNG\r\n\x1a\n"),
        ("gif87", b"GIF87a"),
        ("gif89", b"GIF89a"),
        ("webp", b"RIFF\x00\x10\x00\x00WEBPVP8 "),
        ("tiff-le", b"II*\x00"),
        ("tiff-be", b"MM\x00*"),
        ("bmp", b"BM"),
    ];
    for (name, magic) in magics {
        for len in [0usize, 40, 4096] {
            let mut bytes = magic.to_vec();
            bytes.extend((0..len).map(|_| rng.next_u64() as u8));
            cases.push(Case::new(format!("junk/magic-then-random/{name}/{len}"), "image/png", bytes, refused.clone()));
        }
    }
}

const HTML: &str = "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
const XML_SVG: &str = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"10\" height=\"10\"/></svg>";
const JS: &str = "fetch('/api/images',{method:'DELETE'});alert(1)";

fn disguised(cases: &mut Vec<Case>) {
    let unsupported = Expect::Refused(Some(415));
    let texts: [(&str, &str); 5] = [
        ("html", HTML),
        ("svg", SVG),
        ("xml-svg", XML_SVG),
        ("js", JS),
        ("bom-html", "\u{FEFF}<html><img src=x onerror=alert(1)></html>"),
    ];
    for (name, text) in texts {
        for content_type in ["image/png", "image/jpeg", "image/svg+xml"] {
            cases.push(Case::new(format!("disguised/{name}/as-{content_type}"), content_type, text.as_bytes().to_vec(), unsupported.clone()));
        }
        let (content_type, body) = fixtures::multipart(&[fixtures::Part {
            name: "file",
            filename: "cat.jpg",
            content_type: "image/jpeg",
            bytes: text.as_bytes(),
        }]);
        cases.push(Case::new(format!("disguised/{name}/multipart-cat.jpg"), &content_type, body, unsupported.clone()));
    }
}

fn polyglots(cases: &mut Vec<Case>) {
    let (w, h) = BASE;
    let image = |format| Expect::Image { format, width: w, height: h };
    let mut jpeg_html = base_image(ImageFormat::Jpeg, 20);
    jpeg_html.extend_from_slice(HTML.as_bytes());
    cases.push(Case::new("polyglot/jpeg+html", "text/html", jpeg_html, image("jpeg")));

    let mut png_html = base_image(ImageFormat::Png, 21);
    png_html.extend_from_slice(SVG.as_bytes());
    cases.push(Case::new("polyglot/png+svg", "image/svg+xml", png_html, image("png")));

    let mut png_zip = base_image(ImageFormat::Png, 22);
    png_zip.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x08\x00");
    png_zip.extend_from_slice(&[0u8; 64]);
    cases.push(Case::new("polyglot/png+zip", "application/zip", png_zip, image("png")));

    // A JPEG whose comment segment holds a script.
    let jpeg = base_image(ImageFormat::Jpeg, 23);
    let comment = b"<script>alert(1)</script>";
    let mut with_comment = jpeg[..2].to_vec();
    with_comment.extend_from_slice(&[0xFF, 0xFE]);
    with_comment.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    with_comment.extend_from_slice(comment);
    with_comment.extend_from_slice(&jpeg[2..]);
    cases.push(Case::new("polyglot/jpeg-comment-script", "image/jpeg", with_comment, image("jpeg")));

    // GIF/JS: the logical screen width bytes read "/*" to JavaScript; the script follows
    // the trailer. A huge screen (10799 px wide) over a small frame.
    let mut gif_js = base_image(ImageFormat::Gif, 24);
    gif_js[6..8].copy_from_slice(b"/*");
    gif_js.extend_from_slice(b"*/=1;alert(document.domain);");
    cases.push(Case::new("polyglot/gif+js", "application/javascript", gif_js, Expect::Either));

    // HTML behind an image's magic bytes: sniffs as GIF, is not one.
    cases.push(Case::new("polyglot/gif-magic-html", "image/gif", format!("GIF89a{HTML}").into_bytes(), Expect::Refused(None)));
    cases.push(Case::new("polyglot/bmp-magic-html", "image/bmp", format!("BM{HTML}").into_bytes(), Expect::Refused(None)));
}

/// Bogus EXIF: the image stays a valid image; its metadata is ignored.
fn exif(cases: &mut Vec<Case>) {
    let (w, h) = BASE;
    let upright = Expect::Image { format: "jpeg", width: w, height: h };
    for orientation in [0u16, 9, 65_535] {
        let ifd = exif_ifd(&[(0x0112, 3, 1, u32::from(orientation))], 0);
        cases.push(Case::new(format!("exif/orientation-{orientation}"), "image/jpeg", jpeg_with_exif(&ifd, 30), upright.clone()));
    }
    // A valid orientation 6 (rotate 90°) swaps the reported sides: the control case.
    let ifd = exif_ifd(&[(0x0112, 3, 1, 6)], 0);
    cases.push(Case::new("exif/orientation-6", "image/jpeg", jpeg_with_exif(&ifd, 31), Expect::Image { format: "jpeg", width: h, height: w }));

    // IFD0 claims 65535 entries but holds one.
    let mut ifd = exif_ifd(&[(0x0112, 3, 1, 1)], 0);
    ifd[8..10].copy_from_slice(&65_535u16.to_le_bytes());
    cases.push(Case::new("exif/ifd-count-65535", "image/jpeg", jpeg_with_exif(&ifd, 32), upright.clone()));
    // Entries whose value counts run into the millions, pointing past the end.
    let ifd = exif_ifd(&[(0x010F, 2, 4_000_000, 0x40), (0x0112, 3, 1, 1), (0x0111, 4, 16_000_000, 0x7FFF_FFF0)], 0);
    cases.push(Case::new("exif/value-counts-in-the-millions", "image/jpeg", jpeg_with_exif(&ifd, 33), upright.clone()));
    // The next-IFD offset loops back to IFD0; an Exif sub-IFD pointer points to itself.
    let ifd = exif_ifd(&[(0x0112, 3, 1, 1), (0x8769, 4, 1, 8)], 8);
    cases.push(Case::new("exif/ifd-loop", "image/jpeg", jpeg_with_exif(&ifd, 34), upright.clone()));
    // IFD0 offset far past the end of the segment.
    let mut ifd = exif_ifd(&[(0x0112, 3, 1, 6)], 0);
    ifd[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    cases.push(Case::new("exif/ifd-offset-past-end", "image/jpeg", jpeg_with_exif(&ifd, 35), upright.clone()));
    // Not TIFF at all after "Exif\0\0".
    cases.push(Case::new("exif/garbage-tiff-header", "image/jpeg", jpeg_with_exif(b"XX\x2a\x00garbage", 36), upright.clone()));
    // An empty Exif payload.
    cases.push(Case::new("exif/empty", "image/jpeg", jpeg_with_exif(b"", 37), upright.clone()));
    // PNG with an eXIf chunk saying orientation 9.
    let png = base_image(ImageFormat::Png, 38);
    let ifd = exif_ifd(&[(0x0112, 3, 1, 9)], 0);
    let mut with_exif = png[..33].to_vec(); // signature + IHDR
    png_chunk(&mut with_exif, b"eXIf", &ifd);
    with_exif.extend_from_slice(&png[33..]);
    cases.push(Case::new("exif/png-exif-orientation-9", "image/png", with_exif, Expect::Image { format: "png", width: w, height: h }));
}

/// A little-endian TIFF structure holding one IFD at offset 8 with `entries`
/// (tag, type, count, value-or-offset), then `next` as the next-IFD offset.
pub fn exif_ifd(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
    let mut out = b"II\x2a\x00".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for &(tag, ty, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if ty == 3 && count == 1 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out
}

/// A small JPEG with an APP1 `Exif\0\0` segment holding `tiff` right after SOI.
pub fn jpeg_with_exif(tiff: &[u8], salt: u64) -> Vec<u8> {
    let jpeg = base_image(ImageFormat::Jpeg, salt);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn multipart(cases: &mut Vec<Case>) {
    let good = base_image(ImageFormat::Jpeg, 50);
    let (content_type, body) = fixtures::multipart(&[fixtures::Part { name: "file", filename: "a.jpg", content_type: "image/jpeg", bytes: &good }]);
    let boundary = content_type.split("boundary=").nth(1).unwrap().to_string();

    cases.push(Case::new("multipart/no-boundary-parameter", "multipart/form-data", body.clone(), Expect::Refused(Some(400))));
    cases.push(Case::new("multipart/empty-boundary", "multipart/form-data; boundary=", body.clone(), Expect::Refused(Some(400))));
    cases.push(Case::new("multipart/wrong-boundary", "multipart/form-data; boundary=not-the-one-in-the-body", body.clone(), Expect::Refused(Some(400))));
    cases.push(Case::new(
        "multipart/boundary-over-70-chars",
        &format!("multipart/form-data; boundary={}", "b".repeat(80)),
        body.clone(),
        Expect::Refused(Some(400)),
    ));
    let unclosed = body[..body.len() - boundary.len() - 6].to_vec();
    cases.push(Case::new("multipart/no-closing-delimiter", &content_type, unclosed, Expect::Refused(Some(400))));
    cases.push(Case::new("multipart/only-closing-delimiter", &content_type, format!("--{boundary}--\r\n").into_bytes(), Expect::Refused(Some(400))));
    let no_disposition = format!("--{boundary}\r\nContent-Type: image/jpeg\r\n\r\n").into_bytes();
    let mut no_disposition = no_disposition;
    no_disposition.extend_from_slice(&good);
    no_disposition.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    cases.push(Case::new("multipart/part-without-disposition", &content_type, no_disposition, Expect::Refused(Some(400))));

    // 1000 parts, each a tiny field.
    let mut many = Vec::new();
    for i in 0..1000 {
        many.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n").as_bytes());
    }
    many.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    cases.push(Case::new("multipart/1000-parts", &content_type, many, Expect::Refused(Some(413))));

    // A 64 KiB part header (one long Content-Disposition line), and 2000 header lines.
    let long_name = "n".repeat(64 * 1024);
    let mut huge_header = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{long_name}\"; filename=\"a.jpg\"\r\n\r\n").into_bytes();
    huge_header.extend_from_slice(&good);
    huge_header.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    cases.push(Case::new("multipart/64KiB-part-header", &content_type, huge_header, Expect::Refused(Some(413))));
    let mut many_lines = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n").into_bytes();
    for i in 0..2000 {
        many_lines.extend_from_slice(format!("X-Padding-{i}: {}\r\n", "p".repeat(16)).as_bytes());
    }
    many_lines.extend_from_slice(b"\r\n");
    many_lines.extend_from_slice(&good);
    many_lines.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    cases.push(Case::new("multipart/2000-header-lines", &content_type, many_lines, Expect::Refused(Some(413))));

    // A good image beside a disguised HTML part: nothing is stored.
    let (ct, mixed) = fixtures::multipart(&[
        fixtures::Part { name: "a", filename: "a.jpg", content_type: "image/jpeg", bytes: &good },
        fixtures::Part { name: "b", filename: "b.png", content_type: "image/png", bytes: HTML.as_bytes() },
    ]);
    cases.push(Case::new("multipart/good-image-and-html", &ct, mixed, Expect::Refused(Some(415))));
    // A good image beside an over-limit header: nothing is stored.
    let claiming = fixtures::png_claiming(100_000, 100_000);
    let (ct, mixed) = fixtures::multipart(&[
        fixtures::Part { name: "a", filename: "a.jpg", content_type: "image/jpeg", bytes: &good },
        fixtures::Part { name: "b", filename: "b.png", content_type: "image/png", bytes: &claiming },
    ]);
    cases.push(Case::new("multipart/good-image-and-huge-header", &ct, mixed, Expect::Refused(Some(413))));
    // An empty file part.
    let (ct, empty) = fixtures::multipart(&[fixtures::Part { name: "a", filename: "a.jpg", content_type: "image/jpeg", bytes: b"" }]);
    cases.push(Case::new("multipart/empty-file", &ct, empty, Expect::Refused(None)));
    // A multipart body sent as a raw upload (Content-Type says JPEG).
    cases.push(Case::new("multipart/body-sent-raw", "image/jpeg", body, Expect::Refused(Some(415))));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_big_and_its_crafted_headers_say_what_they_claim() {
        let cases = corpus();
        assert!(cases.len() >= 200, "{} cases", cases.len());
        let names: std::collections::HashSet<_> = cases.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names.len(), cases.len(), "case names are unique");
        let dims = |bytes: &[u8], format| {
            let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
            image::ImageDecoder::dimensions(&reader.into_decoder().expect("header reads"))
        };
        assert_eq!(dims(&gif_claiming(65_535, 65_535), ImageFormat::Gif), (65_535, 65_535));
        assert_eq!(dims(&bmp_claiming(20_000, 20_000), ImageFormat::Bmp), (20_000, 20_000));
        assert_eq!(dims(&tiff_claiming(100_000, 100_000), ImageFormat::Tiff), (100_000, 100_000));
        assert_eq!(dims(&webp_vp8x_claiming(10_000, 10_000), ImageFormat::WebP), (10_000, 10_000));
        assert_eq!(dims(&png_bomb(7000, 7000, 0, 8), ImageFormat::Png), (7000, 7000));
        assert!(png_bomb(7000, 7000, 6, 16).len() < 2 << 20, "a bomb is small");
        // The passes add up: an odd-sized interlaced bomb decodes.
        let small = imaging::decode(&png_bomb_interlaced(13, 11, 2, 8), &imaging::Limits::default()).expect("decodes");
        assert_eq!((small.width(), small.height()), (13, 11));
        assert!(png_bomb_interlaced(7000, 7000, 2, 8).len() < 2 << 20, "a bomb is small");
        // Bogus EXIF does not break the JPEG.
        let ifd = exif_ifd(&[(0x0112, 3, 1, 65_535)], 0);
        fixtures::decode(&jpeg_with_exif(&ifd, 1), ImageFormat::Jpeg);
    }
}

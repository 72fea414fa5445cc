//! The public contract (`shared/API.md`) as assertions. Each panics with the full reply.

use serde_json::Value;

use crate::client::{Client, Reply};
use crate::fixtures;

/// The default thumbnail box (`thumbnail_size`).
pub const THUMBNAIL_SIZE: u32 = 128;

/// Fermyon Wasm Functions' instance memory limit: a request must fit in it.
pub const MEMORY_BUDGET: u64 = 128 * 1024 * 1024;

/// `Cache-Control` of stored blobs, as a set of directives.
const IMMUTABLE: [&str; 3] = ["public", "max-age=31536000", "immutable"];

/// What an uploaded image's JSON object must say.
pub struct Upload<'a> {
    pub bytes: &'a [u8],
    /// `"jpeg"`, `"png"`, ...
    pub format: &'a str,
    pub width: u32,
    pub height: u32,
}

/// Checks an image object (`POST /api/images`, `GET /api/images/{id}`) field by field;
/// returns its id. Extra fields are allowed (API.md lets the contract grow).
#[track_caller]
pub fn image_object(object: &Value, upload: &Upload<'_>, context: &Reply) -> String {
    let id = fixtures::sha256_hex(upload.bytes);
    let field = |name: &str| {
        object.get(name).unwrap_or_else(|| panic!("image object lacks `{name}`: {object}\n{context}"))
    };
    assert_eq!(field("id").as_str(), Some(id.as_str()), "id = SHA-256 of the bytes\n{context}");
    assert_eq!(field("format").as_str(), Some(upload.format), "format\n{context}");
    assert_eq!(field("width").as_u64(), Some(u64::from(upload.width)), "width\n{context}");
    assert_eq!(field("height").as_u64(), Some(u64::from(upload.height)), "height\n{context}");
    assert_eq!(field("bytes").as_u64(), Some(upload.bytes.len() as u64), "bytes\n{context}");
    let created = field("created").as_str().unwrap_or_else(|| panic!("created is a string\n{context}"));
    assert!(is_rfc3339(created), "created is RFC 3339: {created:?}\n{context}");

    let thumbnail = field("thumbnail");
    assert_eq!(thumbnail["format"].as_str(), Some("jpeg"), "thumbnail.format\n{context}");
    let tw = thumbnail["width"].as_u64().unwrap_or_else(|| panic!("thumbnail.width\n{context}"));
    let th = thumbnail["height"].as_u64().unwrap_or_else(|| panic!("thumbnail.height\n{context}"));
    if let Err(e) = fitting((tw as u32, th as u32), (upload.width, upload.height), THUMBNAIL_SIZE) {
        panic!("thumbnail: {e}\n{context}");
    }

    let dims = field("vector")["dims"].as_u64().unwrap_or_else(|| panic!("vector.dims\n{context}"));
    assert!(dims > 0, "vector.dims > 0\n{context}");

    let urls = field("urls");
    let expected = [
        ("original", format!("/images/{id}")),
        ("thumbnail", format!("/images/{id}/thumbnail")),
        ("vector", format!("/api/images/{id}/vector")),
        ("similar", format!("/api/images/{id}/similar")),
    ];
    for (name, url) in expected {
        assert_eq!(urls[name].as_str(), Some(url.as_str()), "urls.{name}\n{context}");
    }
    id
}

/// An image's `placeholder` describes its thumbnail `thumb`: its BlurHash decodes to the
/// same picture as a BlurHash the test computes from the served thumbnail (mean
/// difference under 8 levels: the server hashed the pixels before JPEG encoding), and its
/// dominant colour is near more of the thumbnail's pixels than the mean colour is.
#[track_caller]
pub fn placeholder_of(placeholder: &Value, thumb: &image::RgbImage) {
    let hash = placeholder["blurhash"].as_str().unwrap_or_else(|| panic!("placeholder.blurhash: {placeholder}"));
    let (w, h) = thumb.dimensions();
    let (cx, cy) = if w >= h { (4, 3) } else { (3, 4) };
    let rgba: Vec<u8> = thumb.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let ours = blurhash::encode(cx, cy, w, h, &rgba).expect("the thumbnail hashes");
    let picture = |hash: &str| blurhash::decode(hash, 32, 24, 1.0).unwrap_or_else(|e| panic!("blurhash {hash:?} does not decode: {e:?}"));
    let (theirs_px, ours_px) = (picture(hash), picture(&ours));
    let diff = theirs_px.iter().zip(&ours_px).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / theirs_px.len() as f64;
    assert!(diff < 8.0, "blurhash {hash:?} pictures something else than the thumbnail ({ours:?}): {diff:.1} levels apart");

    let color = placeholder["color"].as_str().unwrap_or_else(|| panic!("placeholder.color: {placeholder}"));
    let rgb = color
        .strip_prefix('#')
        .filter(|hex| hex.len() == 6)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("placeholder.color {color:?} is not #rrggbb"));
    let dominant = [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8];
    // The colour most of the image is near: at least every pixel of the densest cell of a
    // 16x16x16 RGB grid (cells are 16 levels wide, "near" is 24), and a real share of the
    // picture. (Comparing with the mean colour is no such bound: on a busy photo the mean
    // can sit between two dense regions and be near more pixels than any one cell.)
    let mut cells = std::collections::HashMap::new();
    thumb.pixels().for_each(|p| *cells.entry([p[0] >> 4, p[1] >> 4, p[2] >> 4]).or_insert(0usize) += 1);
    let densest = cells.values().copied().max().unwrap_or(0);
    let near = |c: [u8; 3]| thumb.pixels().filter(|p| (0..3).all(|i| p[i].abs_diff(c[i]) <= 24)).count();
    assert!(
        near(dominant) >= densest && near(dominant) * 50 >= (w * h) as usize,
        "dominant colour {color} is near {} pixels, the densest 16-level cell holds {densest} of {}",
        near(dominant),
        w * h
    );
}

/// `actual` fits inside `size`×`size` with `original`'s aspect ratio (±1 px). An original
/// larger than the box touches it; a smaller one may keep its size (no upscaling) or be
/// scaled up to the box.
#[track_caller]
pub fn fits(actual: (u32, u32), original: (u32, u32), size: u32) {
    if let Err(e) = fitting(actual, original, size) {
        panic!("{e}");
    }
}

/// [`fits`], as a `Result`.
pub fn fitting(actual: (u32, u32), original: (u32, u32), size: u32) -> Result<(), String> {
    let (w, h) = actual;
    if w > size || h > size {
        return Err(format!("{w}x{h} does not fit in {size}x{size}"));
    }
    let fit = f64::from(size) / f64::from(original.0.max(original.1));
    let matches = |scale: f64| {
        let (ew, eh) = (f64::from(original.0) * scale, f64::from(original.1) * scale);
        (f64::from(w) - ew).abs() <= 1.0 && (f64::from(h) - eh).abs() <= 1.0
    };
    if matches(fit) || (fit > 1.0 && matches(1.0)) {
        return Ok(());
    }
    Err(format!(
        "{w}x{h} is not {}x{} fitted in {size}x{size} (expected about {:.1}x{:.1})",
        original.0,
        original.1,
        f64::from(original.0) * fit.min(1.0),
        f64::from(original.1) * fit.min(1.0),
    ))
}

/// An RFC 9457 problem with `status`: the status line, `application/problem+json`, and
/// `type`, `title`, `status`, `detail`. Returns the problem object.
#[track_caller]
pub fn problem(reply: &Reply, status: u16) -> Value {
    reply.expect_status(status);
    assert_eq!(
        reply.media_type().as_deref(),
        Some("application/problem+json"),
        "problem Content-Type\n{reply}"
    );
    let problem = reply.json();
    for name in ["type", "title", "detail"] {
        assert!(problem[name].is_string(), "problem.{name} is a string\n{reply}");
    }
    assert!(!problem["title"].as_str().unwrap_or("").is_empty(), "problem.title\n{reply}");
    assert_eq!(problem["status"].as_u64(), Some(u64::from(status)), "problem.status\n{reply}");
    problem
}

/// The server still answers after an error: `/healthz` is 200.
#[track_caller]
pub fn still_serving(client: &Client) {
    let reply = client.get("/healthz");
    assert_eq!(reply.status, 200, "the server stopped serving after an error\n{reply}");
}

/// The headers every stored blob is served with (`GET /images/{id}[/thumbnail]`).
#[track_caller]
pub fn immutable_blob(reply: &Reply, content_type: &str) {
    reply.expect_status(200);
    assert_eq!(reply.media_type().as_deref(), Some(content_type), "Content-Type\n{reply}");
    assert!(reply.header("etag").is_some(), "ETag\n{reply}");
    let cache: Vec<String> = reply
        .header("cache-control")
        .unwrap_or_else(|| panic!("Cache-Control\n{reply}"))
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let mut sorted = cache.clone();
    sorted.sort();
    let mut expected: Vec<String> = IMMUTABLE.iter().map(|d| d.to_string()).collect();
    expected.sort();
    assert_eq!(sorted, expected, "Cache-Control: public, max-age=31536000, immutable\n{reply}");
    assert_eq!(
        reply.header("x-content-type-options").map(str::to_ascii_lowercase).as_deref(),
        Some("nosniff"),
        "X-Content-Type-Options\n{reply}"
    );
}

/// A JSON body with `application/json`.
#[track_caller]
pub fn json(reply: &Reply, status: u16) -> Value {
    reply.expect_status(status);
    assert_eq!(reply.media_type().as_deref(), Some("application/json"), "Content-Type\n{reply}");
    reply.json()
}

/// When the server reports per-request peak memory (the test host does), it fits the
/// 128 MiB instance budget.
#[track_caller]
pub fn within_memory_budget(reply: &Reply) {
    if let Some(peak) = reply.peak_memory() {
        assert!(peak <= MEMORY_BUDGET, "peak memory {peak} B over {MEMORY_BUDGET} B\n{reply}");
    }
}

/// A JSON array of numbers as `f32`s.
#[track_caller]
pub fn vector(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("vector is an array: {value}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("vector holds numbers: {x}")) as f32)
        .collect()
}

/// L2 norm.
pub fn norm(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt()
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    dot / (norm(a) * norm(b)).max(f64::MIN_POSITIVE)
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_accepts_and_rejects() {
        assert!(is_rfc3339("2026-11-22T12:00:00Z"));
        assert!(is_rfc3339("2026-11-22T12:00:00.123456Z"));
        assert!(is_rfc3339("2026-11-22T12:00:00+01:00"));
        assert!(!is_rfc3339("2026-11-22 12:00:00"));
        assert!(!is_rfc3339("1764000000"));
        assert!(!is_rfc3339("2026-11-22T12:00:00."));
    }

    #[test]
    fn fits_accepts_rounding_either_way() {
        fits((128, 85), (1200, 800), 128);
        fits((128, 86), (1200, 800), 128);
        fits((96, 128), (480, 640), 128);
        fits((60, 40), (60, 40), 128);
        fits((128, 85), (60, 40), 128);
    }

    #[test]
    #[should_panic]
    fn fits_rejects_a_distorted_thumbnail() {
        fits((128, 128), (1200, 800), 128);
    }

    #[test]
    fn crafted_headers_claim_their_size() {
        let png = fixtures::png_claiming(20_000, 20_000);
        assert_eq!(fixtures::guess(&png), Some(image::ImageFormat::Png));
        let jpeg = fixtures::jpeg_claiming(60_000, 60_000);
        assert_eq!(fixtures::guess(&jpeg), Some(image::ImageFormat::Jpeg));
        let decoder = image::codecs::png::PngDecoder::new(std::io::Cursor::new(&png)).unwrap();
        assert_eq!(image::ImageDecoder::dimensions(&decoder), (20_000, 20_000));
        let decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&jpeg)).unwrap();
        assert_eq!(image::ImageDecoder::dimensions(&decoder), (60_000, 60_000));
    }
}

//! Test inputs, generated here and never downloaded: photos, encodings, multipart
//! bodies, and headers that claim more pixels than any limit allows.

use std::sync::OnceLock;

use image::{ImageFormat, RgbImage};
use sha2::{Digest, Sha256};

/// A per-run nonce mixed into every seed, so each run uploads bytes no server has seen
/// (a long-lived `spin up` keeps earlier runs' images, and a re-upload answers 200, not
/// 201). Set `E2E_SEED` to replay a run.
pub fn run_nonce() -> u64 {
    static NONCE: OnceLock<u64> = OnceLock::new();
    *NONCE.get_or_init(|| {
        let nonce = std::env::var("E2E_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(
            || {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                splitmix(nanos ^ (u64::from(std::process::id()) << 32))
            },
        );
        crate::target::notice(&format!("e2e: inputs seeded with E2E_SEED={nonce}"));
        nonce
    })
}

/// The seed for test input `n` in this run.
pub fn seed(n: u64) -> u64 {
    splitmix(run_nonce() ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A photo-like RGB image: smooth gradients, soft shapes and grain; distinct per seed.
pub fn photo(width: u32, height: u32, seed: u64) -> RgbImage {
    imaging::testkit::synthetic_photo(width, height, seed)
}

/// Gradients under strong per-pixel grain (±24 per channel): a JPEG of it stays large at
/// high quality (8660×5773 at quality 90 is about 40 MB), for uploads past request caps.
pub fn grainy(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut x = seed | 1;
    RgbImage::from_fn(width, height, |px, py| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let noise = |shift: u32| ((x >> shift) % 48) as i32 - 24;
        let base = [(px * 255 / width) as i32, (py * 255 / height) as i32, ((px + py) % 256) as i32];
        image::Rgb([0, 1, 2].map(|c| (base[c] + noise(8 * c as u32)).clamp(0, 255) as u8))
    })
}

/// JPEG bytes of `img` at `quality`.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    imaging::testkit::encode(img, imaging::Format::Jpeg, quality)
}

/// PNG bytes of `img`.
pub fn png(img: &RgbImage) -> Vec<u8> {
    imaging::testkit::encode(img, imaging::Format::Png, 100)
}

/// `img` resized to `width`×`height` (a "resized copy" for similarity tests).
pub fn resized(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    image::imageops::resize(img, width, height, image::imageops::FilterType::Triangle)
}

/// Decodes `bytes`, which must be `format`.
#[track_caller]
pub fn decode(bytes: &[u8], format: ImageFormat) -> image::DynamicImage {
    image::load_from_memory_with_format(bytes, format)
        .unwrap_or_else(|e| panic!("not a decodable {format:?} ({} bytes): {e}", bytes.len()))
}

/// The lowercase hex SHA-256 of `bytes`: an image's id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A `multipart/form-data` body: returns (Content-Type, body).
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = format!("darkroom-e2e-{:016x}", seed(u64::MAX));
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n",
                part.name, part.filename
            )
            .as_bytes(),
        );
        body.extend_from_slice(format!("Content-Type: {}\r\n\r\n", part.content_type).as_bytes());
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A real PNG whose IHDR is rewritten to claim `width`×`height` (CRC fixed up): the
/// header alone is over any pixel limit; decoding the data would fail.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(&photo(8, 8, seed(0xB16)));
    // signature (8) | length (4) | "IHDR" (4) | width (4) | height (4) | ... | crc
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A real JPEG whose SOF marker is rewritten to claim `width`×`height`.
pub fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&photo(16, 16, seed(0xB17)), 80);
    let mut i = 2;
    while i + 9 < bytes.len() {
        assert_eq!(bytes[i], 0xFF, "JPEG marker expected at {i}");
        let marker = bytes[i + 1];
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            // FF Cn | length (2) | precision (1) | height (2) | width (2)
            bytes[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            bytes[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            return bytes;
        }
        i += 2 + len;
    }
    panic!("no SOF marker in the encoded JPEG");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Format of `bytes` as the `image` crate guesses it from magic bytes.
pub fn guess(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes).ok()
}

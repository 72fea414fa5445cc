//! Test helpers shared by this crate's tests, `vectors`' tests and the e2e suite
//! (enable with `features = ["testkit"]`). Not for production use: failures panic.
//!
//! [`synthetic_photo`] draws a deterministic photo-like picture: a sky/ground gradient
//! with a wavy horizon, several soft-edged coloured shapes with shading, and mild noise.
//! Geometry is relative to the size, so a photo at 640x480 and at 320x240 shows the same
//! scene; distinct seeds give clearly distinct scenes.

use image::{DynamicImage, Rgb, RgbImage};

use crate::Format;

/// A small deterministic PRNG (SplitMix64), so tests need no extra crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    fn colour(&mut self) -> [f32; 3] {
        [
            self.range(0.0, 255.0),
            self.range(0.0, 255.0),
            self.range(0.0, 255.0),
        ]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

enum Shape {
    Ellipse {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
    },
    Rect {
        cx: f32,
        cy: f32,
        hw: f32,
        hh: f32,
        cos: f32,
        sin: f32,
    },
}

struct Object {
    shape: Shape,
    colour: [f32; 3],
    /// Brightness change across the object (fake lighting), -0.4..0.4.
    shade: f32,
}

impl Object {
    /// Signed "inside-ness": > 0 inside, in units of the shape's size; also a shading coordinate.
    fn coverage(&self, u: f32, v: f32, edge: f32) -> (f32, f32) {
        let (d, t) = match self.shape {
            Shape::Ellipse { cx, cy, rx, ry } => {
                let (dx, dy) = ((u - cx) / rx, (v - cy) / ry);
                let r = (dx * dx + dy * dy).sqrt();
                ((1.0 - r) * rx.min(ry), dy)
            }
            Shape::Rect {
                cx,
                cy,
                hw,
                hh,
                cos,
                sin,
            } => {
                let (x, y) = (u - cx, v - cy);
                let (rx, ry) = (x * cos + y * sin, -x * sin + y * cos);
                ((hw - rx.abs()).min(hh - ry.abs()), ry / hh)
            }
        };
        ((d / edge).clamp(-0.5, 0.5) + 0.5, t)
    }
}

/// A deterministic photo-like RGB image. Distinct seeds give clearly distinct images.
pub fn synthetic_photo(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let sky_top = rng.colour();
    let sky_bottom = rng.colour();
    let ground_near = rng.colour();
    let ground_far = rng.colour();
    let horizon = rng.range(0.35, 0.7);
    let (wave_a, wave_f, wave_p) = (
        rng.range(0.02, 0.12),
        rng.range(0.5, 3.0),
        rng.range(0.0, std::f32::consts::TAU),
    );
    let aspect = width as f32 / height.max(1) as f32;

    let count = 4 + (rng.next_u64() % 5) as usize;
    let objects: Vec<Object> = (0..count)
        .map(|_| {
            let (cx, cy) = (rng.range(0.05, 0.95), rng.range(0.05, 0.95));
            let shape = if rng.unit() < 0.5 {
                let r = rng.range(0.05, 0.25);
                Shape::Ellipse {
                    cx,
                    cy,
                    rx: r / aspect.sqrt(),
                    ry: r * aspect.sqrt() * rng.range(0.6, 1.4),
                }
            } else {
                let angle = rng.range(0.0, std::f32::consts::PI);
                Shape::Rect {
                    cx,
                    cy,
                    hw: rng.range(0.04, 0.25),
                    hh: rng.range(0.04, 0.25),
                    cos: angle.cos(),
                    sin: angle.sin(),
                }
            };
            Object {
                shape,
                colour: rng.colour(),
                shade: rng.range(-0.4, 0.4),
            }
        })
        .collect();

    let noise_seed = rng.next_u64();
    // Soft edges of about 1.5 px, so the picture anti-aliases like a real photo.
    let edge = 1.5 / width.min(height).max(1) as f32;
    RgbImage::from_fn(width, height, |x, y| {
        let u = (x as f32 + 0.5) / width as f32;
        let v = (y as f32 + 0.5) / height as f32;
        let line = horizon + wave_a * (wave_f * std::f32::consts::TAU * u + wave_p).sin();
        let mut c = if v < line {
            lerp3(sky_top, sky_bottom, v / line)
        } else {
            lerp3(ground_far, ground_near, (v - line) / (1.0 - line).max(1e-3))
        };
        // A little horizontal light falloff.
        let vignette = 1.0 - 0.25 * (u - 0.5) * (u - 0.5) * 4.0;
        c = c.map(|k| k * vignette);
        for o in &objects {
            let (alpha, t) = o.coverage(u, v, edge);
            if alpha > 0.0 {
                let lit = o.colour.map(|k| k * (1.0 + o.shade * t));
                c = lerp3(c, lit, alpha);
            }
        }
        let n = mix(noise_seed ^ (u64::from(y) << 32 | u64::from(x)));
        let noise = ((n & 0xFF) as f32 / 255.0 - 0.5) * 12.0; // +-6 levels, mild
        Rgb(c.map(|k| (k + noise).round().clamp(0.0, 255.0) as u8))
    })
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Encodes `img` as `format` (`quality` used by JPEG). Panics on failure (test helper).
pub fn encode(img: &RgbImage, format: Format, quality: u8) -> Vec<u8> {
    crate::encode(&DynamicImage::ImageRgb8(img.clone()), format, quality)
        .unwrap_or_else(|e| panic!("testkit: encoding {format} failed: {e}"))
}

/// The JPEG `bytes` decoded at 1/`d` scale (`d` = 2, 4 or 8) by darkroom's own scaled
/// decoders alone (baseline and progressive), with the default allocation limit and
/// without the `jpeg-decoder` fallback that `decode_at_least` has: `None` where they do
/// not apply.
pub fn decode_jpeg_own(bytes: &[u8], d: u32) -> Option<DynamicImage> {
    crate::shrink::decode_own(bytes, d, crate::Limits::DEFAULT_MAX_ALLOC)
}

/// Inserts an APP1 EXIF segment carrying `orientation` right after the SOI of `jpeg`.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "testkit: not a JPEG");
    // TIFF header (little endian), IFD0 at offset 8 with one entry: 0x0112 SHORT 1 = value.
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&u16::from(orientation).to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let len = u16::try_from(payload.len() + 2).expect("small segment");
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Mean absolute difference per channel between two images of the same size (0..=255).
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "testkit: sizes differ");
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len().max(1) as f64
}

/// Mean SSIM over R, G and B (Wang et al. 2004, 7x7 uniform windows as scikit-image's
/// default, C1 = (0.01 L)², C2 = (0.03 L)², L = 255).
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "testkit: SSIM needs equal sizes");
    let (w, h) = (a.width() as usize, a.height() as usize);
    const R: usize = 3;
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for c in 0..3 {
        let ch = |img: &RgbImage| -> Vec<f64> { img.pixels().map(|p| f64::from(p.0[c])).collect() };
        let (x, y) = (ch(a), ch(b));
        for cy in R..h.saturating_sub(R) {
            for cx in R..w.saturating_sub(R) {
                let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for yy in cy - R..=cy + R {
                    for xx in cx - R..=cx + R {
                        let (p, q) = (x[yy * w + xx], y[yy * w + xx]);
                        sx += p;
                        sy += q;
                        sxx += p * p;
                        syy += q * q;
                        sxy += p * q;
                    }
                }
                let n = ((2 * R + 1) * (2 * R + 1)) as f64;
                let (mx, my) = (sx / n, sy / n);
                // Sample covariance, as scikit-image computes it.
                let k = n / (n - 1.0);
                let vx = (sxx / n - mx * mx) * k;
                let vy = (syy / n - my * my) * k;
                let cxy = (sxy / n - mx * my) * k;
                total += ((2.0 * mx * my + c1) * (2.0 * cxy + c2))
                    / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count += 1;
            }
        }
    }
    total / count as f64
}

/// [`crate::thumbnail`] with every resampling step in scalar code: the reference the
/// SIMD builds (native and wasm `simd128`) are compared with.
pub fn scalar_thumbnail(
    bytes: &[u8],
    spec: &crate::ThumbnailSpec,
    limits: &crate::Limits,
) -> Result<crate::Thumbnail, crate::Error> {
    crate::thumbnail::thumbnail_on(
        bytes,
        spec,
        limits,
        crate::resize::Cpu::Scalar,
        &mut crate::Stages::start(),
    )
}

/// Inputs that take every thumbnail path: JPEGs shrunk on load at 1/4 and 1/8 and not
/// at all, RGB and greyscale PNGs, and a PNG with transparent areas (premultiplied
/// resize, flattening). Named for failure messages.
pub fn thumbnail_cases(seed: u64) -> Vec<(String, Vec<u8>)> {
    let photo = |w, h, n| synthetic_photo(w, h, seed.wrapping_add(n));
    let mut rgba = DynamicImage::ImageRgb8(photo(500, 300, 5)).to_rgba8();
    for (x, y, p) in rgba.enumerate_pixels_mut() {
        if (x / 50 + y / 50) % 3 == 0 {
            p[3] = 0;
        } else if x % 7 == 0 {
            p[3] = 128;
        }
    }
    let grey = DynamicImage::ImageRgb8(photo(301, 199, 6)).into_luma8();
    let encode_dynamic =
        |img: DynamicImage| crate::encode(&img, Format::Png, 0).expect("testkit: PNG encoding");
    vec![
        (
            "1600x1200 JPEG".into(),
            encode(&photo(1600, 1200, 1), Format::Jpeg, 90),
        ),
        (
            "3000x2000 JPEG".into(),
            encode(&photo(3000, 2000, 2), Format::Jpeg, 85),
        ),
        (
            "333x517 JPEG".into(),
            encode(&photo(333, 517, 3), Format::Jpeg, 75),
        ),
        (
            "640x480 PNG".into(),
            encode(&photo(640, 480, 4), Format::Png, 0),
        ),
        (
            "500x300 RGBA PNG".into(),
            encode_dynamic(DynamicImage::ImageRgba8(rgba)),
        ),
        (
            "301x199 grey PNG".into(),
            encode_dynamic(DynamicImage::ImageLuma8(grey)),
        ),
    ]
}

/// Mean and largest absolute difference per sample between two encoded images of the
/// same size, decoded to RGB.
pub fn encoded_diff(a: &[u8], b: &[u8]) -> (f64, u8) {
    let decode = |bytes: &[u8]| {
        image::load_from_memory(bytes)
            .unwrap_or_else(|e| panic!("testkit: cannot decode: {e}"))
            .to_rgb8()
    };
    let (a, b) = (decode(a), decode(b));
    let max = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0);
    (mean_abs_diff(&a, &b), max)
}

//! WebP output: lossy through libwebp at `q` (the default), lossless with `lossless=1`.
//! Every output is decoded with `image` (image-webp's decoder, independent of libwebp)
//! and compared with the source by SSIM.

mod common;

use common::{photo, ssim};
use image::{DynamicImage, GenericImageView, Rgba, RgbaImage};
use imaging::{Format, testkit};
use render::{Limits, OutputFormat, Presets, RenderOptions};

fn opts(q: &str) -> RenderOptions {
    RenderOptions::parse(q, &Presets::builtin()).unwrap()
}

fn webp(src: &[u8], query: &str) -> (Vec<u8>, DynamicImage) {
    let out = render::render(src, &opts(query), OutputFormat::Webp, &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Webp);
    assert_eq!(
        imaging::sniff(&out.bytes).map(|f| f.mime()),
        Some("image/webp")
    );
    let decoded = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!(decoded.dimensions(), (out.width, out.height), "{query}");
    (out.bytes, decoded)
}

/// True for a lossy (VP8) WebP, false for a lossless (VP8L) one: the first chunk after
/// the RIFF header (`VP8X` is followed by `ALPH` and then `VP8 `).
fn is_lossy(webp: &[u8]) -> bool {
    webp.windows(4).any(|w| w == b"VP8 ") && !webp.windows(4).any(|w| w == b"VP8L")
}

#[test]
fn lossy_webp_of_a_photo_is_close_to_the_source_and_much_smaller_than_lossless() {
    // The astronaut photo (320x240), full size: no resize, so the SSIM is the encoder's.
    let src = photo().to_rgb8();
    let png = testkit::encode(&src, Format::Png, 0);
    let (lossless, lossless_px) = webp(&png, "lossless=1");
    assert!(!is_lossy(&lossless));
    assert_eq!(lossless_px.to_rgb8(), src, "lossless=1 keeps every pixel");
    // Thresholds, with what libwebp 1.6 (libwebp-sys 0.14.4, method 4) measures on this
    // photo: q80 (the default) SSIM 0.961 at 0.10 of the lossless bytes; q95 0.980 at 0.21.
    for (query, least, most_of_lossless) in
        [("", 0.95, 0.15), ("q=80", 0.95, 0.15), ("q=95", 0.975, 0.3)]
    {
        let (bytes, px) = webp(&png, query);
        assert!(is_lossy(&bytes), "{query:?} is lossy");
        assert_eq!(px.dimensions(), (320, 240));
        let s = ssim(&px.to_rgb8(), &src);
        let ratio = bytes.len() as f64 / lossless.len() as f64;
        println!(
            "webp {query:?}: {} bytes ({ratio:.3} of lossless {}), SSIM {s:.4}",
            bytes.len(),
            lossless.len()
        );
        assert!(s > least, "{query:?}: SSIM {s} <= {least}");
        assert!(ratio < most_of_lossless, "{query:?}: {ratio} of lossless");
    }
    // Higher quality: more bytes, closer to the source.
    let (q50, p50) = webp(&png, "q=50");
    let (q95, p95) = webp(&png, "q=95");
    assert!(q50.len() < q95.len());
    assert!(ssim(&p50.to_rgb8(), &src) < ssim(&p95.to_rgb8(), &src));
}

#[test]
fn lossy_webp_resizes_to_the_planned_size() {
    let src = testkit::synthetic_photo(1200, 900, 3);
    let jpeg = testkit::encode(&src, Format::Jpeg, 95);
    for (query, size) in [
        ("w=300&h=300", (300, 300)),
        ("w=500", (500, 375)),
        ("w=257&h=111&fit=fill", (257, 111)),
        ("w=101&h=77&fit=contain&bg=00ff00", (101, 77)),
    ] {
        let (_, px) = webp(&jpeg, query);
        assert_eq!(px.dimensions(), size, "{query}");
    }
}

#[test]
fn lossy_webp_keeps_alpha() {
    // An opaque-to-transparent ramp over a photo, and a fully transparent corner.
    let (w, h) = (256u32, 192u32);
    let rgb = testkit::synthetic_photo(w, h, 11);
    let src = RgbaImage::from_fn(w, h, |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        let a = if x < 32 && y < 32 {
            0
        } else {
            (x * 255 / (w - 1)) as u8
        };
        Rgba([r, g, b, a])
    });
    let png = imaging::encode(&DynamicImage::ImageRgba8(src.clone()), Format::Png, 0).unwrap();
    let (bytes, px) = webp(&png, "q=80");
    assert!(is_lossy(&bytes));
    assert!(bytes.windows(4).any(|w| w == b"ALPH"), "an alpha chunk");
    let got = px.to_rgba8();
    // Alpha is coded losslessly (alpha_quality 100, as sharp).
    let worst = got
        .pixels()
        .zip(src.pixels())
        .map(|(a, b)| a.0[3].abs_diff(b.0[3]))
        .max()
        .unwrap();
    assert_eq!(worst, 0, "alpha differs by up to {worst}");
    // The colour where it is visible is still the photo's.
    let opaque = |img: &RgbaImage| {
        image::RgbImage::from_fn(64, 64, |x, y| {
            let [r, g, b, _] = img.get_pixel(w - 64 + x, h - 64 + y).0;
            image::Rgb([r, g, b])
        })
    };
    let s = ssim(&opaque(&got), &opaque(&src));
    assert!(s > 0.85, "colour under alpha: SSIM {s}");

    // An opaque RGBA source gets no alpha chunk.
    let opaque_src = DynamicImage::ImageRgba8(RgbaImage::from_fn(64, 64, |x, y| {
        Rgba([x as u8 * 4, y as u8 * 4, 90, 255])
    }));
    let (bytes, _) = webp(&imaging::encode(&opaque_src, Format::Png, 0).unwrap(), "");
    assert!(!bytes.windows(4).any(|w| w == b"ALPH"));
}

#[test]
fn lossless_is_in_the_cache_key_and_refused_for_jpeg_and_avif() {
    let lossy = opts("w=300&format=webp");
    let lossless = opts("w=300&format=webp&lossless=1");
    assert!(lossless.lossless && !lossy.lossless);
    assert_ne!(lossy.canonical(), lossless.canonical());
    assert_eq!(
        opts("w=300&format=webp&lossless=0").canonical(),
        lossy.canonical()
    );
    assert!(lossless.canonical().contains("lossless=1"));
    // With `auto` it applies when WebP is negotiated; PNG is lossless anyway.
    assert!(opts("lossless=1").lossless);
    assert!(opts("lossless=true&format=png").lossless);
    for query in ["format=jpeg&lossless=1", "format=avif&lossless=1"] {
        let err = RenderOptions::parse(query, &Presets::builtin()).unwrap_err();
        assert_eq!(
            (err.param(), err.status()),
            (Some("lossless"), 400),
            "{query}"
        );
    }
    let err = RenderOptions::parse("lossless=2", &Presets::builtin()).unwrap_err();
    assert_eq!((err.param(), err.status()), (Some("lossless"), 400));
}

#[test]
fn webp_effort_trades_time_for_bytes_and_is_validated() {
    let src = photo().to_rgb8();
    let png = testkit::encode(&src, Format::Png, 0);
    let mut sizes = Vec::new();
    for effort in [0u8, 4, 6] {
        let limits = Limits {
            webp_effort: effort,
            ..Limits::default()
        };
        let out = render::render(&png, &opts("q=80"), OutputFormat::Webp, &limits).unwrap();
        let px = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
        let s = ssim(&px, &src);
        println!(
            "webp effort {effort}: {} bytes, SSIM {s:.4}",
            out.bytes.len()
        );
        assert!(s > 0.92, "effort {effort}: SSIM {s}");
        sizes.push(out.bytes.len());
    }
    assert!(
        sizes[2] < sizes[0],
        "effort 6 is smaller than effort 0: {sizes:?}"
    );
    let bad = Limits {
        webp_effort: 7,
        ..Limits::default()
    };
    let err = render::render(&png, &opts(""), OutputFormat::Webp, &bad).unwrap_err();
    assert_eq!(err.param(), Some("webp_effort"));
}

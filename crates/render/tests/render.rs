//! `render()` end to end on encoded images: sizes, formats that decode, crop, letterbox,
//! smart gravity, orientation, alpha, and limits refused before decoding.

mod common;

use common::ssim;
use image::{DynamicImage, GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};
use imaging::{Format, testkit};
use render::{Error, Limits, OutputFormat, Presets, RenderOptions};

fn opts(q: &str) -> RenderOptions {
    RenderOptions::parse(q, &Presets::builtin()).unwrap()
}

fn photo_jpeg(w: u32, h: u32) -> (RgbImage, Vec<u8>) {
    let img = testkit::synthetic_photo(w, h, 7);
    let jpeg = testkit::encode(&img, Format::Jpeg, 95);
    (img, jpeg)
}

/// The reference: full decode, crop, Lanczos3 resize with `imaging`, window at `x, y`.
fn reference(src: &RgbImage, resize: (u32, u32), window: (u32, u32, u32, u32)) -> RgbImage {
    let big = imaging::resize(&DynamicImage::ImageRgb8(src.clone()), resize.0, resize.1).unwrap();
    big.crop_imm(window.0, window.1, window.2, window.3)
        .to_rgb8()
}

#[test]
fn every_format_decodes_at_the_planned_size_and_looks_like_the_reference() {
    let (src, jpeg) = photo_jpeg(1200, 900);
    let want = reference(&src, (400, 300), (50, 0, 300, 300));
    // JPEG and WebP q80 4:2:0 on the (noisy) synthetic photo lose some SSIM; PNG differs
    // from the reference only by the shrink-on-load decode.
    for (format, least) in [
        (OutputFormat::Jpeg, 0.90),
        (OutputFormat::Png, 0.99),
        (OutputFormat::Webp, 0.90),
    ] {
        let out = render::render(&jpeg, &opts("w=300&h=300"), format, &Limits::default()).unwrap();
        assert_eq!((out.width, out.height, out.format), (300, 300, format));
        let decoded = image::load_from_memory(&out.bytes).unwrap();
        if format == OutputFormat::Jpeg {
            // Progressive output (jpeg-encoder's; baseline is imaging's own writer) is as
            // close to the reference as baseline output.
            let o = RenderOptions {
                progressive: true,
                ..opts("w=300&h=300")
            };
            let p = render::render(&jpeg, &o, format, &Limits::default()).unwrap();
            let pd = image::load_from_memory(&p.bytes).unwrap().to_rgb8();
            let (progressive, baseline) = (ssim(&pd, &want), ssim(&decoded.to_rgb8(), &want));
            assert!(
                (progressive - baseline).abs() < 0.01,
                "progressive {progressive:.4}, baseline {baseline:.4}"
            );
        }
        assert_eq!(
            imaging::sniff(&out.bytes).map(|f| f.mime()),
            Some(format.mime())
        );
        assert_eq!(decoded.dimensions(), (300, 300));
        let s = ssim(&decoded.to_rgb8(), &want);
        println!(
            "{}: {} bytes, SSIM to the full-decode reference {s:.4}",
            format.name(),
            out.bytes.len()
        );
        assert!(s > least, "{}: SSIM {s}", format.name());
    }
}

#[test]
fn gravity_moves_the_cover_window() {
    let (src, jpeg) = photo_jpeg(1200, 600);
    for (g, x) in [("west", 0), ("center", 100), ("east", 200)] {
        let out = render::render(
            &jpeg,
            &opts(&format!("w=200&h=200&gravity={g}")),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap();
        let got = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
        let want = reference(&src, (400, 200), (x, 0, 200, 200));
        let s = ssim(&got, &want);
        assert!(s > 0.97, "{g}: SSIM {s}");
    }
}

#[test]
fn crop_is_applied_first_in_oriented_pixels() {
    let (src, jpeg) = photo_jpeg(1200, 900);
    let out = render::render(
        &jpeg,
        &opts("crop=600,300,400,400&w=200"),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (200, 200));
    let got = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    let region = DynamicImage::ImageRgb8(src).crop_imm(600, 300, 400, 400);
    let want = imaging::resize(&region, 200, 200).unwrap().to_rgb8();
    let s = ssim(&got, &want);
    assert!(s > 0.95, "SSIM {s}");
    // A crop leaving the image is a 422 naming `crop`.
    let err = render::render(
        &jpeg,
        &opts("crop=1000,0,400,400"),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!((err.param(), err.status()), (Some("crop"), 422));
}

#[test]
fn contain_letterboxes_with_bg() {
    let (_, jpeg) = photo_jpeg(800, 400);
    let out = render::render(
        &jpeg,
        &opts("w=200&h=200&fit=contain&bg=ff0000"),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let img = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (200, 200));
    // 200x100 picture centred: bars of 50 px above and below.
    for (x, y) in [(0, 0), (199, 49), (100, 20), (0, 150), (199, 199)] {
        assert_eq!(img.get_pixel(x, y), &Rgb([255, 0, 0]), "({x},{y})");
    }
    assert_ne!(img.get_pixel(100, 100), &Rgb([255, 0, 0]));
}

#[test]
fn smart_gravity_keeps_a_small_subject_on_a_plain_background() {
    // A plain grey backdrop with a small textured subject near the right edge.
    let mut img = RgbImage::from_pixel(1200, 600, Rgb([200, 200, 196]));
    let mut rng = testkit::Rng::new(3);
    for y in 250..350 {
        for x in 1020..1120 {
            let v = (rng.next_u64() % 120) as u8;
            img.put_pixel(x, y, Rgb([150 + v / 2, 40 + v, 30]));
        }
    }
    let png = testkit::encode(&img, Format::Png, 0);
    let subject_pixels = |q: &str| {
        let out = render::render(&png, &opts(q), OutputFormat::Png, &Limits::default()).unwrap();
        let got = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
        assert_eq!(got.dimensions(), (200, 200));
        got.pixels().filter(|p| p.0[2] < 120).count()
    };
    // Subject at x 340..373 of the 400x200 resize: the centre window (100..300) misses it.
    assert_eq!(subject_pixels("w=200&h=200"), 0);
    let smart = subject_pixels("w=200&h=200&gravity=smart");
    assert!(
        smart >= 30 * 30,
        "smart window holds {smart} subject pixels"
    );
    // A flat image crops like the centre.
    let flat = testkit::encode(
        &RgbImage::from_pixel(400, 200, Rgb([9, 9, 9])),
        Format::Png,
        0,
    );
    let o = opts("w=100&h=100&gravity=smart");
    assert!(render::render(&flat, &o, OutputFormat::Png, &Limits::default()).is_ok());
}

#[test]
fn exif_orientation_is_applied_before_planning() {
    let (_, jpeg) = photo_jpeg(600, 300);
    let rotated = testkit::with_exif_orientation(&jpeg, 6);
    let out = render::render(
        &rotated,
        &opts("w=150"),
        OutputFormat::Jpeg,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (150, 300));
    let img = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!(img.dimensions(), (150, 300));
}

#[test]
fn alpha_is_kept_in_png_and_flattened_on_bg_in_jpeg() {
    let img = RgbaImage::from_fn(100, 100, |x, _| {
        if x < 50 {
            Rgba([0, 0, 255, 0])
        } else {
            Rgba([0, 0, 255, 255])
        }
    });
    let png = imaging::encode(&DynamicImage::ImageRgba8(img), Format::Png, 0).unwrap();
    let o = opts("bg=00ff00");
    assert_eq!(o.output_format(None, true), OutputFormat::Png);
    let out = render::render(&png, &o, OutputFormat::Png, &Limits::default()).unwrap();
    let back = image::load_from_memory(&out.bytes).unwrap().to_rgba8();
    assert_eq!(back.get_pixel(10, 10).0[3], 0);
    let out = render::render(&png, &o, OutputFormat::Jpeg, &Limits::default()).unwrap();
    let back = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    let p = back.get_pixel(10, 50).0;
    assert!(p[1] > 230 && p[0] < 30 && p[2] < 30, "{p:?}");
}

#[test]
fn filters_run_on_the_resized_image() {
    let (_, jpeg) = photo_jpeg(800, 600);
    let out = render::render(
        &jpeg,
        &opts("w=200&filter=grayscale"),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let img = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (200, 150));
    assert!(
        img.pixels()
            .all(|p| p.0[0].abs_diff(p.0[1]) <= 1 && p.0[1].abs_diff(p.0[2]) <= 1)
    );
}

/// A PNG of `w` x `h` with a header and no pixel data (an empty zlib stream).
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c]); // a zlib header, no data
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn outputs_over_the_limit_are_refused_before_decoding() {
    // Headers only: decoding fails as corrupt, so a 413 proves the plan refused first.
    let png = png_header_only(4000, 3000);
    let limits = Limits {
        max_render_pixels: 1_000_000,
        ..Limits::default()
    };
    let err = render::render(&png, &opts("w=2000"), OutputFormat::Png, &limits).unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    assert_eq!(err.status(), 413);
    // Within the limit the same bytes reach the decoder, which finds no pixels.
    let err = render::render(&png, &opts("w=500"), OutputFormat::Png, &limits).unwrap_err();
    assert!(matches!(err, Error::Image(_)), "{err:?}");
    // An AVIF over its own budget is refused the same way.
    let err = render::render(
        &png,
        &opts("w=2000"),
        OutputFormat::Avif,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.status(), 413, "{err:?}");
    // enlarge=1 past the limit too.
    let (_, jpeg) = photo_jpeg(1000, 1000);
    let err = render::render(
        &jpeg,
        &opts("w=4100&enlarge=1"),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.status(), 413, "{err:?}");
}

#[test]
fn bad_input_bytes_are_client_errors() {
    for bytes in [&b""[..], b"not an image", &[0xFF, 0xD8, 0xFF]] {
        let err = render::render(bytes, &opts("w=10"), OutputFormat::Jpeg, &Limits::default())
            .unwrap_err();
        assert!(err.is_client_error(), "{err:?}");
    }
}

/// The `ispe` (image spatial extent) box of an AVIF: the size its container declares.
fn avif_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let at = bytes.windows(4).position(|w| w == b"ispe")?;
    let field = |o: usize| {
        bytes
            .get(at + o..at + o + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some((field(8)?, field(12)?))
}

#[test]
fn avif_is_an_avif_of_the_planned_size_within_its_budget() {
    let (_, jpeg) = photo_jpeg(800, 600);
    let out = render::render(
        &jpeg,
        &opts("w=160&h=120"),
        OutputFormat::Avif,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        (out.width, out.height, out.format),
        (160, 120, OutputFormat::Avif)
    );
    assert_eq!(&out.bytes[4..12], b"ftypavif");
    assert_eq!(avif_size(&out.bytes), Some((160, 120)));
    // Over the AVIF budget: `format=avif` is a 413, `auto` falls back to WebP.
    let limits = Limits {
        avif_max_pixels: 10_000,
        ..Limits::default()
    };
    let err = render::render(
        &jpeg,
        &opts("w=160&h=120&format=avif"),
        OutputFormat::Avif,
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.status(), 413);
    let auto = opts("w=160&h=120");
    let chrome = Some("image/avif,image/webp,*/*");
    assert_eq!(
        auto.output_format_within(chrome, false, 160 * 120, &limits),
        OutputFormat::Webp
    );
    assert_eq!(
        auto.output_format_within(chrome, false, 90 * 90, &limits),
        OutputFormat::Avif
    );
    let explicit = opts("w=160&h=120&format=avif");
    assert_eq!(
        explicit.output_format_within(chrome, false, 160 * 120, &limits),
        OutputFormat::Avif
    );
}

/// Random queries rendered on a small image (with alpha, and with EXIF rotation): never a
/// panic; every error is a 4xx naming a parameter or a 413; every success has the
/// planned size.
#[test]
fn random_renders_never_panic() {
    let rgba = RgbaImage::from_fn(37, 23, |x, y| {
        Rgba([x as u8 * 6, y as u8 * 11, 90, (x * 7) as u8])
    });
    let png = imaging::encode(&DynamicImage::ImageRgba8(rgba), Format::Png, 0).unwrap();
    let (_, jpeg) = photo_jpeg(64, 48);
    let rotated = testkit::with_exif_orientation(&jpeg, 6);
    let values: &[(&str, &[&str])] = &[
        ("w", &["1", "2", "17", "64", "300"]),
        ("h", &["1", "3", "48", "200"]),
        ("fit", &["cover", "contain", "fill", "inside", "outside"]),
        ("gravity", &["center", "smart", "southwest", "east"]),
        (
            "crop",
            &["0,0,1,1", "5,5,10,10", "0,0,37,23", "30,20,30,30"],
        ),
        (
            "filter",
            &[
                "grayscale",
                "blur:50",
                "pixelate:256",
                "sharpen:10,hue:-360",
                "gamma:0.1,invert:0.5",
            ],
        ),
        ("preset", &["juno", "moon", "lark", "1977"]),
        ("dpr", &["1", "2.5", "4"]),
        ("enlarge", &["0", "1"]),
        ("bg", &["000000", "12ab34"]),
    ];
    let limits = Limits {
        max_render_pixels: 200_000,
        ..Limits::default()
    };
    let mut rng = testkit::Rng::new(99);
    let mut ok = 0;
    for i in 0..300 {
        let mut q = Vec::new();
        for (k, vs) in values {
            if rng.next_u64().is_multiple_of(3) {
                q.push(format!(
                    "{k}={}",
                    vs[(rng.next_u64() % vs.len() as u64) as usize]
                ));
            }
        }
        let q = q.join("&");
        let Ok(o) = RenderOptions::parse(&q, &Presets::builtin()) else {
            continue;
        };
        let bytes = [&png, &jpeg, &rotated][i % 3];
        let format = [OutputFormat::Png, OutputFormat::Jpeg, OutputFormat::Webp][(i / 3) % 3];
        match render::render(bytes, &o, format, &limits) {
            Ok(out) => {
                let img = image::load_from_memory(&out.bytes).unwrap();
                assert_eq!(img.dimensions(), (out.width, out.height), "{q}");
                ok += 1;
            }
            Err(e) => assert!(
                e.status() == 413 || (e.param().is_some() && e.status() < 500),
                "{q}: {e:?}"
            ),
        }
    }
    assert!(ok > 100, "only {ok} renders succeeded");
}

#[test]
fn render_image_matches_render_on_the_same_pixels() {
    let (src, png_bytes) = {
        let img = testkit::synthetic_photo(400, 300, 8);
        let png = testkit::encode(&img, Format::Png, 0);
        (img, png)
    };
    let o = opts("w=200&h=100&fit=cover&gravity=south&filter=sepia:0.5");
    let a = render::render(&png_bytes, &o, OutputFormat::Png, &Limits::default()).unwrap();
    let b = render::render_image(
        DynamicImage::ImageRgb8(src),
        &o,
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((a.width, a.height), (b.width, b.height));
    let (da, db) = (
        image::load_from_memory(&a.bytes).unwrap().to_rgb8(),
        image::load_from_memory(&b.bytes).unwrap().to_rgb8(),
    );
    assert!(ssim(&da, &db) > 0.999);
    let limits = Limits {
        max_render_pixels: 10_000,
        ..Limits::default()
    };
    let err = render::render_image(
        DynamicImage::ImageRgb8(RgbImage::new(400, 300)),
        &opts("w=400"),
        OutputFormat::Png,
        &limits,
    )
    .unwrap_err();
    assert_eq!(err.status(), 413);
}

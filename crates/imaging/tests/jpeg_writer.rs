//! Our baseline JPEG writer (`jpeg_writer`, behind `imaging::jpeg_pixels`), checked by
//! decoding what it writes: with `image`'s decoder (zune-jpeg) and our own scaled one,
//! against the source pixels and against `jpeg-encoder`, which it replaced for baseline
//! output.

use image::{DynamicImage, GrayImage, RgbImage};
use imaging::testkit::{Rng, mean_abs_diff, ssim, synthetic_photo};
use jpeg_encoder::{ColorType, SamplingFactor};

const LAYOUTS: [(ColorType, SamplingFactor, &str); 3] = [
    (ColorType::Luma, SamplingFactor::F_1_1, "grey"),
    (ColorType::Rgb, SamplingFactor::F_1_1, "4:4:4"),
    (ColorType::Rgb, SamplingFactor::F_2_2, "4:2:0"),
];

/// The source as the layout encodes it: the photo, or its luma for greyscale.
fn source(img: &RgbImage, color: ColorType) -> Vec<u8> {
    match color {
        ColorType::Luma => DynamicImage::ImageRgb8(img.clone()).to_luma8().into_raw(),
        _ => img.as_raw().clone(),
    }
}

/// Decoded by `image` (zune-jpeg) as RGB, greyscale widened.
fn decoded(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("our JPEG decodes")
        .to_rgb8()
}

/// The source widened to RGB as `decoded` widens greyscale.
fn as_rgb(px: &[u8], w: u32, h: u32, color: ColorType) -> RgbImage {
    match color {
        ColorType::Luma => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, px.to_vec()).unwrap()).to_rgb8()
        }
        _ => RgbImage::from_raw(w, h, px.to_vec()).unwrap(),
    }
}

fn theirs(px: &[u8], w: u32, h: u32, color: ColorType, sampling: SamplingFactor, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, q);
    e.set_sampling_factor(sampling);
    e.encode(px, w as u16, h as u16, color).unwrap();
    out
}

#[test]
fn every_layout_and_size_decodes_to_the_source() {
    let sizes = [
        (1, 1),
        (7, 5),
        (8, 8),
        (9, 17),
        (16, 16),
        (17, 15),
        (33, 31),
        (250, 170),
    ];
    for (n, &(w, h)) in sizes.iter().enumerate() {
        let photo = synthetic_photo(w, h, 40 + n as u64);
        for (color, sampling, name) in LAYOUTS {
            let px = source(&photo, color);
            let want = as_rgb(&px, w, h, color);
            for q in [1, 50, 80, 100] {
                let jpeg = imaging::jpeg_pixels(&px, w, h, color, sampling, q, false).unwrap();
                let got = decoded(&jpeg);
                assert_eq!(got.dimensions(), (w, h), "{name} {w}x{h} q{q}");
                let diff = mean_abs_diff(&got, &want);
                let other = mean_abs_diff(&decoded(&theirs(&px, w, h, color, sampling, q)), &want);
                assert!(
                    diff <= other * 1.05 + 0.25,
                    "{name} {w}x{h} q{q}: mean difference {diff:.2}, jpeg-encoder's {other:.2}"
                );
                // Quality 100 without subsampling is near lossless (4:2:0 loses chroma detail
                // at any quality, most on these small busy images).
                if q == 100 && sampling == SamplingFactor::F_1_1 {
                    assert!(
                        diff <= 1.0,
                        "{name} {w}x{h} q100: mean difference {diff:.2}"
                    );
                }
                if w >= 16 && h >= 16 && q >= 50 {
                    let reference = decoded(&theirs(&px, w, h, color, sampling, q));
                    let (ours, other) = (ssim(&got, &want), ssim(&reference, &want));
                    assert!(
                        ours >= other - 0.01,
                        "{name} {w}x{h} q{q}: SSIM {ours:.4} against jpeg-encoder's {other:.4}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_photo_matches_jpeg_encoder_in_quality_and_bytes() {
    let photo = synthetic_photo(640, 480, 7);
    for (color, sampling, name) in LAYOUTS {
        let px = source(&photo, color);
        let want = as_rgb(&px, 640, 480, color);
        for q in [60, 80, 95] {
            let ours = imaging::jpeg_pixels(&px, 640, 480, color, sampling, q, false).unwrap();
            let other = theirs(&px, 640, 480, color, sampling, q);
            let (s_ours, s_other) = (ssim(&decoded(&ours), &want), ssim(&decoded(&other), &want));
            let ratio = ours.len() as f64 / other.len() as f64;
            eprintln!(
                "{name} q{q}: {} vs {} bytes ({ratio:.3}), SSIM {s_ours:.4} vs {s_other:.4}",
                ours.len(),
                other.len()
            );
            assert!(
                s_ours >= s_other - 0.003,
                "{name} q{q}: SSIM {s_ours:.4} < {s_other:.4}"
            );
            assert!(
                (0.85..=1.15).contains(&ratio),
                "{name} q{q}: {ratio:.3} of jpeg-encoder's bytes"
            );
        }
    }
}

#[test]
fn our_own_decoder_reads_it_too() {
    // The scaled decoders at 1/2 against `image`'s full decode shrunk the same way is
    // tested elsewhere; here only that they accept the writer's streams and agree in size.
    let photo = synthetic_photo(301, 203, 9);
    for (color, sampling, name) in LAYOUTS {
        let px = source(&photo, color);
        let jpeg = imaging::jpeg_pixels(&px, 301, 203, color, sampling, 85, false).unwrap();
        let half = imaging::testkit::decode_jpeg_own(&jpeg, 2)
            .unwrap_or_else(|| panic!("{name}: our decoder declined"));
        assert_eq!((half.width(), half.height()), (151, 102), "{name}");
    }
}

#[test]
fn noise_and_saturated_colours_survive_quality_100() {
    // Noise makes the largest coefficients and many 0xFF bytes to stuff; flat primaries
    // are the extremes of the colour conversion.
    let mut rng = Rng::new(11);
    let noise = RgbImage::from_fn(64, 48, |_, _| {
        image::Rgb([
            rng.next_u64() as u8,
            rng.next_u64() as u8,
            rng.next_u64() as u8,
        ])
    });
    let jpeg = imaging::jpeg_pixels(
        noise.as_raw(),
        64,
        48,
        ColorType::Rgb,
        SamplingFactor::F_1_1,
        100,
        false,
    )
    .unwrap();
    assert!(
        jpeg.windows(2).any(|w| w == [0xFF, 0x00]),
        "expected stuffed bytes"
    );
    let diff = mean_abs_diff(&decoded(&jpeg), &noise);
    assert!(diff <= 1.5, "noise at q100: mean difference {diff:.2}");
    for colour in [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 255],
        [0, 0, 0],
        [255, 255, 0],
    ] {
        let flat = RgbImage::from_pixel(24, 24, image::Rgb(colour));
        for sampling in [SamplingFactor::F_1_1, SamplingFactor::F_2_2] {
            let jpeg =
                imaging::jpeg_pixels(flat.as_raw(), 24, 24, ColorType::Rgb, sampling, 100, false)
                    .unwrap();
            let got = decoded(&jpeg);
            for p in got.pixels() {
                for c in 0..3 {
                    assert!(
                        p[c].abs_diff(colour[c]) <= 2,
                        "{colour:?}: decoded {:?}",
                        p.0
                    );
                }
            }
        }
    }
}

#[test]
fn bad_buffers_are_refused() {
    let rgb = |w, h, len: usize| {
        imaging::jpeg_pixels(
            &vec![0; len],
            w,
            h,
            ColorType::Rgb,
            SamplingFactor::F_2_2,
            80,
            false,
        )
    };
    assert!(matches!(
        rgb(0, 5, 0),
        Err(imaging::Error::InvalidParameter(_))
    ));
    assert!(matches!(
        rgb(4, 4, 47),
        Err(imaging::Error::InvalidParameter(_))
    ));
    assert!(matches!(
        rgb(70_000, 1, 210_000),
        Err(imaging::Error::InvalidParameter(_))
    ));
    assert!(rgb(4, 4, 48).is_ok());
}

//! Measures the JPEG encoders darkroom could use, at equal quality settings: `image`'s
//! `JpegEncoder` (what `imaging` first used), the `jpeg-encoder` crate (baseline, and
//! progressive with optimised Huffman tables, which darkroom uses) and imaging's own
//! baseline writer (`imaging::jpeg_pixels`, what darkroom uses for baseline), all 4:2:0
//! unless named otherwise.
//! Prints time (median of 5), bytes and SSIM to the source; no assertion (a benchmark).
//!
//!   cargo run --release -p darkroom-render --example jpeg_encoders

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use image::{DynamicImage, ImageEncoder};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// One encoder run: the encoded bytes.
type Run<'a> = Box<dyn FnMut() -> Vec<u8> + 'a>;

fn median_ms(mut f: impl FnMut() -> Vec<u8>) -> (f64, Vec<u8>) {
    let mut times = Vec::new();
    let mut out = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        out = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[2], out)
}

fn main() {
    println!("| image | encoder | q | ms (median of 5) | bytes | SSIM to source |");
    println!("|---|---|---|---|---|---|");
    for (w, h) in [(1024, 768), (4000, 3000)] {
        let src = imaging::testkit::synthetic_photo(w, h, 5);
        // SSIM on a 1024 px crop keeps the (slow, naive) metric quick.
        let crop = |img: &image::RgbImage| {
            DynamicImage::ImageRgb8(img.clone())
                .crop_imm(0, 0, 1024.min(w), 768.min(h))
                .to_rgb8()
        };
        let reference = crop(&src);
        for q in [75u8, 90] {
            let runs: Vec<(&str, Run)> = vec![
                (
                    "image JpegEncoder",
                    Box::new(|| {
                        let mut out = Vec::new();
                        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
                            .write_image(src.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                            .unwrap();
                        out
                    }),
                ),
                (
                    "jpeg-encoder baseline",
                    Box::new(|| {
                        let mut out = Vec::new();
                        let mut e = Encoder::new(&mut out, q);
                        e.set_sampling_factor(SamplingFactor::F_2_2);
                        e.encode(src.as_raw(), w as u16, h as u16, ColorType::Rgb)
                            .unwrap();
                        out
                    }),
                ),
                (
                    "imaging's baseline writer",
                    Box::new(|| {
                        imaging::jpeg_pixels(
                            src.as_raw(),
                            w,
                            h,
                            ColorType::Rgb,
                            SamplingFactor::F_2_2,
                            q,
                            false,
                        )
                        .unwrap()
                    }),
                ),
                (
                    "jpeg-encoder baseline 4:4:4",
                    Box::new(|| {
                        let mut out = Vec::new();
                        let mut e = Encoder::new(&mut out, q);
                        e.set_sampling_factor(SamplingFactor::F_1_1);
                        e.encode(src.as_raw(), w as u16, h as u16, ColorType::Rgb)
                            .unwrap();
                        out
                    }),
                ),
                (
                    "jpeg-encoder progressive+optimised",
                    Box::new(|| {
                        let mut out = Vec::new();
                        let mut e = Encoder::new(&mut out, q);
                        e.set_sampling_factor(SamplingFactor::F_2_2);
                        e.set_progressive(true);
                        e.set_optimized_huffman_tables(true);
                        e.encode(src.as_raw(), w as u16, h as u16, ColorType::Rgb)
                            .unwrap();
                        out
                    }),
                ),
            ];
            for (name, mut run) in runs {
                let (ms, bytes) = median_ms(&mut run);
                let decoded = image::load_from_memory(&bytes).unwrap().to_rgb8();
                let s = common::ssim(&crop(&decoded), &reference);
                println!(
                    "| {w}x{h} | {name} | {q} | {ms:.1} | {} | {s:.4} |",
                    bytes.len()
                );
            }
        }
    }
}

//! Where a render's time goes, stage by stage: the breakdown `bench/render.sh` prints
//! next to its end-to-end table (docs/performance.md).
//!
//! ```text
//! cargo run --release -p darkroom-render --example render_stages -- REPS W H FILE
//! ```
//! Runs natively, and in wasm as a WASI command (`bench/render.sh` builds it for
//! wasm32-wasip1 with the components' simd128 and SSE2 flags, `bench/render_stages.py`
//! runs it in wasmtime),
//! so the two columns compare the same code. Stages of a `fit=cover` JPEG render of FILE
//! at W x H: the scaled decode (what `render` hands the decoder), the resize, the JPEG
//! q80 encode (imaging's baseline writer, 4:2:0, as `render` encodes) and a WebP q80
//! encode (libwebp), then `render` itself end to end. One line per stage: `stage median_us min_us`.

use render::{Limits, OutputFormat, RenderOptions};

#[path = "common/stage.rs"]
mod common;
use common::stage;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reps, w, h, file] = args.as_slice() else {
        eprintln!("usage: render_stages REPS W H FILE");
        std::process::exit(2);
    };
    let reps: usize = reps.parse().expect("REPS");
    let (w, h): (u32, u32) = (w.parse().expect("W"), h.parse().expect("H"));
    let bytes = std::fs::read(file).expect("read FILE");
    let limits = Limits::default();

    // The box `render` gives a JPEG decode for a cover render (sharp's fastShrinkOnLoad:
    // half the box, which imaging's 2x margin turns back into the box).
    let (box_w, box_h) = (w.div_ceil(2), h.div_ceil(2));
    let decode = || imaging::decode_at_least(&bytes, &limits.imaging, box_w, box_h).unwrap();
    let decoded = decode();
    let (dw, dh) = (decoded.width(), decoded.height());
    // Cover: scale so both sides cover the box, then the centre crop (not timed: a view).
    let scale = (f64::from(w) / f64::from(dw)).max(f64::from(h) / f64::from(dh));
    let (rw, rh) = (
        (f64::from(dw) * scale).round() as u32,
        (f64::from(dh) * scale).round() as u32,
    );
    let resized = imaging::resize(&decoded, rw, rh).unwrap().to_rgb8();
    let (ow, oh) = (rw.min(w), rh.min(h));
    let out = image::imageops::crop_imm(&resized, (rw - ow) / 2, (rh - oh) / 2, ow, oh)
        .to_image();

    let query = format!("w={w}&h={h}&fit=cover");
    let opts = RenderOptions::parse(&query, &render::Presets::builtin()).unwrap();
    println!("# {file}: decoded {dw}x{dh}, resized {rw}x{rh}, out {ow}x{oh}, {reps} reps");
    stage("decode", reps, || {
        decode();
    });
    stage("resize", reps, || {
        imaging::resize(&decoded, rw, rh).unwrap();
    });
    stage("encode_jpeg_q80", reps, || {
        let (color, sampling) = (jpeg_encoder::ColorType::Rgb, jpeg_encoder::SamplingFactor::F_2_2);
        imaging::jpeg_pixels(out.as_raw(), ow, oh, color, sampling, 80, false).unwrap();
    });
    stage("encode_webp_q80", reps, || {
        render::render_image(
            image::DynamicImage::ImageRgb8(out.clone()),
            &RenderOptions::parse("q=80", &render::Presets::builtin()).unwrap(),
            OutputFormat::Webp,
            &limits,
        )
        .unwrap();
    });
    stage("render_jpeg", reps, || {
        render::render(&bytes, &opts, OutputFormat::Jpeg, &limits).unwrap();
    });
    stage("render_webp", reps, || {
        render::render(&bytes, &opts, OutputFormat::Webp, &limits).unwrap();
    });
}

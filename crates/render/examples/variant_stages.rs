//! Where a stored variant's time goes (the upload's auto preset and the `variant` job):
//! the breakdown `bench/jobs.sh` prints next to its images-per-second table.
//!
//! ```text
//! cargo run --release -p darkroom-render --example variant_stages -- REPS PRESET SIZE FILE
//! ```
//! Runs natively and in wasm as a WASI command, like `render_stages` (see there). Stages
//! of a `fit=inside` SIZE px JPEG render of FILE with PRESET, as
//! `components/render/src/variants.rs` asks for it: the decode `render` does, the preset,
//! the JPEG encode, then `render` end to end without and with the preset. One line per
//! stage: `stage median_us min_us`.

use render::{Effect, Fit, FormatChoice, Limits, OutputFormat, Presets, RenderOptions};

#[path = "common/stage.rs"]
mod common;
use common::stage;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [reps, preset, size, file] = args.as_slice() else {
        eprintln!("usage: variant_stages REPS PRESET SIZE FILE");
        std::process::exit(2);
    };
    let reps: usize = reps.parse().expect("REPS");
    let size: u32 = size.parse().expect("SIZE");
    let bytes = std::fs::read(file).expect("read FILE");
    let limits = Limits::default();
    let preset = Presets::builtin()
        .get(preset)
        .expect("a built-in preset")
        .clone();
    let opts = RenderOptions {
        w: Some(size),
        h: Some(size),
        fit: Fit::Inside,
        effect: Some(Effect::Preset(preset.clone())),
        format: FormatChoice::Jpeg,
        ..RenderOptions::default()
    };
    let header = imaging::read_header(&bytes, &limits.imaging).expect("header");
    let (w, h) = header.oriented_size();
    let p = render::plan(&opts, w, h).expect("plan");
    // `render` hands a JPEG decode half the planned box; imaging's 2x margin doubles it.
    let (bw, bh) = p.decode_box();
    let decode = || {
        imaging::decode_at_least(&bytes, &limits.imaging, bw.div_ceil(2), bh.div_ceil(2)).unwrap()
    };
    let decoded = decode().to_rgb8();
    let mut filtered = image::DynamicImage::ImageRgb8(decoded.clone());
    preset.apply(&mut filtered);
    let out = filtered.to_rgb8();
    println!(
        "# {file}: {w}x{h}, decoded {}x{}, out {}x{} JPEG q{}, {reps} reps",
        decoded.width(),
        decoded.height(),
        p.width,
        p.height,
        opts.quality_for(OutputFormat::Jpeg)
    );
    stage("decode", reps, || {
        decode();
    });
    stage("preset", reps, || {
        let mut img = image::DynamicImage::ImageRgb8(decoded.clone());
        preset.apply(&mut img);
    });
    let quality = opts.quality_for(OutputFormat::Jpeg);
    stage("encode_jpeg", reps, || {
        let (color, sampling) = (
            jpeg_encoder::ColorType::Rgb,
            jpeg_encoder::SamplingFactor::F_2_2,
        );
        imaging::jpeg_pixels(
            out.as_raw(),
            out.width(),
            out.height(),
            color,
            sampling,
            quality,
            false,
        )
        .unwrap();
    });
    let plain = RenderOptions {
        effect: None,
        ..opts.clone()
    };
    stage("render_without_preset", reps, || {
        render::render(&bytes, &plain, OutputFormat::Jpeg, &limits).unwrap();
    });
    stage("render", reps, || {
        render::render(&bytes, &opts, OutputFormat::Jpeg, &limits).unwrap();
    });
}

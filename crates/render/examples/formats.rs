//! Renders one photo as JPEG q95 (the reference), JPEG q80, WebP (lossy q80 and lossless) and AVIF at
//! each speed, prints time (native, one run each) and bytes, and
//! writes the files to `target/render-formats/` for `scripts/render-ref/format-ssim.py`
//! (which decodes them with Pillow, AVIF included, and prints SSIM to the JPEG q95).
//!
//!   cargo run --release -p darkroom-render --example formats [WIDTH]

use std::time::Instant;

use imaging::{Format, testkit};
use render::{Limits, OutputFormat, Presets, RenderOptions};

fn main() {
    let width: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/render-formats");
    std::fs::create_dir_all(&dir).unwrap();
    let src = testkit::encode(&testkit::synthetic_photo(4000, 3000, 21), Format::Jpeg, 92);
    let presets = Presets::builtin();
    let mut limits = Limits {
        avif_max_pixels: u64::MAX,
        ..Limits::default()
    };
    println!("| output | ms | bytes |");
    println!("|---|---|---|");
    let run = |name: &str, q: &str, format: OutputFormat, limits: &Limits| {
        let opts = RenderOptions::parse(&format!("w={width}{q}"), &presets).unwrap();
        let t = Instant::now();
        let out = render::render(&src, &opts, format, limits).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "| {name} {}x{} | {ms:.0} | {} |",
            out.width,
            out.height,
            out.bytes.len()
        );
        std::fs::write(dir.join(format!("{name}.{}", format.name())), &out.bytes).unwrap();
    };
    run("jpeg-q95", "&q=95", OutputFormat::Jpeg, &limits);
    run("jpeg-q80", "", OutputFormat::Jpeg, &limits);
    run("webp-q80", "", OutputFormat::Webp, &limits);
    run("webp-lossless", "&lossless=1", OutputFormat::Webp, &limits);
    for speed in [10u8, 8, 6] {
        limits.avif_speed = speed;
        run(
            &format!("avif-q63-s{speed}"),
            "",
            OutputFormat::Avif,
            &limits,
        );
    }
}

//! Makes the before/after pictures of `docs/render.md`: the test photo at 320 px wide,
//! as is and through every built-in preset, rendered by the same code the `render`
//! component runs, written as JPEG q82 to `docs/img/presets/`.
//!
//!   scripts/preset-gallery.sh        (or: cargo run --release -p darkroom-render --example preset_gallery)

use render::{Limits, OutputFormat, Presets, RenderOptions};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let photo = std::fs::read(root.join("tests/data/photo.png")).expect("the test photo");
    let out = root.join("../../docs/img/presets");
    std::fs::create_dir_all(&out).expect("docs/img/presets");
    let presets = Presets::builtin();
    let mut names = vec!["original".to_owned()];
    names.extend(presets.iter().map(|p| p.name().to_owned()));
    for name in names {
        let query = match name.as_str() {
            "original" => "w=320&q=82".to_owned(),
            preset => format!("w=320&q=82&preset={preset}"),
        };
        let opts = RenderOptions::parse(&query, &presets).expect("a valid query");
        let img =
            render::render(&photo, &opts, OutputFormat::Jpeg, &Limits::default()).expect("renders");
        std::fs::write(out.join(format!("{name}.jpg")), &img.bytes).expect("writes");
        println!(
            "docs/img/presets/{name}.jpg {}x{} {} B",
            img.width,
            img.height,
            img.bytes.len()
        );
    }
}

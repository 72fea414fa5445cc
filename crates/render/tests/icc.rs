//! An image with an embedded Display P3 profile renders in sRGB within ΔE 2 (CIE76) of
//! sharp's own conversion, patch by patch (`data/p3-patches.png`, reference
//! `data/p3_srgb_sharp.json`; both made by `scripts/render-ref/p3-ref.mjs` and
//! `examples/p3_fixture.rs`). Without the conversion the same patches are further off.

use render::{Limits, OutputFormat, Presets, RenderOptions};

/// sRGB 8-bit → CIE Lab (D65).
fn lab([r, g, b]: [u8; 3]) -> [f64; 3] {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(r), lin(g), lin(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

fn delta_e(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[test]
fn display_p3_renders_within_delta_e_2_of_sharp() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let png = std::fs::read(data.join("p3-patches.png")).unwrap();
    let table: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("p3_srgb_sharp.json")).unwrap()).unwrap();
    let want: Vec<[u8; 3]> = serde_json::from_value(table["srgb"].clone()).unwrap();
    let source = image::load_from_memory(&png).unwrap().to_rgb8();
    let opts = RenderOptions::parse("format=png", &Presets::builtin()).unwrap();
    let out = render::render(&png, &opts, OutputFormat::Png, &Limits::default()).unwrap();
    let got = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    let mut worst_unconverted = 0f64;
    for (i, want) in want.iter().enumerate() {
        let (x, y) = (i as u32 * 16 + 8, 8);
        let px = got.get_pixel(x, y).0;
        let de = delta_e(px, *want);
        let raw = delta_e(source.get_pixel(x, y).0, *want);
        worst_unconverted = worst_unconverted.max(raw);
        println!("patch {i}: ours {px:?}, sharp {want:?}, ΔE {de:.2} (unconverted {raw:.2})");
        assert!(de < 2.0, "patch {i}: ΔE {de:.2}");
    }
    assert!(
        worst_unconverted > 5.0,
        "the unconverted patches are already close ({worst_unconverted:.2})"
    );
}

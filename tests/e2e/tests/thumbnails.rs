//! The wasm `thumbnail` component, built with `simd128`, against the native scalar
//! reference (`imaging::testkit::scalar_thumbnail`) on every thumbnail path: Rust
//! 1.95/1.96 miscompile some wasm SIMD (rust-lang/rust#157456), so the SIMD build's
//! pixels are checked, not trusted.

use darkroom_e2e::{app, target::notice};
use imaging::testkit::{encoded_diff, scalar_thumbnail, thumbnail_cases};
use imaging::{Limits, ThumbnailSpec};

#[test]
fn simd_wasm_thumbnails_equal_the_scalar_reference() {
    let app = app();
    let mut worst = (0.0f64, 0u8);
    // Fixed inputs (the endpoint stores nothing), so the bounds below are reproducible.
    for (name, bytes) in thumbnail_cases(180) {
        for max_side in [128u32, 300] {
            let reply = app.post(
                &format!("/api/thumbnail?size={max_side}"),
                &bytes,
                "application/octet-stream",
            );
            let reply = reply.expect_status(200);
            // The component encodes at `thumbnail_quality` (80 unless set).
            let spec = ThumbnailSpec {
                max_side,
                quality: 80,
            };
            let reference = scalar_thumbnail(&bytes, &spec, &Limits::default()).unwrap();
            let wasm = image::load_from_memory(&reply.body).expect("a JPEG");
            assert_eq!(
                (wasm.width(), wasm.height()),
                (reference.width, reference.height),
                "{name} at {max_side}"
            );
            let (mean, max) = encoded_diff(&reply.body, &reference.bytes);
            worst = (worst.0.max(mean), worst.1.max(max));
            // Measured: mean ≤ 0.01, max 3 (a few JPEG samples; the JPEG decoders' native
            // and wasm builds round a little differently). A miscompiled kernel is far off.
            assert!(
                mean <= 0.05 && max <= 8,
                "{name} at {max_side}: wasm vs scalar mean {mean:.3}, max {max}"
            );
        }
    }
    notice(&format!(
        "e2e: SIMD wasm vs scalar thumbnails, worst mean {:.3}, worst max {}",
        worst.0, worst.1
    ));
}

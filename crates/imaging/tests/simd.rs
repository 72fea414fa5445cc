//! The SIMD resize (AVX2/SSE4.1 here, `simd128` in the wasm build) against plain scalar
//! code on every thumbnail path. The wasm build gets the same check end to end in
//! `tests/e2e/tests/thumbnails.rs`, since Rust 1.95/1.96 miscompile some wasm SIMD
//! (rust-lang/rust#157456).

use imaging::testkit::{encoded_diff, scalar_thumbnail, thumbnail_cases};
use imaging::{Limits, ThumbnailSpec, thumbnail};

#[test]
fn simd_thumbnails_equal_the_scalar_reference() {
    let limits = Limits::default();
    for (name, bytes) in thumbnail_cases(7) {
        for max_side in [128, 300] {
            let spec = ThumbnailSpec {
                max_side,
                quality: 90,
            };
            let simd = thumbnail(&bytes, &spec, &limits).unwrap();
            let scalar = scalar_thumbnail(&bytes, &spec, &limits).unwrap();
            assert_eq!((simd.width, simd.height), (scalar.width, scalar.height));
            let (mean, max) = encoded_diff(&simd.bytes, &scalar.bytes);
            // fast_image_resize's SIMD kernels round like its scalar ones: measured equal.
            assert!(
                mean <= 0.01 && max <= 1,
                "{name} at {max_side}: mean {mean:.3}, max {max}"
            );
        }
    }
}

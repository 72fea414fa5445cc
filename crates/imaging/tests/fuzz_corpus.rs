//! Replays `tests/fuzz_corpus/`: the fuzz seeds and every input the fuzzer
//! (`scripts/fuzz.sh`) ever found to crash, hang or exhaust memory. Each must come back
//! as an `Ok` or an `imaging::Error`, with the fuzz targets' properties intact: nothing
//! over the pixel limit decoded, thumbnails inside their box and JPEG.

use std::path::Path;

use imaging::{Format, Limits, ThumbnailSpec};

/// The fuzz targets' limits (`fuzz/src/lib.rs`), and the service defaults.
const LIMITS: [Limits; 2] = [
    Limits { max_pixels: 4_000_000, max_alloc: 64 * 1024 * 1024 },
    Limits { max_pixels: Limits::DEFAULT_MAX_PIXELS, max_alloc: Limits::DEFAULT_MAX_ALLOC },
];
const SPEC: ThumbnailSpec = ThumbnailSpec { max_side: 64, quality: 70 };

fn check(name: &str, data: &[u8], limits: &Limits) {
    let sniffed = imaging::sniff(data);
    let Ok(header) = imaging::read_header(data, limits) else { return };
    assert_eq!(Some(header.format), sniffed, "{name}: header of unsniffed bytes");
    assert!(header.width > 0 && header.height > 0 && header.pixels() <= limits.max_pixels, "{name}: {header:?}");
    if let Ok(img) = imaging::decode(data, limits) {
        assert_eq!((img.width(), img.height()), header.oriented_size(), "{name}: decode disagrees with the header");
    }
    if let Ok(img) = imaging::decode_at_least(data, limits, 256, 256) {
        assert!(u64::from(img.width()) * u64::from(img.height()) <= limits.max_pixels, "{name}");
    }
    if let Ok(thumb) = imaging::thumbnail(data, &SPEC, limits) {
        assert!((1..=SPEC.max_side).contains(&thumb.width) && (1..=SPEC.max_side).contains(&thumb.height), "{name}: {}x{}", thumb.width, thumb.height);
        assert_eq!(imaging::sniff(&thumb.bytes), Some(Format::Jpeg), "{name}");
    }
}

#[test]
fn fuzz_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    assert!(files.len() >= 9, "the seeds are missing from {}", dir.display());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let data = std::fs::read(path).unwrap();
        for limits in &LIMITS {
            check(&name, &data, limits);
        }
        // Every prefix of a seed, too: truncation is the commonest corruption.
        if name.starts_with("seed-") {
            for cut in (0..data.len()).step_by(97) {
                check(&format!("{name}[..{cut}]"), &data[..cut], &LIMITS[0]);
            }
        }
    }
}

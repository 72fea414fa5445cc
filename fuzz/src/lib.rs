//! The properties darkroom's fuzz targets check on `imaging`, shared by the cargo-fuzz
//! targets (`fuzz_targets/`) and the stable runner (`src/bin/stable-fuzz.rs`).
//!
//! Any panic is a finding: `imaging` promises an [`imaging::Error`] for every hostile
//! input. Beyond not panicking, the targets assert that nothing over the pixel limit is
//! ever decoded, and that a thumbnail fits its box and is a JPEG.

use imaging::{Format, Limits, ThumbnailSpec};

/// Small limits keep each run fast and make "over the limit" reachable by mutation.
pub const LIMITS: Limits = Limits { max_pixels: 4_000_000, max_alloc: 64 * 1024 * 1024 };

/// The thumbnail box the pipeline target asks for.
pub const SPEC: ThumbnailSpec = ThumbnailSpec { max_side: 64, quality: 70 };

/// Sniff, then read the header: a header is only ever read from sniffed bytes, and it
/// agrees with the sniffed format and the pixel limit.
pub fn sniff_and_header(data: &[u8]) {
    let sniffed = imaging::sniff(data);
    match imaging::read_header(data, &LIMITS) {
        Ok(header) => {
            assert_eq!(Some(header.format), sniffed, "a header read from unsniffed bytes");
            assert!(header.width > 0 && header.height > 0, "an empty image passed the header check");
            assert!(header.pixels() <= LIMITS.max_pixels, "the header check let {}x{} through", header.width, header.height);
            assert!((1..=8).contains(&header.orientation), "orientation {}", header.orientation);
        }
        Err(_) => {}
    }
}

/// What a request does with an upload: sniff, header, full decode, thumbnail.
pub fn pipeline(data: &[u8]) {
    sniff_and_header(data);
    let Ok(header) = imaging::read_header(data, &LIMITS) else { return };
    if let Ok(img) = imaging::decode(data, &LIMITS) {
        let pixels = u64::from(img.width()) * u64::from(img.height());
        assert!(pixels <= LIMITS.max_pixels, "decoded {}x{} past the limit", img.width(), img.height());
        assert_eq!((img.width(), img.height()), header.oriented_size(), "decode disagrees with the header");
    }
    if let Ok(thumb) = imaging::thumbnail(data, &SPEC, &LIMITS) {
        assert!(thumb.width >= 1 && thumb.height >= 1, "empty thumbnail");
        assert!(thumb.width <= SPEC.max_side && thumb.height <= SPEC.max_side, "thumbnail {}x{} outside the box", thumb.width, thumb.height);
        assert_eq!(imaging::sniff(&thumb.bytes), Some(Format::Jpeg), "thumbnail is not a JPEG");
    }
}

/// Small valid images in every accepted format (plus EXIF-rotated JPEGs): the seed corpus.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    use imaging::testkit::{encode, synthetic_photo, with_exif_orientation};
    let photo = synthetic_photo(40, 24, 7);
    let mut seeds = Vec::new();
    for format in [Format::Jpeg, Format::Png, Format::Gif, Format::Webp, Format::Tiff, Format::Bmp] {
        seeds.push((format!("seed-{}", format.name()), encode(&photo, format, 75)));
    }
    let jpeg = encode(&photo, Format::Jpeg, 75);
    for orientation in [3, 6, 8] {
        seeds.push((format!("seed-jpeg-exif{orientation}"), with_exif_orientation(&jpeg, orientation)));
    }
    seeds
}

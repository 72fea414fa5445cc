//! PNG shrink-on-load (rows streamed and box-averaged) against a full decode followed by
//! the same Lanczos3 resize, on generated PNGs of every colour type the format has.

use std::time::Instant;

use image::{DynamicImage, GenericImageView, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use imaging::testkit::{encode, synthetic_photo};
use imaging::{Error, Format, Limits, ThumbnailSpec};

/// What the streamed-and-reduced path may differ by from a full decode (same final
/// resize), on the 0..=255 scale, compared flattened on white: the box pre-filter and the
/// rounding of the reduced image to 8 bits shift a level here and there; where `f` does not
/// divide a side the group edges snap to whole pixels (up to half a source pixel off).
const MAX_MEAN_DIFF: f64 = 1.0;
const MAX_ABS_DIFF: u8 = 20;

fn photo(w: u32, h: u32) -> RgbImage {
    synthetic_photo(w, h, 23)
}

/// Encodes raw samples with the `png` crate (the `image` encoder writes no palettes, no
/// 16-bit grey+alpha, no low bit depths).
fn png_of(
    (w, h): (u32, u32),
    colour: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<(Vec<u8>, Option<Vec<u8>>)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(colour);
    encoder.set_depth(depth);
    if let Some((plte, trns)) = palette {
        encoder.set_palette(plte);
        if let Some(trns) = trns {
            encoder.set_trns(trns);
        }
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    out
}

/// RGBA with alpha ramps, a fully transparent rectangle holding loud green (which must not
/// bleed) and a half-transparent band.
fn with_alpha(img: &RgbImage) -> RgbaImage {
    let (w, h) = img.dimensions();
    RgbaImage::from_fn(w, h, |x, y| {
        let Rgb([r, g, b]) = *img.get_pixel(x, y);
        if x > w / 4 && x < w / 2 && y > h / 3 && y < 2 * h / 3 {
            Rgba([0, 255, 0, 0])
        } else if y < h / 5 {
            Rgba([r, g, b, 128])
        } else {
            Rgba([r, g, b, (255 * x / w.max(1)) as u8 | 0x0F])
        }
    })
}

fn grey(img: &RgbImage) -> GrayImage {
    DynamicImage::ImageRgb8(img.clone()).to_luma8()
}

fn be16(samples: impl Iterator<Item = u16>) -> Vec<u8> {
    samples.flat_map(u16::to_be_bytes).collect()
}

/// 16-bit samples that use the low byte: v * 257 plus a position-dependent offset.
fn widen(samples: &[u8]) -> Vec<u8> {
    be16(
        samples
            .iter()
            .enumerate()
            .map(|(i, &v)| u16::from(v) * 257 - u16::from(v) + ((i * 37) % 251) as u16),
    )
}

/// A 6x6x6 colour cube palette (216 entries); tRNS makes entries with much blue transparent.
fn paletted(img: &RgbImage, with_trns: bool) -> (Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
    let level = |c: u8| (u16::from(c) * 5 + 127) / 255;
    let indices = img
        .pixels()
        .map(|Rgb([r, g, b])| (level(*r) * 36 + level(*g) * 6 + level(*b)) as u8)
        .collect();
    let plte = (0..216u16)
        .flat_map(|i| [i / 36, i / 6 % 6, i % 6].map(|l| (l * 51) as u8))
        .collect();
    let trns = with_trns.then(|| {
        (0..216u16)
            .map(|i| if i % 6 >= 4 { 0 } else { 255 })
            .collect()
    });
    (indices, plte, trns)
}

/// 4-bit palette of 16 greys: two pixels a byte, rows padded to a byte.
fn paletted_4bit(img: &RgbImage) -> (Vec<u8>, Vec<u8>) {
    let g = grey(img);
    let (w, h) = g.dimensions();
    let stride = w.div_ceil(2) as usize;
    let mut data = vec![0u8; stride * h as usize];
    for (x, y, Luma([v])) in g.enumerate_pixels() {
        let nibble = v >> 4;
        data[y as usize * stride + x as usize / 2] |= if x % 2 == 0 { nibble << 4 } else { nibble };
    }
    let plte = (0..16u8).flat_map(|i| [i * 17; 3]).collect();
    (data, plte)
}

/// Every colour type and depth darkroom may be sent, `w` x `h`.
fn cases(w: u32, h: u32) -> Vec<(&'static str, Vec<u8>)> {
    use png::{BitDepth as D, ColorType as C};
    let img = photo(w, h);
    let rgba = with_alpha(&img);
    let g = grey(&img);
    let ga: Vec<u8> = g
        .pixels()
        .zip(rgba.pixels())
        .flat_map(|(Luma([v]), Rgba([.., a]))| [*v, *a])
        .collect();
    let (indices, plte, trns) = paletted(&img, true);
    let (nibbles, grey_plte) = paletted_4bit(&img);
    vec![
        ("rgb8", encode(&img, Format::Png, 0)),
        (
            "rgba8",
            imaging::encode(&DynamicImage::ImageRgba8(rgba.clone()), Format::Png, 0).unwrap(),
        ),
        (
            "grey8",
            png_of((w, h), C::Grayscale, D::Eight, g.as_raw(), None),
        ),
        (
            "greyalpha8",
            png_of((w, h), C::GrayscaleAlpha, D::Eight, &ga, None),
        ),
        (
            "palette8",
            png_of(
                (w, h),
                C::Indexed,
                D::Eight,
                &paletted(&img, false).0,
                Some((plte.clone(), None)),
            ),
        ),
        (
            "palette8-trns",
            png_of((w, h), C::Indexed, D::Eight, &indices, Some((plte, trns))),
        ),
        (
            "palette4",
            png_of(
                (w, h),
                C::Indexed,
                D::Four,
                &nibbles,
                Some((grey_plte, None)),
            ),
        ),
        (
            "rgb16",
            png_of((w, h), C::Rgb, D::Sixteen, &widen(img.as_raw()), None),
        ),
        (
            "rgba16",
            png_of((w, h), C::Rgba, D::Sixteen, &widen(rgba.as_raw()), None),
        ),
        (
            "grey16",
            png_of((w, h), C::Grayscale, D::Sixteen, &widen(g.as_raw()), None),
        ),
        (
            "greyalpha16",
            png_of((w, h), C::GrayscaleAlpha, D::Sixteen, &widen(&ga), None),
        ),
    ]
}

/// (mean, max) absolute difference of two images flattened on white.
fn diff(a: &DynamicImage, b: &DynamicImage) -> (f64, u8) {
    let (a, b) = (imaging::flatten_on_white(a), imaging::flatten_on_white(b));
    assert_eq!(a.dimensions(), b.dimensions());
    let d: Vec<u8> = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .collect();
    let sum: u64 = d.iter().map(|&v| u64::from(v)).sum();
    (
        sum as f64 / d.len() as f64,
        d.iter().copied().max().unwrap_or(0),
    )
}

/// Streams `bytes` for a thumbnail of `max_side` and checks the reduced size, then the
/// resized result against a full decode resized the same way.
fn check_against_full_decode(name: &str, bytes: &[u8], max_side: u32) -> (f64, u8) {
    let limits = Limits::default();
    let mut target = (0, 0);
    let (header, reduced) = imaging::decode_planned(bytes, &limits, |h| {
        target = imaging::fit_within(h.width, h.height, max_side);
        Ok(target)
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    // The largest integer factor keeping >= 2x the box, partial groups rounded up.
    let f = (1..=header.width)
        .rev()
        .find(|&f| {
            header.width.div_ceil(f) >= 2 * target.0 && header.height.div_ceil(f) >= 2 * target.1
        })
        .unwrap_or(1);
    assert!(f >= 2, "{name}: the case must stream");
    assert_eq!(
        reduced.dimensions(),
        (header.width.div_ceil(f), header.height.div_ceil(f)),
        "{name}: f = {f}"
    );
    assert!(
        matches!(
            reduced.color(),
            image::ColorType::L8
                | image::ColorType::La8
                | image::ColorType::Rgb8
                | image::ColorType::Rgba8
        ),
        "{name}: 8-bit out"
    );

    let full = imaging::decode(bytes, &limits).unwrap();
    let a = imaging::resize(&reduced, target.0, target.1).unwrap();
    let b = imaging::resize(&full, target.0, target.1).unwrap();
    assert_eq!(a.dimensions(), target);
    let (mean, max) = diff(&a, &b);
    eprintln!(
        "{name:<14} {}x{} f={f:<2} -> {}x{}: mean {mean:.3}, max {max}",
        header.width, header.height, target.0, target.1
    );
    assert!(
        mean <= MAX_MEAN_DIFF && max <= MAX_ABS_DIFF,
        "{name}: mean {mean:.3}, max {max}"
    );
    // The thumbnail takes the same path.
    let t = imaging::thumbnail(
        bytes,
        &ThumbnailSpec {
            max_side,
            quality: 90,
        },
        &limits,
    )
    .unwrap();
    assert_eq!((t.width, t.height), target, "{name}");
    (mean, max)
}

#[test]
fn streamed_png_matches_full_decode_for_every_colour_type() {
    for (name, bytes) in cases(960, 720) {
        check_against_full_decode(name, &bytes, 128);
    }
}

#[test]
fn odd_sizes_spread_uneven_groups() {
    // Widths and heights that are not multiples of the factor, both orientations: groups
    // of f and f - 1 pixels, and the reduced image still covers exactly the source.
    for (w, h, side) in [
        (1000, 779, 128),
        (779, 1000, 100),
        (1283, 97, 64),
        (301, 2003, 50),
    ] {
        for (name, bytes) in cases(w, h)
            .into_iter()
            .filter(|(n, _)| ["rgb8", "rgba8", "greyalpha16", "palette4"].contains(n))
        {
            check_against_full_decode(&format!("{name} {w}x{h}"), &bytes, side);
        }
    }
}

#[test]
fn exif_orientation_applies_to_the_reduced_image() {
    // A 6 (rotate 90° clockwise) eXIf chunk: the box is given upright, streamed stored.
    let img = photo(900, 600);
    let mut png = encode(&img, Format::Png, 0);
    let exif =
        [b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".as_slice()].concat();
    insert_chunk_before_idat(&mut png, b"eXIf", &exif);
    let header = imaging::read_header(&png, &Limits::default()).unwrap();
    assert_eq!(header.orientation, 6);
    let (_, reduced) = imaging::decode_planned(&png, &Limits::default(), |_| Ok((64, 96))).unwrap();
    // Stored box 96x64 -> need 192x128: f = min(899/191, 599/127) = 4 -> 225x150 stored.
    assert_eq!(reduced.dimensions(), (150, 225));
    let full = imaging::decode(&png, &Limits::default()).unwrap();
    let (mean, _) = diff(
        &imaging::resize(&reduced, 64, 96).unwrap(),
        &imaging::resize(&full, 64, 96).unwrap(),
    );
    assert!(mean <= MAX_MEAN_DIFF, "{mean}");
}

#[test]
fn small_boxes_only_need_the_reduced_image_in_max_alloc() {
    let png = encode(&photo(1600, 1200), Format::Png, 0);
    // The full decode is 5.76 MB; the image reduced for a 128 px box (f = 6) is 214 kB.
    let limits = Limits {
        max_alloc: 1 << 20,
        ..Limits::default()
    };
    assert!(matches!(
        imaging::decode(&png, &limits),
        Err(Error::TooLarge(_))
    ));
    let t = imaging::thumbnail(&png, &ThumbnailSpec::default(), &limits).unwrap();
    assert_eq!((t.width, t.height), (128, 96));
    // A box too large to reduce (f = 1) takes the full decode, and its limit.
    let big = ThumbnailSpec {
        max_side: 1024,
        quality: 80,
    };
    assert!(matches!(
        imaging::thumbnail(&png, &big, &limits),
        Err(Error::TooLarge(_))
    ));
    // The reduced image is checked against the limit too.
    let tiny = Limits {
        max_alloc: 100_000,
        ..Limits::default()
    };
    assert!(matches!(
        imaging::thumbnail(&png, &ThumbnailSpec::default(), &tiny),
        Err(Error::TooLarge(_))
    ));
}

#[test]
fn fifty_megapixel_png_thumbnail_within_64_mib() {
    // 8660 x 5773 = 49,994,180 pixels, smooth so that it compresses (and encodes) fast.
    let (w, h) = (8660, 5773);
    let start = Instant::now();
    let img = RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        Rgb([
            (255.0 * u) as u8,
            (255.0 * v) as u8,
            (128.0 + 100.0 * (6.0 * u + 4.0 * v).sin()) as u8,
        ])
    });
    let png = encode(&img, Format::Png, 0);
    drop(img);
    let made = start.elapsed();
    let limits = Limits {
        max_alloc: 64 << 20,
        ..Limits::default()
    };
    assert!(
        matches!(imaging::decode(&png, &limits), Err(Error::TooLarge(_))),
        "150 MB decoded: refused in full"
    );
    let start = Instant::now();
    let t = imaging::thumbnail(&png, &ThumbnailSpec::default(), &limits).unwrap();
    let thumb = start.elapsed();
    assert_eq!((t.width, t.height), (128, 85));
    let start = Instant::now();
    let v = imaging::decode_at_least(&png, &limits, 256, 256).unwrap();
    assert_eq!(v.dimensions(), (788, 525), "f = 11");
    eprintln!(
        "50 MP PNG ({:.1} MB, made in {made:.2?}): thumbnail {thumb:.2?}, 256 px decode {:.2?}",
        png.len() as f64 / 1e6,
        start.elapsed()
    );
}

#[test]
fn interlaced_pngs_decode_fully() {
    let img = photo(800, 600);
    let png = raw_png((800, 600), 2, true, &adam7(&img), 600);
    let full = imaging::decode(&png, &Limits::default()).unwrap();
    assert_eq!(full.to_rgb8(), img);
    let d = imaging::decode_at_least(&png, &Limits::default(), 32, 24).unwrap();
    assert_eq!(d.dimensions(), (800, 600), "not streamed");
    // So the full decode's limit (1.44 MB here) applies to them whatever the box; the same
    // image not interlaced streams within it (f = 3: 267x200, 160 kB).
    let limits = Limits {
        max_alloc: 300_000,
        ..Limits::default()
    };
    assert!(matches!(
        imaging::thumbnail(&png, &ThumbnailSpec::default(), &limits),
        Err(Error::TooLarge(_))
    ));
    let plain = raw_png((800, 600), 2, false, &rows(&img), 600);
    imaging::thumbnail(&plain, &ThumbnailSpec::default(), &limits).unwrap();
}

#[test]
fn missing_rows_are_corrupt() {
    let img = photo(400, 300);
    let short = raw_png((400, 300), 2, false, &rows(&img), 290);
    for r in [
        imaging::thumbnail(&short, &ThumbnailSpec::default(), &Limits::default()).map(|_| ()),
        imaging::decode_at_least(&short, &Limits::default(), 40, 30).map(|_| ()),
    ] {
        assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    }
}

#[test]
fn truncated_and_flipped_pngs_never_panic() {
    let limits = Limits::default();
    let spec = ThumbnailSpec {
        max_side: 64,
        quality: 80,
    };
    for (name, bytes) in cases(320, 240) {
        let len = bytes.len();
        for cut in (8..len).step_by(len / 60 + 1).chain([len - 12, len - 1]) {
            let part = &bytes[..cut];
            for r in [
                imaging::thumbnail(part, &spec, &limits).map(|_| ()),
                imaging::decode_at_least(part, &limits, 40, 30).map(|_| ()),
            ] {
                match r {
                    Ok(()) => assert!(cut >= len - 12, "{name} cut at {cut} of {len} decoded"),
                    Err(Error::Corrupt(_) | Error::Unsupported) => {}
                    Err(e) => panic!("{name} cut at {cut}: unexpected {e:?}"),
                }
            }
        }
        let mut rng = imaging::testkit::Rng::new(len as u64);
        for _ in 0..40 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + rng.next_u64() % 8 {
                let at = 8 + (rng.next_u64() as usize) % (len - 8);
                damaged[at] ^= 1 + (rng.next_u64() % 255) as u8;
            }
            if let Ok(t) = imaging::thumbnail(&damaged, &spec, &limits) {
                assert!(t.width <= 64 && t.height <= 64);
            }
            let _ = imaging::decode_at_least(&damaged, &limits, 40, 30);
        }
    }
}

// --- PNGs written by hand: interlaced, or with fewer rows than the header says ---------

/// Filter-0 rows of an RGB image.
fn rows(img: &RgbImage) -> Vec<Vec<u8>> {
    img.rows()
        .map(|row| std::iter::once(0).chain(row.flat_map(|p| p.0)).collect())
        .collect()
}

/// The Adam7 passes of an RGB image as filter-0 rows (empty passes have no rows).
fn adam7(img: &RgbImage) -> Vec<Vec<u8>> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= w {
            continue;
        }
        for y in (y0..h).step_by(dy as usize) {
            let mut row = vec![0];
            for x in (x0..w).step_by(dx as usize) {
                row.extend(img.get_pixel(x, y).0);
            }
            out.push(row);
        }
    }
    out
}

/// A PNG whose header says `w` x `h` (colour type `colour`, 8 bits) holding the first
/// `keep` of `rows` (already filtered), deflated as stored blocks.
fn raw_png(
    (w, h): (u32, u32),
    colour: u8,
    interlaced: bool,
    rows: &[Vec<u8>],
    keep: usize,
) -> Vec<u8> {
    let data: Vec<u8> = rows
        .iter()
        .take(if interlaced { rows.len() } else { keep })
        .flatten()
        .copied()
        .collect();
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let n = block.len() as u16;
        zlib.extend(n.to_le_bytes());
        zlib.extend((!n).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend((b << 16 | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, colour, 0, 0, u8::from(interlaced)]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    out.extend(crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
}

fn insert_chunk_before_idat(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let at = png.windows(4).position(|w| w == b"IDAT").expect("an IDAT") - 4;
    let mut c = Vec::new();
    chunk(&mut c, kind, data);
    png.splice(at..at, c);
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

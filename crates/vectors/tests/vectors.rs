//! Integration tests on synthetic photos from `imaging::testkit`.

use image::DynamicImage;
use imaging::testkit::{Rng, encode, synthetic_photo};
use imaging::{Format, Limits};
use ndarray::{Array2, array};
use vectors::{DIMS, batch_stats, extract, top_k};

const PHOTOS: u64 = 20;
const W: u32 = 480;
const H: u32 = 360;

fn decode(bytes: &[u8]) -> DynamicImage {
    imaging::decode(bytes, &Limits::default()).unwrap()
}

/// The index: every photo stored as a JPEG (as uploads usually are), decoded, vectorised.
fn index() -> (Vec<image::RgbImage>, Array2<f32>) {
    let photos: Vec<_> = (0..PHOTOS)
        .map(|s| synthetic_photo(W, H, 1000 + s))
        .collect();
    let rows: Vec<Vec<f32>> = photos
        .iter()
        .map(|p| extract(&decode(&encode(p, Format::Jpeg, 90))).vector)
        .collect();
    (photos, vectors::stack(&rows).unwrap())
}

fn rank_of(query: &[f32], matrix: &Array2<f32>, want: usize) -> usize {
    let ranked = top_k(query, matrix.view(), matrix.nrows());
    ranked.iter().position(|&(i, _)| i == want).unwrap()
}

#[test]
fn variants_rank_their_original_first() {
    let (photos, matrix) = index();
    let stats = batch_stats(matrix.clone(), vectors::DUPLICATE_THRESHOLD);
    assert!(
        stats.duplicates.is_empty(),
        "distinct photos flagged as duplicates: {:?}",
        stats.duplicates
    );
    for (i, photo) in photos.iter().enumerate() {
        let rgb = DynamicImage::ImageRgb8(photo.clone());
        let half = imaging::resize(&rgb, W / 2, H / 2).unwrap().to_rgb8();
        let variants = [
            ("resized x0.5", encode(&half, Format::Jpeg, 85)),
            ("recompressed q50", encode(photo, Format::Jpeg, 50)),
            (
                "png -> jpeg",
                encode(
                    &decode(&encode(photo, Format::Png, 0)).to_rgb8(),
                    Format::Jpeg,
                    80,
                ),
            ),
            ("png", encode(photo, Format::Png, 0)),
            ("webp", encode(photo, Format::Webp, 0)),
        ];
        for (name, bytes) in variants {
            let f = extract(&decode(&bytes));
            let rank = rank_of(&f.vector, &matrix, i);
            let ranked = top_k(&f.vector, matrix.view(), 2);
            assert_eq!(
                rank, 0,
                "photo {i}, {name}: ranked {rank}, top two {ranked:?}"
            );
            assert!(
                ranked[0].1 > vectors::DUPLICATE_THRESHOLD,
                "photo {i}, {name}: score {}",
                ranked[0].1
            );
        }
    }
}

/// Feature version 2's design goals: brightness changes and 10% crops still rank their
/// original first, brightness +-20% stays a near-duplicate, a mirror image does not.
#[test]
fn brightness_and_crops_rank_first_and_a_flip_is_not_a_duplicate() {
    let (photos, matrix) = index();
    let jpeg = |img: &image::RgbImage| extract(&decode(&encode(img, Format::Jpeg, 90))).vector;
    for (i, photo) in photos.iter().enumerate() {
        for factor in [0.8f32, 1.2] {
            let mut b = photo.clone();
            b.iter_mut()
                .for_each(|v| *v = (f32::from(*v) * factor).round().clamp(0.0, 255.0) as u8);
            let v = jpeg(&b);
            assert_eq!(
                rank_of(&v, &matrix, i),
                0,
                "photo {i}, brightness x{factor}"
            );
            let score = top_k(&v, matrix.view(), 1)[0].1;
            assert!(
                score >= vectors::DUPLICATE_THRESHOLD,
                "photo {i}, brightness x{factor}: {score}"
            );
        }
        let (cw, ch) = (W * 9 / 10, H * 9 / 10);
        for (x, y) in [((W - cw) / 2, (H - ch) / 2), (0, 0), (W - cw, H - ch)] {
            let c = image::imageops::crop_imm(photo, x, y, cw, ch).to_image();
            let v = jpeg(&c);
            assert_eq!(rank_of(&v, &matrix, i), 0, "photo {i}, 10% crop at {x},{y}");
        }
        let flipped = jpeg(&image::imageops::flip_horizontal(photo));
        let own = top_k(&flipped, matrix.view(), PHOTOS as usize)
            .into_iter()
            .find(|r| r.0 == i)
            .unwrap()
            .1;
        assert!(
            own < vectors::DUPLICATE_THRESHOLD,
            "photo {i}: its mirror image scores {own}"
        );
    }
}

#[test]
fn phash_is_stable_under_variants_and_differs_between_photos() {
    let (photos, _) = index();
    let hashes: Vec<u64> = photos
        .iter()
        .map(|p| extract(&DynamicImage::ImageRgb8(p.clone())).phash)
        .collect();
    for (p, &h) in photos.iter().zip(&hashes).take(5) {
        let q50 = extract(&decode(&encode(p, Format::Jpeg, 50))).phash;
        assert!(
            vectors::hamming(h, q50) <= 6,
            "recompression moved the hash by {}",
            vectors::hamming(h, q50)
        );
    }
    let mut distinct = 0;
    let mut pairs = 0;
    for a in 0..hashes.len() {
        for b in a + 1..hashes.len() {
            pairs += 1;
            distinct += usize::from(vectors::hamming(hashes[a], hashes[b]) > 10);
        }
    }
    assert!(
        distinct * 100 >= pairs * 95,
        "only {distinct} of {pairs} pairs have distinct hashes"
    );
    let hex = vectors::phash_hex(hashes[0]);
    assert_eq!(hex.len(), 16);
    assert_eq!(vectors::phash_from_hex(&hex), Some(hashes[0]));
    assert_eq!(vectors::hamming(0, u64::MAX), 64);
}

#[test]
fn vectors_are_unit_length_and_deterministic() {
    let mut inputs = vec![
        DynamicImage::ImageRgb8(synthetic_photo(640, 480, 1)),
        DynamicImage::ImageRgb8(synthetic_photo(3, 2, 2)),
        DynamicImage::ImageRgb8(synthetic_photo(1, 1, 3)),
        DynamicImage::new_rgb8(50, 50),  // all black
        DynamicImage::new_rgba8(50, 50), // fully transparent
        DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(40, 30, |x, _| {
            image::Luma([x as u16 * 1000])
        })),
        DynamicImage::new_rgb8(0, 0),
    ];
    inputs.push(DynamicImage::ImageRgb32F(
        DynamicImage::ImageRgb8(synthetic_photo(64, 64, 4)).to_rgb32f(),
    ));
    for img in &inputs {
        let f = extract(img);
        assert_eq!(f.vector.len(), DIMS);
        assert!(f.vector.iter().all(|v| v.is_finite()));
        let norm: f32 = f.vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{:?}: norm {norm}", img.color());
        assert_eq!(extract(img), f);
    }
}

#[test]
fn layout_is_consistent() {
    let mut offset = 0;
    let mut share = 0.0;
    for b in vectors::BLOCKS {
        assert_eq!(b.offset, offset, "{}", b.name);
        offset += b.dims;
        share += b.share;
    }
    assert_eq!(offset, DIMS);
    assert!((share - 1.0).abs() < 1e-6);
    const { assert!(vectors::FEATURE_VERSION >= 1) };
}

#[test]
fn le_bytes_round_trip() {
    let v = vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        f32::MIN_POSITIVE,
        f32::MAX,
        1e-30,
        0.333_333_34,
    ];
    let bytes = vectors::to_le_bytes(&v);
    assert_eq!(bytes.len(), v.len() * 4);
    assert_eq!(&bytes[8..12], &1.0f32.to_le_bytes());
    let back = vectors::from_le_bytes(&bytes).unwrap();
    assert_eq!(
        back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let f = extract(&DynamicImage::ImageRgb8(synthetic_photo(100, 80, 9)));
    assert_eq!(
        vectors::from_le_bytes(&vectors::to_le_bytes(&f.vector)).unwrap(),
        f.vector
    );
    assert_eq!(
        vectors::from_le_bytes(&[1, 2, 3]),
        Err(vectors::Error::InvalidLength(3))
    );
    assert_eq!(vectors::from_le_bytes(&[]), Ok(vec![]));
    assert!(matches!(
        vectors::stack(&[vec![1.0, 2.0], vec![1.0]]),
        Err(vectors::Error::DimensionMismatch {
            expected: 2,
            got: 1
        })
    ));
}

#[test]
fn top_k_orders_best_first_with_stable_ties() {
    let m = array![
        [1.0f32, 0.0],
        [0.0, 1.0],
        [1.0, 0.0],
        [0.6, 0.8],
        [f32::NAN, 0.0]
    ];
    let q = [1.0f32, 0.0];
    assert_eq!(top_k(&q, m.view(), 3), vec![(0, 1.0), (2, 1.0), (3, 0.6)]);
    let all = top_k(&q, m.view(), 10);
    assert_eq!(
        all.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 2, 3, 1, 4]
    );
    assert!(top_k(&q, m.view(), 0).is_empty());
    assert!(top_k(&[1.0, 0.0, 0.0], m.view(), 3).is_empty());
    assert!(top_k(&q, Array2::<f32>::zeros((0, 2)).view(), 3).is_empty());
    // Many equal scores: ties resolved by index for every k.
    let flat = Array2::from_elem((50, 2), 0.5f32);
    let got: Vec<usize> = top_k(&q, flat.view(), 7).into_iter().map(|r| r.0).collect();
    assert_eq!(got, (0..7).collect::<Vec<_>>());
}

#[test]
fn batch_stats_match_hand_computed_values() {
    let x = array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 0.0]];
    let s = batch_stats(x, 0.9);
    assert_eq!((s.n, s.dims), (3, 2));
    close(&s.mean, &[2.0 / 3.0, 1.0 / 3.0]);
    let sd = (2.0f32 / 9.0).sqrt();
    close(&s.std, &[sd, sd]);
    for (row, want) in s
        .similarity
        .iter()
        .zip([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    {
        close(row, &want);
    }
    assert_eq!(s.duplicates.len(), 1);
    assert_eq!((s.duplicates[0].0, s.duplicates[0].1), (0, 2));
    assert!((s.duplicates[0].2 - 1.0).abs() < 1e-6);
    // All variance lies along (1, -1)/sqrt(2); the second axis has none.
    let p: Vec<f32> = s.projection.iter().map(|p| p[0]).collect();
    let r = (2.0f32).sqrt() / 3.0;
    close(&p, &[r, -2.0 * r, r]);
    assert!(s.projection.iter().all(|p| p[1].abs() < 1e-4));

    // Cosine, not raw dot: unnormalised rows are normalised first.
    let s = batch_stats(array![[3.0f32, 4.0], [6.0, 8.0], [0.0, 0.0]], 0.99);
    close(&s.similarity[0], &[1.0, 1.0, 0.0]);
    assert_eq!(s.duplicates.len(), 1);

    let empty = batch_stats(Array2::zeros((0, 4)), 0.9);
    assert_eq!((empty.n, empty.dims, empty.mean.len()), (0, 4, 4));
    let one = batch_stats(array![[0.6f32, 0.8]], 0.9);
    assert_eq!(one.projection, vec![[0.0, 0.0]]);
}

#[test]
fn pca_separates_two_clusters() {
    let mut rng = Rng::new(5);
    let dims = 40;
    let centre_a: Vec<f32> = (0..dims).map(|_| rng.range(-1.0, 1.0)).collect();
    let centre_b: Vec<f32> = (0..dims).map(|_| rng.range(-1.0, 1.0)).collect();
    let mut rows = Vec::new();
    for i in 0..24 {
        let c = if i % 2 == 0 { &centre_a } else { &centre_b };
        rows.push(
            c.iter()
                .map(|v| v + rng.range(-0.1, 0.1))
                .collect::<Vec<f32>>(),
        );
    }
    let s = batch_stats(vectors::stack(&rows).unwrap(), 0.999);
    let (a, b): (Vec<_>, Vec<_>) = s
        .projection
        .iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let max_a = a.iter().map(|p| p.1[0]).fold(f32::MIN, f32::max);
    let min_a = a.iter().map(|p| p.1[0]).fold(f32::MAX, f32::min);
    let max_b = b.iter().map(|p| p.1[0]).fold(f32::MIN, f32::max);
    let min_b = b.iter().map(|p| p.1[0]).fold(f32::MAX, f32::min);
    assert!(
        max_a < min_b || max_b < min_a,
        "clusters overlap on PC1: a [{min_a}, {max_a}], b [{min_b}, {max_b}]"
    );

    // Real features: two photos, each with variants, form two groups on PC1, and the
    // variants of one photo are flagged as duplicates of each other only.
    let mut feats = Vec::new();
    for seed in [21u64, 22] {
        let p = synthetic_photo(320, 240, seed);
        for q in [95u8, 70, 50] {
            feats.push(extract(&decode(&encode(&p, Format::Jpeg, q))).vector);
        }
    }
    let s = batch_stats(vectors::stack(&feats).unwrap(), 0.95);
    let side: Vec<bool> = s.projection.iter().map(|p| p[0] > 0.0).collect();
    assert!(
        side[0] == side[1]
            && side[1] == side[2]
            && side[3] == side[4]
            && side[4] == side[5]
            && side[0] != side[3],
        "{:?}",
        s.projection
    );
    assert!(
        s.duplicates.iter().all(|&(a, b, _)| a / 3 == b / 3),
        "{:?}",
        s.duplicates
    );
    assert_eq!(s.duplicates.len(), 6);
}

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
    }
}

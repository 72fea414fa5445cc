//! The evaluation on synthetic photos (`imaging::testkit`), and its metrics on hand-made
//! vectors: the numbers must be right, and a bad feature vector must fail the targets.

use eval::metrics::{Query, evaluate};
use eval::variants::{Family, brightness, crop, variants};
use eval::{Photo, evaluate_photos, features_of};
use imaging::testkit::synthetic_photo;

fn photos(n: u64) -> Vec<Photo> {
    (0..n)
        .map(|s| Photo {
            name: format!("synthetic-{s}"),
            base: synthetic_photo(320, 240, 500 + s),
        })
        .collect()
}

#[test]
fn current_features_meet_the_targets_on_synthetic_photos() {
    let report =
        evaluate_photos(&photos(10), vectors::DUPLICATE_THRESHOLD, 2, features_of).unwrap();
    println!("{report}");
    assert_eq!(report.photos, 10);
    assert_eq!(report.dims, vectors::DIMS);
    assert_eq!(report.distinct_pairs, 45);
    assert!(report.misses().is_empty(), "{:?}", report.misses());
    for family in [Family::Resize, Family::Recompress, Family::Convert] {
        let row = report.family(family).unwrap();
        assert_eq!(row.recall_at_1, 1.0, "{family:?}");
        assert!(row.min_score >= report.threshold, "{family:?}: {row:?}");
    }
    assert_eq!(report.false_duplicates, 0);
    assert!(report.max_distinct_score < report.threshold);
    // Every family is in the report, flips included (reported, without a target).
    let families: Vec<Family> = report.families.iter().map(|r| r.family).collect();
    assert_eq!(families, Family::ALL);
    assert_eq!(report.family(Family::Flip).unwrap().queries, 10);
    let text = report.to_string();
    assert!(text.contains("| resize | **all** | 40 |"), "{text}");
    assert!(text.contains("targets: all met"), "{text}");
}

#[test]
fn a_useless_feature_vector_fails_every_target() {
    // Every image gets the same vector: all originals tie, so nothing ranks first.
    let constant = |_: &[u8]| Ok(vec![1.0f32, 0.0, 0.0]);
    let report = evaluate_photos(&photos(4), 0.95, 1, constant).unwrap();
    for row in &report.families {
        assert_eq!(row.recall_at_1, 0.0, "{row:?}");
        assert_eq!(row.recall_at_5, 1.0, "4 photos: always in the top 5");
        assert!((row.map - 0.25).abs() < 1e-9, "ranked last of 4: {row:?}");
    }
    assert_eq!(report.false_duplicate_rate(), 1.0);
    let misses = report.misses();
    assert_eq!(misses.len(), 6, "{misses:?}"); // 5 families with a target + false duplicates
    assert!(report.to_string().contains("MISSED"));
}

#[test]
fn metrics_match_hand_computed_ranks() {
    let originals = vec![
        vec![1.0, 0.0, 0.0],
        vec![0.0, 1.0, 0.0],
        vec![0.0, 0.0, 1.0],
    ];
    let q = |family, variant, photo, vector: [f32; 3]| Query {
        family,
        variant,
        photo,
        vector: vector.to_vec(),
    };
    let queries = vec![
        q(Family::Resize, "a", 0, [0.9, 0.1, 0.0]),  // rank 1
        q(Family::Resize, "a", 1, [0.9, 0.5, 0.0]),  // rank 2 (photo 0 first)
        q(Family::Resize, "b", 2, [0.6, 0.7, 0.39]), // rank 3
        q(Family::Crop, "c", 2, [0.0, 0.5, 0.5]),    // tie with photo 1: counts as rank 2
        q(Family::Flip, "f", 0, [-1.0, 0.0, 0.0]),   // last
    ];
    let r = evaluate(&originals, &queries, 0.8);
    let resize = r.family(Family::Resize).unwrap();
    assert_eq!(resize.queries, 3);
    assert!((resize.recall_at_1 - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(resize.recall_at_5, 1.0);
    assert!((resize.map - (1.0 + 0.5 + 1.0 / 3.0) / 3.0).abs() < 1e-9);
    assert!((resize.above_threshold - 1.0 / 3.0).abs() < 1e-9);
    // The lowest own score of the family (query b of photo 2, not the last variant's).
    let want = 0.39 / (0.6f32 * 0.6 + 0.7 * 0.7 + 0.39 * 0.39).sqrt();
    assert!((resize.min_score - want).abs() < 1e-6, "{resize:?}");
    assert_eq!(resize.worst_photo, Some(2));
    assert_eq!(r.variants[0].worst_photo, Some(1)); // variant "a": 0.49 (photo 1) < 0.99

    let crop_row = r.family(Family::Crop).unwrap();
    assert_eq!((crop_row.recall_at_1, crop_row.map), (0.0, 0.5));
    let flip = r.family(Family::Flip).unwrap();
    assert!((flip.map - 1.0 / 3.0).abs() < 1e-9);
    assert!((flip.min_score + 1.0).abs() < 1e-6);
    assert!(r.family(Family::Brightness).is_none());
    // Per-variant rows keep first-seen order within a family.
    let names: Vec<_> = r.variants.iter().map(|v| v.variant.unwrap()).collect();
    assert_eq!(names, ["a", "b", "c", "f"]);
    assert_eq!((r.distinct_pairs, r.false_duplicates), (3, 0));
    assert_eq!(r.max_distinct_score, 0.0);
    assert!(r.misses().iter().any(|m| m.starts_with("resize")));
}

#[test]
fn variants_are_what_they_say() {
    let base = synthetic_photo(200, 100, 7);
    let all = variants(&base).unwrap();
    for family in Family::ALL {
        assert!(all.iter().any(|v| v.family == family), "{family:?}");
    }
    let flips = all.iter().filter(|v| v.family == Family::Flip).count();
    assert_eq!(flips, 1);
    assert!(!Family::Flip.is_same_image());
    // Every variant decodes; resized ones have the right size.
    for v in &all {
        let img = imaging::decode(&v.bytes, &imaging::Limits::default()).unwrap();
        match v.name {
            "x0.25" => assert_eq!((img.width(), img.height()), (50, 25)),
            "x2" => assert_eq!((img.width(), img.height()), (400, 200)),
            _ => {}
        }
    }
    let c = crop(&base, 0.9, 0.9, 1.0, 1.0);
    assert_eq!(c.dimensions(), (180, 90));
    assert_eq!(c.get_pixel(0, 0), base.get_pixel(20, 10));
    let b = brightness(&base, 1.2);
    let p = base.get_pixel(3, 3).0;
    let want = p.map(|v| (f32::from(v) * 1.2).round().min(255.0) as u8);
    assert_eq!(b.get_pixel(3, 3).0, want);
}

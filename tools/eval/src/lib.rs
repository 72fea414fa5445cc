//! # darkroom-eval
//!
//! Measures darkroom's feature vectors (`vectors::extract`) on a folder of photos: every
//! photo's variants (resized, recompressed, converted, cropped, brightness-changed, and
//! flipped) query the gallery of all originals; the report gives recall@1, recall@5 and
//! mAP per variant family, and the false-duplicate rate between distinct photos at the
//! duplicate threshold. Method and numbers: `docs/vectors.md`.
//!
//! | what | module | entry points |
//! |---|---|---|
//! | the photo set: load a folder, shrink to a base photo | here | [`load_photos`], [`Photo`], [`PhotoSet`] |
//! | variants of a photo | `variants` | [`variants::variants`], [`variants::Family`] |
//! | features as the service computes them | here | [`features_of`], [`DECODE_SIDE`] |
//! | the whole run | here | [`evaluate_photos`] |
//! | metrics and the report | `metrics`, `report` | [`metrics::evaluate`], [`metrics::Report`] (`Display` prints the tables) |
//!
//! ```
//! let photos: Vec<eval::Photo> = (0..3)
//!     .map(|i| eval::Photo { name: format!("p{i}"), base: image::RgbImage::from_fn(96, 64, |x, y| {
//!         image::Rgb([(x * 2 + i * 80) as u8, (y * 3) as u8, ((x ^ y) * (i + 1)) as u8])
//!     })})
//!     .collect();
//! let report = eval::evaluate_photos(&photos, 0.95, 1, eval::features_of)?;
//! assert_eq!(report.photos, 3);
//! println!("{report}");
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod metrics;
mod report;
pub mod variants;

use std::path::Path;

use anyhow::{Context, Result};
use image::RgbImage;
use imaging::Limits;

use crate::metrics::{Query, Report};

/// The box the `vectorize` component decodes uploads at before extracting features:
/// JPEGs are shrunk on load, so the evaluation must do the same.
pub use vectors::DECODE_SIDE;

/// Features of an encoded image, computed as the `vectorize` component computes them.
pub fn features_of(bytes: &[u8]) -> Result<Vec<f32>> {
    let img = imaging::decode_at_least(bytes, &Limits::default(), DECODE_SIDE, DECODE_SIDE)?;
    Ok(vectors::extract(&img).vector)
}

/// One photo of the set, already shrunk to its base size.
#[derive(Debug, Clone)]
pub struct Photo {
    /// File name, for the report.
    pub name: String,
    pub base: RgbImage,
}

/// Loads every image in `dir` (sniffed by content; other files are skipped), sorted by
/// name, each shrunk to at most `max_side` on its long side (see [`variants::base_photo`]).
/// At most `limit` photos when given.
pub fn load_photos(dir: &Path, max_side: u32, limit: Option<usize>) -> Result<PhotoSet> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut photos = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if limit.is_some_and(|n| photos.len() >= n) {
            break;
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if imaging::sniff(&bytes).is_none() {
            skipped.push((name, "not an image".into()));
            continue;
        }
        let decoded = imaging::decode_at_least(&bytes, &Limits::default(), max_side, max_side);
        match decoded
            .map_err(anyhow::Error::from)
            .and_then(|img| variants::base_photo(&img, max_side))
        {
            Ok(base) => photos.push(Photo { name, base }),
            Err(e) => skipped.push((name, format!("{e:#}"))),
        }
    }
    Ok(PhotoSet { photos, skipped })
}

/// What [`load_photos`] found.
#[derive(Debug, Clone)]
pub struct PhotoSet {
    pub photos: Vec<Photo>,
    /// Files that are not usable images: `(file name, why)`.
    pub skipped: Vec<(String, String)>,
}

/// One photo's original features and its variants as queries.
type Evaluated = (Vec<f32>, Vec<Query>);

/// Makes every photo's original and variants, extracts their features with `features`
/// (normally [`features_of`]) on `jobs` threads, and scores them at `threshold`.
pub fn evaluate_photos<F>(
    photos: &[Photo],
    threshold: f32,
    jobs: usize,
    features: F,
) -> Result<Report>
where
    F: Fn(&[u8]) -> Result<Vec<f32>> + Sync,
{
    let one = |index: usize| -> Result<Evaluated> {
        let photo = &photos[index];
        let ctx = || format!("photo {}", photo.name);
        let original =
            features(&variants::original(&photo.base).with_context(ctx)?).with_context(ctx)?;
        let mut queries = Vec::new();
        for v in variants::variants(&photo.base).with_context(ctx)? {
            let vector = features(&v.bytes)
                .with_context(|| format!("{}, {} {}", photo.name, v.family.name(), v.name))?;
            queries.push(Query {
                family: v.family,
                variant: v.name,
                photo: index,
                vector,
            });
        }
        Ok((original, queries))
    };
    let jobs = jobs.clamp(1, photos.len().max(1));
    let mut results: Vec<Option<Result<Evaluated>>> = (0..photos.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let one = &one;
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                s.spawn(move || {
                    (j..photos.len())
                        .step_by(jobs)
                        .map(|i| (i, one(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("evaluation thread panicked") {
                results[i] = Some(r);
            }
        }
    });
    let mut originals = Vec::with_capacity(photos.len());
    let mut queries = Vec::new();
    for r in results {
        let (o, q) = r.expect("every photo evaluated")?;
        originals.push(o);
        queries.extend(q);
    }
    let mut report = metrics::evaluate(&originals, &queries, threshold);
    report.names = photos.iter().map(|p| p.name.clone()).collect();
    if report.dims == vectors::DIMS {
        let blocks: Vec<_> = vectors::BLOCKS
            .iter()
            .map(|b| (b.name, b.offset, b.dims))
            .collect();
        report.blocks = Some(metrics::block_scores(&originals, &queries, &blocks));
    }
    Ok(report)
}

//! Retrieval metrics: each variant is a query against the gallery of all originals.
//!
//! - recall@k: share of queries whose own original is among the `k` best scores. Ties
//!   count against the query (an original tied with another is not "first").
//! - mAP: with exactly one relevant gallery item per query, average precision is
//!   1 / rank, so mAP is the mean reciprocal rank.
//! - false duplicates: pairs of distinct originals scoring at least the threshold, over
//!   all n(n-1)/2 pairs.

use std::collections::BTreeMap;

use crate::variants::Family;

/// One query: the features of a variant of photo `photo`.
#[derive(Debug, Clone)]
pub struct Query {
    pub family: Family,
    pub variant: &'static str,
    /// Index of its original in the gallery.
    pub photo: usize,
    pub vector: Vec<f32>,
}

/// Metrics over a group of queries (one variant, or one family).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub family: Family,
    /// The variant's label, or `None` for a whole family.
    pub variant: Option<&'static str>,
    pub queries: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub map: f64,
    /// Lowest score of a variant against its own original.
    pub min_score: f32,
    /// Share of queries scoring at least the threshold against their own original.
    pub above_threshold: f64,
    /// The photo (gallery index) of the query with [`Row::min_score`].
    pub worst_photo: Option<usize>,
}

/// Everything the evaluation prints.
#[derive(Debug, Clone)]
pub struct Report {
    pub threshold: f32,
    pub photos: usize,
    /// Photo names by gallery index (empty when unknown).
    pub names: Vec<String>,
    pub dims: usize,
    /// Per family, in [`Family::ALL`] order.
    pub families: Vec<Row>,
    /// Per variant, grouped by family.
    pub variants: Vec<Row>,
    pub distinct_pairs: usize,
    /// Pairs of distinct originals scoring >= threshold.
    pub false_duplicates: usize,
    pub max_distinct_score: f32,
    /// The closest distinct pairs `(a, b, score)`, best first (to spot true duplicates in
    /// the photo set).
    pub closest_pairs: Vec<(usize, usize, f32)>,
    /// `(threshold, false-duplicate rate, share of same-image variants at or above it)` for
    /// thresholds 0.80, 0.81, ..., 0.99: how to choose the duplicate threshold.
    pub sweep: Vec<(f32, f64, f64)>,
    /// Per-block diagnostics (see [`block_scores`]); empty unless filled in.
    pub blocks: Option<BlockScores>,
}

/// How each block of the vector behaves: the mean cosine of the block alone between a
/// variant and its original, per family, and between distinct originals (mean and max).
/// A good block scores high on variants and low on distinct photos.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockScores {
    pub names: Vec<&'static str>,
    /// Per family (in [`Family::ALL`] order, present ones only): mean cosine per block.
    pub variants: Vec<(Family, Vec<f32>)>,
    pub distinct_mean: Vec<f32>,
    pub distinct_max: Vec<f32>,
}

/// Per-block cosines over `blocks` (`(name, offset, dims)`) of the vectors.
pub fn block_scores(
    originals: &[Vec<f32>],
    queries: &[Query],
    blocks: &[(&'static str, usize, usize)],
) -> BlockScores {
    fn slice<'v>(v: &'v [f32], block: (&str, usize, usize)) -> &'v [f32] {
        v.get(block.1..block.1 + block.2).unwrap_or(&[])
    }
    let part = |v, b: usize| slice(v, blocks[b]);
    let nb = blocks.len();
    let variants = Family::ALL
        .iter()
        .filter_map(|&family| {
            let qs: Vec<&Query> = queries.iter().filter(|q| q.family == family).collect();
            (!qs.is_empty()).then(|| {
                let means = (0..nb)
                    .map(|b| {
                        qs.iter()
                            .map(|q| cosine(part(&q.vector, b), part(&originals[q.photo], b)))
                            .sum::<f32>()
                            / qs.len() as f32
                    })
                    .collect();
                (family, means)
            })
        })
        .collect();
    let mut sum = vec![0f32; nb];
    let mut max = vec![f32::NEG_INFINITY; nb];
    let mut pairs = 0usize;
    for a in 0..originals.len() {
        for c in a + 1..originals.len() {
            pairs += 1;
            for b in 0..nb {
                let s = cosine(part(&originals[a], b), part(&originals[c], b));
                sum[b] += s;
                max[b] = max[b].max(s);
            }
        }
    }
    BlockScores {
        names: blocks.iter().map(|b| b.0).collect(),
        variants,
        distinct_mean: sum.iter().map(|s| s / pairs.max(1) as f32).collect(),
        distinct_max: max,
    }
}

impl Report {
    /// False duplicates over all distinct pairs (0 when there are fewer than two photos).
    pub fn false_duplicate_rate(&self) -> f64 {
        ratio(self.false_duplicates, self.distinct_pairs)
    }

    pub fn family(&self, family: Family) -> Option<&Row> {
        self.families.iter().find(|r| r.family == family)
    }

    /// Families below their recall@1 target, and whether false duplicates exceed 1%.
    pub fn misses(&self) -> Vec<String> {
        let mut out = Vec::new();
        for row in &self.families {
            if let Some(target) = row.family.target_recall_at_1()
                && row.recall_at_1 < target
            {
                out.push(format!(
                    "{}: recall@1 {:.3} < {target}",
                    row.family.name(),
                    row.recall_at_1
                ));
            }
        }
        if self.false_duplicate_rate() > 0.01 {
            out.push(format!(
                "false duplicates {:.4} > 0.01 at threshold {}",
                self.false_duplicate_rate(),
                self.threshold
            ));
        }
        out
    }
}

/// Cosine similarity (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let norm = (na * nb).sqrt();
    if norm > 0.0 { dot / norm } else { 0.0 }
}

/// Scores every query against every original and aggregates per variant and family.
pub fn evaluate(originals: &[Vec<f32>], queries: &[Query], threshold: f32) -> Report {
    struct Acc {
        n: usize,
        hit1: usize,
        hit5: usize,
        rr: f64,
        min: f32,
        above: usize,
        worst: Option<usize>,
    }
    impl Acc {
        /// Nothing seen yet: the minimum starts above every score.
        fn empty() -> Self {
            Acc { n: 0, hit1: 0, hit5: 0, rr: 0.0, min: f32::INFINITY, above: 0, worst: None }
        }
    }
    let mut own_scores = Vec::new(); // same-image variants only, for the sweep
    let mut per_variant: BTreeMap<(Family, usize, &'static str), Acc> = BTreeMap::new();
    let mut order: Vec<&'static str> = Vec::new();
    for q in queries {
        let scores: Vec<f32> = originals.iter().map(|o| cosine(&q.vector, o)).collect();
        let own = scores[q.photo];
        // Rank 0 = first. Anything scoring at least as high as the own original (other than
        // it) ranks before it; NaN counts as a miss.
        let rank = if own.is_nan() {
            originals.len()
        } else {
            scores
                .iter()
                .enumerate()
                .filter(|&(i, &s)| i != q.photo && s >= own)
                .count()
        };
        let pos = order
            .iter()
            .position(|v| *v == q.variant)
            .unwrap_or_else(|| {
                order.push(q.variant);
                order.len() - 1
            });
        let acc = per_variant
            .entry((q.family, pos, q.variant))
            .or_insert_with(Acc::empty);
        acc.n += 1;
        acc.hit1 += usize::from(rank == 0);
        acc.hit5 += usize::from(rank < 5);
        acc.rr += 1.0 / (rank as f64 + 1.0);
        let own_or_low = if own.is_nan() { f32::NEG_INFINITY } else { own };
        if own_or_low < acc.min || acc.worst.is_none() {
            acc.min = own_or_low;
            acc.worst = Some(q.photo);
        }
        acc.above += usize::from(own >= threshold);
        if q.family.is_same_image() {
            own_scores.push(own);
        }
    }

    let row = |family, variant, a: &Acc| Row {
        family,
        variant,
        queries: a.n,
        recall_at_1: ratio(a.hit1, a.n),
        recall_at_5: ratio(a.hit5, a.n),
        map: if a.n == 0 { 0.0 } else { a.rr / a.n as f64 },
        min_score: a.min,
        above_threshold: ratio(a.above, a.n),
        worst_photo: a.worst,
    };
    let variants: Vec<Row> = per_variant
        .iter()
        .map(|(&(family, _, name), a)| row(family, Some(name), a))
        .collect();
    let families = Family::ALL
        .iter()
        .filter_map(|&family| {
            let mut total = Acc::empty();
            for (_, a) in per_variant.iter().filter(|((f, _, _), _)| *f == family) {
                total.n += a.n;
                total.hit1 += a.hit1;
                total.hit5 += a.hit5;
                total.rr += a.rr;
                if a.min < total.min || total.worst.is_none() {
                    total.min = a.min;
                    total.worst = a.worst;
                }
                total.above += a.above;
            }
            (total.n > 0).then(|| row(family, None, &total))
        })
        .collect();

    let mut pairs = Vec::new();
    for a in 0..originals.len() {
        for b in a + 1..originals.len() {
            pairs.push((a, b, cosine(&originals[a], &originals[b])));
        }
    }
    let false_duplicates = pairs.iter().filter(|p| p.2 >= threshold).count();
    let sweep = (80..100)
        .map(|t| {
            let t = t as f32 / 100.0;
            let fd = pairs.iter().filter(|p| p.2 >= t).count();
            let above = own_scores.iter().filter(|&&s| s >= t).count();
            (t, ratio(fd, pairs.len()), ratio(above, own_scores.len()))
        })
        .collect();
    pairs.sort_by(|x, y| y.2.total_cmp(&x.2));
    Report {
        threshold,
        photos: originals.len(),
        names: Vec::new(),
        dims: originals.first().map_or(0, Vec::len),
        families,
        variants,
        distinct_pairs: pairs.len(),
        false_duplicates,
        max_distinct_score: pairs.first().map_or(f32::NAN, |p| p.2),
        closest_pairs: pairs.into_iter().take(8).collect(),
        sweep,
        blocks: None,
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

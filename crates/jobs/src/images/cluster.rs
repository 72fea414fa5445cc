//! `cluster`: k-means++ over the stored vectors.
//!
//! Map shards gather their items' vectors into one packed output each (`u32` item index
//! and [`vectors::DIMS`] `f32`s, little-endian, per row), so the reduce reads a few
//! chunked values instead of one key per image. The reduce runs k-means++ seeded with
//! [`SEED`] over every vector, in item order: the same job always gives the same
//! clusters. The job's image count is bounded by `max_cluster_images`, which bounds the
//! reduce's memory (`n × DIMS × 4` bytes) and time (`n × k × DIMS` per iteration, at
//! most [`MAX_ITERATIONS`], for each of [`RESTARTS`] seedings).

use super::vectors_of;
use crate::state::ItemError;
use crate::{Error, Result};
use std::ops::Range;
use store::KeyValue;

/// The k-means++ seed: fixed, so results are deterministic.
pub const SEED: u64 = 0x6461_726b_726f_6f6d;

/// Seedings tried; the best (lowest within-cluster sum of squares) is kept.
pub const RESTARTS: u64 = 4;

/// Lloyd iterations at most (they stop earlier once no assignment changes).
pub const MAX_ITERATIONS: usize = 100;

const ROW_BYTES: usize = 4 + 4 * vectors::DIMS;

/// The packed vectors of items `range`, and the items without a vector.
pub fn gather<K: KeyValue>(
    kv: &K,
    chunk_size: u32,
    ids: &[String],
    range: Range<usize>,
) -> Result<(Vec<u8>, Vec<ItemError>)> {
    let (rows, failed) = vectors_of(kv, chunk_size, ids, range)?;
    let mut out = Vec::with_capacity(rows.len() * ROW_BYTES);
    for (item, v) in rows {
        out.extend_from_slice(&(item as u32).to_le_bytes());
        out.extend_from_slice(&vectors::to_le_bytes(&v));
    }
    Ok((out, failed))
}

/// Appends the rows of one packed output to `items` and `points`.
pub fn unpack(bytes: &[u8], items: &mut Vec<usize>, points: &mut Vec<Vec<f32>>) -> Result<()> {
    if !bytes.len().is_multiple_of(ROW_BYTES) {
        return Err(Error::Corrupt(
            "a cluster shard output is not whole rows".into(),
        ));
    }
    for row in bytes.chunks(ROW_BYTES) {
        let (index, v) = row.split_at(4);
        items.push(u32::from_le_bytes(index.try_into().expect("4 bytes")) as usize);
        points.push(vectors::from_le_bytes(v).map_err(|e| Error::corrupt("cluster row", e))?);
    }
    Ok(())
}

/// One cluster: its members (indices into the points, ascending) and the member
/// nearest its centroid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub members: Vec<usize>,
    pub nearest: usize,
}

/// Greedy k-means++ (Arthur & Vassilvitskii; several candidates per centre, as
/// scikit-learn) seeded with `seed`, then Lloyd's iterations until no point changes
/// cluster, an emptied cluster taking the point farthest from its centroid; the best of
/// [`RESTARTS`] seedings. Ties go to the lower index everywhere, so the result is a
/// function of the input. `k` is capped at the number of points; clusters left empty are
/// dropped. Clusters come largest first, then by first member.
pub fn kmeans(points: &[Vec<f32>], k: usize, seed: u64) -> Vec<Cluster> {
    let k = k.min(points.len());
    if k == 0 {
        return Vec::new();
    }
    // Several seedings, the lowest within-cluster sum of squares kept (scikit-learn's
    // n_init): one seeding can still end in a local optimum that merges two groups.
    let mut best: Option<(f64, Vec<usize>, Vec<Vec<f64>>)> = None;
    for restart in 0..RESTARTS {
        let (assign, centroids) = lloyd(points, k, seed.wrapping_add(restart));
        let inertia: f64 = assign
            .iter()
            .zip(points)
            .map(|(&a, p)| d2(p, &centroids[a]))
            .sum();
        if best.as_ref().is_none_or(|(b, _, _)| inertia < *b) {
            best = Some((inertia, assign, centroids));
        }
    }
    let (_, assign, centroids) = best.expect("at least one restart");
    let n = points.len();
    let mut clusters: Vec<Cluster> = (0..k)
        .filter_map(|c| {
            let members: Vec<usize> = (0..n).filter(|&i| assign[i] == c).collect();
            let nearest = *members.iter().min_by(|&&a, &&b| {
                d2(&points[a], &centroids[c])
                    .total_cmp(&d2(&points[b], &centroids[c]))
                    .then(a.cmp(&b))
            })?;
            Some(Cluster { members, nearest })
        })
        .collect();
    clusters.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].cmp(&b.members[0]))
    });
    clusters
}

/// One seeding (greedy k-means++ from `seed`) and Lloyd's iterations: the assignment
/// and the centroids.
fn lloyd(points: &[Vec<f32>], k: usize, seed: u64) -> (Vec<usize>, Vec<Vec<f64>>) {
    let n = points.len();
    let mut rng = SplitMix(seed);
    let mut centroids: Vec<Vec<f64>> = Vec::with_capacity(k);
    let first = (rng.next() % n as u64) as usize;
    centroids.push(to_f64(&points[first]));
    let mut nearest_d2: Vec<f64> = points.iter().map(|p| d2(p, &centroids[0])).collect();
    // Greedy k-means++ (as scikit-learn): of 2 + ln k candidates drawn by D², keep the
    // one that lowers the total D² most, so a seed rarely lands twice in one group.
    let trials = 2 + (k as f64).ln() as usize;
    while centroids.len() < k {
        let total: f64 = nearest_d2.iter().sum();
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let pick = if total > 0.0 {
                draw(&nearest_d2, rng.unit() * total)
            } else {
                (rng.next() % n as u64) as usize
            };
            let c = to_f64(&points[pick]);
            let potential: f64 = nearest_d2
                .iter()
                .zip(points)
                .map(|(d, p)| d.min(d2(p, &c)))
                .sum();
            if best.as_ref().is_none_or(|(b, _, _)| potential < *b) {
                best = Some((potential, pick, c));
            }
        }
        let (_, _, c) = best.expect("at least two trials");
        for (d, p) in nearest_d2.iter_mut().zip(points) {
            *d = d.min(d2(p, &c));
        }
        centroids.push(c);
    }
    let mut assign = vec![usize::MAX; n];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (a, p) in assign.iter_mut().zip(points) {
            let best = closest(p, &centroids);
            if *a != best {
                *a = best;
                changed = true;
            }
        }
        // An empty cluster takes the point farthest from its centroid (scikit-learn's
        // relocation), so k clusters stay k while there are k distinct points.
        let mut counts = vec![0usize; k];
        assign.iter().for_each(|&a| counts[a] += 1);
        let empties: Vec<usize> = (0..k).filter(|&c| counts[c] == 0).collect();
        for empty in empties {
            let far = (0..n)
                .filter(|&i| counts[assign[i]] > 1)
                .map(|i| (d2(&points[i], &centroids[assign[i]]), i))
                .filter(|(d, _)| *d > 0.0)
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            if let Some((_, i)) = far {
                counts[assign[i]] -= 1;
                counts[empty] = 1;
                assign[i] = empty;
                centroids[empty] = to_f64(&points[i]);
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let dims = centroids[0].len();
        let mut sums = vec![vec![0.0f64; dims]; k];
        let mut counts = vec![0usize; k];
        for (&a, p) in assign.iter().zip(points) {
            counts[a] += 1;
            for (s, x) in sums[a].iter_mut().zip(p) {
                *s += f64::from(*x);
            }
        }
        for ((c, s), &m) in centroids.iter_mut().zip(sums).zip(&counts) {
            if m > 0 {
                *c = s.into_iter().map(|v| v / m as f64).collect();
            }
        }
    }
    (assign, centroids)
}

/// The index where the running sum of `weights` passes `target` (skipping zero weights).
fn draw(weights: &[f64], target: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if acc > target && *w > 0.0 {
            return i;
        }
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

fn to_f64(p: &[f32]) -> Vec<f64> {
    p.iter().map(|&x| f64::from(x)).collect()
}

fn d2(p: &[f32], c: &[f64]) -> f64 {
    p.iter()
        .zip(c)
        .map(|(&x, &y)| (f64::from(x) - y).powi(2))
        .sum()
}

fn closest(p: &[f32], centroids: &[Vec<f64>]) -> usize {
    let mut best = (f64::INFINITY, 0);
    for (i, c) in centroids.iter().enumerate() {
        let d = d2(p, c);
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

/// SplitMix64: a seeded, portable stream (no platform randomness in a result).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{near, random_unit};

    /// `groups` synthetic clusters of `per` points each around random centres, the
    /// points interleaved (point i belongs to group i % groups).
    fn synthetic(groups: usize, per: usize, noise: f32) -> Vec<Vec<f32>> {
        synthetic_from(1000, groups, per, noise)
    }

    fn synthetic_from(base: u64, groups: usize, per: usize, noise: f32) -> Vec<Vec<f32>> {
        let centres: Vec<Vec<f32>> = (0..groups).map(|g| random_unit(base + g as u64)).collect();
        (0..groups * per)
            .map(|i| near(&centres[i % groups], noise, i as u64))
            .collect()
    }

    #[test]
    fn kmeans_recovers_synthetic_clusters() {
        let points = synthetic(4, 25, 0.3);
        let clusters = kmeans(&points, 4, SEED);
        assert_eq!(clusters.len(), 4);
        for c in &clusters {
            assert_eq!(c.members.len(), 25, "{c:?}");
            let g = c.members[0] % 4;
            assert!(
                c.members.iter().all(|m| m % 4 == g),
                "a cluster mixes groups: {c:?}"
            );
            assert!(c.members.contains(&c.nearest));
        }
        // Ordered by first member when sizes tie.
        let firsts: Vec<usize> = clusters.iter().map(|c| c.members[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 3]);
        // Other data sets, other group counts: every group found whole.
        for base in (0..40).map(|b| 500 + 97 * b) {
            for groups in [2, 3, 5] {
                let points = synthetic_from(base, groups, 10, 0.3);
                let got = kmeans(&points, groups, SEED);
                let want: Vec<Vec<usize>> = (0..groups)
                    .map(|g| (g..groups * 10).step_by(groups).collect())
                    .collect();
                assert_eq!(
                    got.iter().map(|c| c.members.clone()).collect::<Vec<_>>(),
                    want,
                    "base {base}, {groups} groups"
                );
            }
        }
    }

    #[test]
    fn kmeans_is_deterministic_and_bounded() {
        let points = synthetic(3, 30, 0.8);
        let a = kmeans(&points, 5, SEED);
        assert_eq!(a, kmeans(&points, 5, SEED));
        let members: usize = a.iter().map(|c| c.members.len()).sum();
        assert_eq!(members, 90);
        // k over n: one cluster per point; identical points: one cluster holds them all.
        assert_eq!(kmeans(&points[..2], 5, SEED).len(), 2);
        let same = vec![points[0].clone(); 6];
        let c = kmeans(&same, 3, SEED);
        assert_eq!(c.iter().map(|c| c.members.len()).sum::<usize>(), 6);
        assert_eq!(c[0].members, vec![0, 1, 2, 3, 4, 5]);
        assert!(kmeans(&[], 3, SEED).is_empty());
    }

    #[test]
    fn the_nearest_member_is_nearest_the_centroid() {
        // One cluster of three points on a line: the middle one is nearest the mean.
        let mut a = vec![0.0f32; vectors::DIMS];
        let (mut b, mut c) = (a.clone(), a.clone());
        a[0] = 1.0;
        b[0] = 2.0;
        c[0] = 3.5;
        let got = kmeans(&[a, c, b], 1, SEED);
        assert_eq!(
            got,
            vec![Cluster {
                members: vec![0, 1, 2],
                nearest: 2
            }]
        );
    }
}

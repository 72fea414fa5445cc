//! `dedupe`: near-duplicate groups by cosine similarity of the stored vectors.
//!
//! Map shard `i` owns items `[a, b)` and finds every edge `(x, y)` with `x` in its range,
//! `y > x` and cosine at least the threshold, reading the other vectors in blocks of
//! [`BLOCK`] (so a shard holds its own vectors plus one block, whatever the job's size).
//! Each pair is scored by exactly one shard. The reduce joins the edges with union-find;
//! groups are sorted, so the output is the same however the shards ran.

use super::vectors_of;
use crate::Result;
use crate::state::ItemError;
use std::ops::Range;
use store::KeyValue;

/// Pairs of item indices `(x, y)`, `x < y`, whose vectors are near-duplicates.
pub type Edges = Vec<(u32, u32)>;

/// Vectors read at a time when scanning the later items (~430 KB of f32s).
pub const BLOCK: usize = 512;

/// The edges from items `range` of `ids` to every later item, and the items of `range`
/// without a vector of the current feature version.
pub fn edges<K: KeyValue>(
    kv: &K,
    chunk_size: u32,
    ids: &[String],
    range: Range<usize>,
    threshold: f32,
) -> Result<(Edges, Vec<ItemError>)> {
    let (own, failed) = vectors_of(kv, chunk_size, ids, range.clone())?;
    let mut edges = Vec::new();
    let mut start = range.start + 1;
    while start < ids.len() {
        let end = (start + BLOCK).min(ids.len());
        let (block, _) = vectors_of(kv, chunk_size, ids, start..end)?;
        for (x, a) in &own {
            for (y, b) in block.iter().filter(|(y, _)| y > x) {
                if cosine(a, b) >= threshold {
                    edges.push((*x as u32, *y as u32));
                }
            }
        }
        start = end;
    }
    edges.sort_unstable();
    Ok((edges, failed))
}

/// Cosine similarity (the stored vectors are unit length already; this does not assume it).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (ab, aa, bb) = (vectors::dot(a, b), vectors::dot(a, a), vectors::dot(b, b));
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    ab / (aa.sqrt() * bb.sqrt())
}

/// Groups of `n` items joined by `edges` (union-find with path halving): each group's
/// indices ascending, groups ordered by their first index, singletons left out.
pub fn groups(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(a, b) in edges {
        let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
        if ra != rb {
            // The smaller index is the root, so roots are the groups' first members.
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for x in 0..n {
        let r = find(&mut parent, x);
        by_root.entry(r).or_default().push(x);
    }
    by_root.into_values().filter(|g| g.len() > 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{near, random_unit, store_images, store_vector};
    use store::MemoryKv;

    #[test]
    fn union_find_joins_transitively_and_orders_groups() {
        assert_eq!(
            groups(7, &[(5, 6), (1, 3), (3, 4), (0, 6)]),
            vec![vec![0, 5, 6], vec![1, 3, 4]]
        );
        assert_eq!(groups(3, &[]), Vec::<Vec<usize>>::new());
        // The order edges come in does not matter.
        assert_eq!(
            groups(7, &[(0, 6), (3, 4), (5, 6), (1, 3)]),
            groups(7, &[(5, 6), (1, 3), (3, 4), (0, 6)])
        );
    }

    #[test]
    fn shards_find_each_edge_once_across_blocks() {
        let kv = MemoryKv::new();
        let n = BLOCK + 40;
        let ids = store_images(&kv, n, 0);
        // Pairs (i, i + BLOCK) for i < 40 are near-duplicates (cosine ~0.995); every
        // other pair is two random directions (cosine ~0 +- 0.07).
        for (i, id) in ids.iter().enumerate() {
            let centre = if i >= BLOCK { i - BLOCK } else { i };
            if i % 7 == 3 {
                continue; // no vector: reported by the shard that owns it
            }
            store_vector(&kv, id, &near(&random_unit(centre as u64), 0.1, i as u64));
        }
        let mut all = Vec::new();
        let mut failed = Vec::new();
        for start in (0..n).step_by(64) {
            let (e, f) = edges(&kv, 1000, &ids, start..(start + 64).min(n), 0.9).unwrap();
            all.extend(e);
            failed.extend(f);
        }
        let mut want: Vec<(u32, u32)> = (0..40)
            .filter(|i| i % 7 != 3 && (i + BLOCK) % 7 != 3)
            .map(|i| (i as u32, (i + BLOCK) as u32))
            .collect();
        want.sort_unstable();
        all.sort_unstable();
        assert_eq!(all, want);
        assert_eq!(failed.len(), (0..n).filter(|i| i % 7 == 3).count());
        assert!(
            failed
                .iter()
                .all(|f| f.status == 422 && f.id == ids[f.item as usize])
        );
    }
}

//! Vector segments: scans equal a brute force over the loose vectors, whatever mix of
//! segments, deletes, vanished segments, stale versions and racing compactions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::util::{
    DIMS, Finished, V, add_image, brute_force, bytes, rows_as_f32, small_store, spawn_uploaders,
    unit,
};
use store::segments::{CompactionPolicy, RawId, Rows, hex_id, raw_id};
use store::{BlobKind, KeyValue, Store, content_id};

/// Every live vector a scan yields, deduped (duplicates must agree).
fn scan<K: KeyValue>(store: &Store<K>) -> BTreeMap<RawId, Vec<f32>> {
    let snap = store.vector_snapshot().unwrap();
    let mut out = BTreeMap::new();
    store
        .scan_vectors(&snap, V, DIMS, |ids, rows| {
            for (id, row) in rows_as_f32(store, ids, rows) {
                if snap.is_live(&id)
                    && let Some(prev) = out.insert(id, row.clone())
                {
                    assert_eq!(prev, row, "duplicate rows of {} differ", hex_id(&id));
                }
            }
        })
        .unwrap();
    out
}

fn compact<K: KeyValue>(
    store: &Store<K>,
    min_loose: usize,
    max_rows: usize,
) -> store::segments::CompactionReport {
    let snap = store.vector_snapshot().unwrap();
    store
        .compact_vectors(
            &snap,
            V,
            DIMS,
            CompactionPolicy {
                min_loose,
                max_rows,
            },
        )
        .unwrap()
}

fn segment_count<K: KeyValue>(store: &Store<K>) -> usize {
    store.vector_snapshot().unwrap().segments().len()
}

#[test]
fn scan_equals_brute_force_loose_and_packed() {
    let store = small_store();
    for seed in 0..30 {
        add_image(&store, seed);
    }
    assert_eq!(scan(&store), brute_force(&store));
    assert_eq!(
        compact(&store, 31, 100),
        Default::default(),
        "under the threshold"
    );

    let report = compact(&store, 10, 100);
    assert_eq!(report.rows, 30);
    assert_eq!(segment_count(&store), 1);
    for seed in 30..45 {
        add_image(&store, seed);
    }
    let snap = store.vector_snapshot().unwrap();
    let stats = store.scan_vectors(&snap, V, DIMS, |_, _| {}).unwrap().stats;
    assert_eq!(
        (stats.segments, stats.segment_rows, stats.loose),
        (1, 30, 15)
    );
    assert_eq!(scan(&store), brute_force(&store));

    // The next compaction merges the small segment with the new loose vectors.
    let report = compact(&store, 10, 100);
    assert_eq!(report.rows, 45);
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(segment_count(&store), 1);
    assert_eq!(scan(&store), brute_force(&store));
    // A full-size cap splits: max 20 rows per segment.
    for seed in 45..90 {
        add_image(&store, seed);
    }
    while compact(&store, 1, 20).written.is_some() {}
    let snap = store.vector_snapshot().unwrap();
    let stats = store.scan_vectors(&snap, V, DIMS, |_, _| {}).unwrap().stats;
    assert_eq!(stats.loose, 0, "{stats:?}");
    assert_eq!(scan(&store), brute_force(&store));
    assert_eq!(scan(&store).len(), 90);
}

#[test]
fn deleted_images_drop_out_of_segments() {
    let store = small_store();
    let ids: Vec<RawId> = (0..40).map(|s| add_image(&store, s)).collect();
    compact(&store, 1, 100);
    for id in ids.iter().step_by(3) {
        assert!(store.delete_image(&hex_id(id)).unwrap());
    }
    let got = scan(&store);
    assert_eq!(got, brute_force(&store));
    assert_eq!(got.len(), 40 - 14);
    assert!(ids.iter().step_by(3).all(|id| !got.contains_key(id)));
    // Image delete leaves segments alone; a compaction of a mostly-dead segment drops the rows.
    assert_eq!(segment_count(&store), 1);
    for id in ids.iter().skip(1).step_by(3) {
        store.delete_image(&hex_id(id)).unwrap();
    }
    let report = compact(&store, 100, 100);
    assert_eq!(report.rows, 40 - 27, "{report:?}");
    assert_eq!(scan(&store), brute_force(&store));
    // Deleting everything, then uploading again: no stale row survives.
    for id in &ids {
        store.delete_image(&hex_id(id)).unwrap();
    }
    assert!(scan(&store).is_empty());
    add_image(&store, 0);
    assert_eq!(scan(&store).len(), 1);
}

#[test]
fn a_segment_vanishing_after_the_listing_falls_back_to_loose_vectors() {
    let store = small_store();
    for seed in 0..25 {
        add_image(&store, seed);
    }
    let written = compact(&store, 1, 100).written.unwrap();
    let want = brute_force(&store);

    // Listed, then deleted before the read (manifest and chunks).
    let snap = store.vector_snapshot().unwrap();
    let (_, chunks) = store
        .read_segment(&written, &mut Default::default(), false)
        .unwrap()
        .unwrap();
    assert!(chunks > 1);
    store.delete_segment(&written, chunks).unwrap();
    let mut got = BTreeMap::new();
    let stats = store
        .scan_vectors(&snap, V, DIMS, |ids, rows| {
            got.extend(rows_as_f32(&store, ids, rows))
        })
        .unwrap()
        .stats;
    assert_eq!((stats.skipped_segments, stats.loose), (1, 25));
    assert_eq!(got, want);

    // Half-deleted: the manifest is still there but a chunk is gone.
    let written = compact(&store, 1, 100).written.unwrap();
    store
        .kv()
        .delete(&store::keys::segment_chunk(&written, 1).unwrap())
        .unwrap();
    assert_eq!(scan(&store), want);
    // The next compaction replaces the broken segment.
    let report = compact(&store, 1, 100);
    assert_eq!(
        report.written.as_deref(),
        Some(written.as_str()),
        "same rows, same name"
    );
    assert_eq!(scan(&store), want);
    let snap = store.vector_snapshot().unwrap();
    assert_eq!(
        store
            .scan_vectors(&snap, V, DIMS, |_, _| {})
            .unwrap()
            .stats
            .loose,
        0
    );
}

#[test]
fn rows_of_another_feature_version_are_ignored() {
    let store = small_store();
    let ids: Vec<RawId> = (0..12).map(|s| add_image(&store, s)).collect();
    // A segment of version 1 claiming other vectors for the same ids.
    let junk = vec![9.0f32; DIMS];
    let rows: Vec<(RawId, &[f32])> = {
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.into_iter().map(|id| (id, junk.as_slice())).collect()
    };
    let stale = store
        .put_segment(&store::segments::format::encode_exact(1, DIMS, &rows))
        .unwrap();
    // And a loose vector of version 1 for a new image.
    let old = bytes(40, 500);
    let old_id = content_id(&old);
    store
        .put_blob(&old_id, BlobKind::Original, &old, "image/png")
        .unwrap();
    let v: Vec<u8> = unit(500).iter().flat_map(|x| x.to_le_bytes()).collect();
    store
        .put_blob(&old_id, BlobKind::Vector, &v, "application/octet-stream")
        .unwrap();

    let got = scan(&store);
    assert_eq!(got.len(), 12);
    assert!(got.values().all(|row| row != &junk));
    assert!(!got.contains_key(&raw_id(&old_id).unwrap()));
    // Compaction deletes the stale segment and packs only version-2 rows.
    let report = compact(&store, 1, 100);
    assert!(report.deleted.contains(&stale));
    assert_eq!(report.rows, 12);
    assert_eq!(scan(&store), got);
}

/// Segments written before sketches (f32 rows) are still read, exactly, and the next
/// compaction rewrites them as sketches.
#[test]
fn segments_of_f32_rows_are_read_and_rewritten_as_sketches() {
    let store = small_store();
    let mut ids: Vec<RawId> = (0..30).map(|s| add_image(&store, s)).collect();
    ids.sort();
    let truth = brute_force(&store);
    let rows: Vec<(RawId, &[f32])> = ids.iter().map(|id| (*id, truth[id].as_slice())).collect();
    let old = store
        .put_segment(&store::segments::format::encode_exact(V, DIMS, &rows))
        .unwrap();
    let snap = store.vector_snapshot().unwrap();
    let mut exact_rows = 0;
    let stats = store
        .scan_vectors(&snap, V, DIMS, |ids, rows| {
            assert!(matches!(rows, Rows::Exact(_)));
            exact_rows += ids.len();
        })
        .unwrap()
        .stats;
    assert_eq!((stats.segments, stats.loose, exact_rows), (1, 0, 30));
    assert_eq!(scan(&store), truth);

    // Not small (max 30 rows) and not dead, but f32: rewritten.
    let report = compact(&store, 100, 30);
    assert_eq!(report.deleted, vec![old]);
    assert_eq!(report.rows, 30);
    let snap = store.vector_snapshot().unwrap();
    store
        .scan_vectors(&snap, V, DIMS, |_, rows| {
            assert!(matches!(rows, Rows::Sketch(_)))
        })
        .unwrap();
    assert_eq!(scan(&store), truth);
    assert_eq!(
        compact(&store, 100, 30),
        Default::default(),
        "nothing left to do"
    );
}

#[test]
fn concurrent_uploads_deletes_compactions_and_readers_agree() {
    let store = small_store();
    let finished = Finished::default();
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        spawn_uploaders(s, &store, &finished, 60);
        for _ in 0..2 {
            let (store, stop) = (&store, stop.clone());
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    compact(store, 5, 40);
                }
            });
        }
        let (store, finished, stop) = (&store, finished.clone(), stop.clone());
        s.spawn(move || {
            for _ in 0..40 {
                // Everything finished before the listing must be found.
                let (before, _) = finished.now();
                let got = scan(store);
                for id in &before {
                    assert_eq!(
                        got.get(id),
                        Some(&unit_of(store, id)),
                        "lost {}",
                        hex_id(id)
                    );
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
    let got = scan(&store);
    assert_eq!(got, brute_force(&store));
    assert_eq!(got.len(), 180);
    assert!(finished.now().1.iter().all(|id| !got.contains_key(id)));
    // Settled: compaction packs everything.
    while compact(&store, 1, 40).written.is_some() {}
    assert_eq!(scan(&store), got);
}

fn unit_of<K: KeyValue>(store: &Store<K>, id: &RawId) -> Vec<f32> {
    store.loose_vector(id).unwrap().unwrap().1
}

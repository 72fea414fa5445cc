//! The vector catalog: a search after a listing leaves one, the next search uses it
//! without listing, and every change to the vectors (upload, delete, a segment deleted
//! by a compaction, a delete interrupted half-way) sends the next search back to a
//! listing, so answers always equal a brute force over the loose vectors.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::util::{
    DIMS, Finished, V, add_image, brute_force, bytes, rows_as_f32, small_store, spawn_uploaders,
};
use store::segments::{CompactionPolicy, RawId, SearchReport, Segment, Settled, View, hex_id};
use store::{BlobKind, KeyValue, Store, content_id, keys};

const POLICY: CompactionPolicy = CompactionPolicy {
    min_loose: 10,
    max_rows: 40,
};

/// A search as the vectorize component runs it, collecting every live row.
fn search<K: KeyValue>(store: &Store<K>) -> (BTreeMap<RawId, Vec<f32>>, SearchReport) {
    store
        .search_vectors(
            V,
            DIMS,
            Some(POLICY),
            BTreeMap::new,
            |out, snap, ids, rows| {
                for (id, row) in rows_as_f32(store, ids, rows) {
                    if snap.is_live(&id)
                        && let Some(prev) = out.insert(id, row.clone())
                    {
                        assert_eq!(prev, row, "duplicate rows of {} differ", hex_id(&id));
                    }
                }
            },
            |out, _| {
                Ok(Settled {
                    winners: out.keys().copied().collect(),
                    answer: out,
                    complete: true,
                })
            },
        )
        .unwrap()
}

#[test]
fn a_listing_leaves_a_catalog_the_next_search_uses_without_listing() {
    let store = small_store();
    for seed in 0..25 {
        add_image(&store, seed);
    }
    let (got, report) = search(&store);
    assert_eq!(report.view, View::Listing);
    assert_eq!(report.stats.loose, 25, "{report:?}");
    assert_eq!(got, brute_force(&store));
    // It compacted (25 >= 10 loose), and the catalog knows the new segment.
    let catalog = store.catalog().unwrap().expect("a catalog was stored");
    assert_eq!(catalog.segments.len(), 1);
    assert!(catalog.loose.is_empty(), "{catalog:?}");

    let before = store.kv().listings();
    for _ in 0..3 {
        let (again, report) = search(&store);
        assert_eq!(report.view, View::Catalog);
        assert_eq!((report.stats.segments, report.stats.loose), (1, 0));
        assert_eq!(again, got);
    }
    assert_eq!(store.kv().listings(), before, "no search listed the keys");
}

/// A bulk upload leaves more loose vectors than one compaction packs (40 here): the
/// catalog searches that follow pack the rest without listing, and stop writing once
/// nothing is left.
#[test]
fn catalog_searches_pack_what_the_listing_search_left_loose() {
    let store = small_store();
    for seed in 0..100 {
        add_image(&store, seed);
    }
    let want = brute_force(&store);
    let (got, report) = search(&store);
    assert_eq!(
        (report.view, report.stats.loose, got.len()),
        (View::Listing, 100, 100)
    );
    let listings = store.kv().listings();
    let mut loose = Vec::new();
    for _ in 0..4 {
        let (got, report) = search(&store);
        assert_eq!(report.view, View::Catalog);
        assert_eq!(got, want);
        loose.push(report.stats.loose);
    }
    assert_eq!(loose, vec![60, 20, 0, 0]);
    assert_eq!(store.kv().listings(), listings, "no search listed the keys");
    let catalog = store.catalog().unwrap().unwrap();
    assert!(catalog.loose.is_empty());
    assert_eq!(catalog.segments.len(), 3);
    // Nothing left to pack: a catalog search writes nothing.
    let writes = store.kv().writes();
    search(&store);
    assert_eq!(store.kv().writes(), writes);
}

#[test]
fn uploads_and_deletes_make_the_next_search_list() {
    let store = small_store();
    let ids: Vec<RawId> = (0..12).map(|s| add_image(&store, s)).collect();
    search(&store);
    assert_eq!(search(&store).1.view, View::Catalog);

    // An upload: listed again, and found.
    let new = add_image(&store, 100);
    let (got, report) = search(&store);
    assert_eq!(report.view, View::Listing);
    assert!(got.contains_key(&new));
    assert_eq!(got, brute_force(&store));
    assert_eq!(search(&store).1.view, View::Catalog);

    // A delete: listed again, and gone, though its row is still in a segment.
    assert!(store.delete_image(&hex_id(&ids[3])).unwrap());
    let (got, report) = search(&store);
    assert_eq!(report.view, View::Listing);
    assert!(!got.contains_key(&ids[3]));
    assert_eq!(got, brute_force(&store));
    // The next catalog records the dead row, so a catalog search drops it too.
    let (again, report) = search(&store);
    assert_eq!(report.view, View::Catalog);
    assert_eq!(again, got);
    let catalog = store.catalog().unwrap().unwrap();
    let still_packed = catalog.segments.iter().any(|hash| {
        let mut segment = Segment::default();
        store
            .read_segment(hash, &mut segment, true)
            .unwrap()
            .is_some()
            && segment.ids().contains(&ids[3])
    });
    assert!(
        still_packed,
        "no compaction ran, so the row is still in its segment"
    );
    assert!(catalog.dead.contains(&ids[3]), "{catalog:?}");

    // Deleting an image that has no vector does not invalidate it.
    let plain = bytes(40, 999);
    let plain_id = content_id(&plain);
    store
        .put_blob(&plain_id, BlobKind::Original, &plain, "image/png")
        .unwrap();
    assert!(store.delete_image(&plain_id).unwrap());
    assert_eq!(search(&store).1.view, View::Catalog);
}

#[test]
fn a_catalog_naming_a_vanished_segment_falls_back_to_a_listing() {
    let store = small_store();
    for seed in 0..20 {
        add_image(&store, seed);
    }
    let (want, _) = search(&store);
    let catalog = store.catalog().unwrap().unwrap();
    let hash = &catalog.segments[0];
    let (_, chunks) = store
        .read_segment(hash, &mut Default::default(), true)
        .unwrap()
        .unwrap();
    // A racing compaction deleted it (its rows are in the loose vectors).
    store.delete_segment(hash, chunks).unwrap();
    let (got, report) = search(&store);
    assert_eq!(report.view, View::CatalogThenListing);
    assert_eq!(got, want);
    assert_eq!(search(&store).1.view, View::Catalog);
}

#[test]
fn a_delete_interrupted_before_it_marked_the_catalog_is_caught() {
    let store = small_store();
    let ids: Vec<RawId> = (0..15).map(|s| add_image(&store, s)).collect();
    search(&store);
    // The delete removed the record (its first key) and then failed: no new marker.
    store
        .kv()
        .delete(&keys::record(&hex_id(&ids[5])).unwrap())
        .unwrap();
    let (got, report) = search(&store);
    assert_eq!(report.view, View::CatalogThenListing);
    assert!(!got.contains_key(&ids[5]));
    assert_eq!(got, brute_force(&store));
}

#[test]
fn a_catalog_is_only_used_for_its_own_feature_version_and_length() {
    let store = small_store();
    for seed in 0..12 {
        add_image(&store, seed);
    }
    search(&store);
    assert!(store.vector_view(V, DIMS).unwrap().from_catalog());
    assert!(!store.vector_view(V + 1, DIMS).unwrap().from_catalog());
    assert!(!store.vector_view(V, DIMS + 1).unwrap().from_catalog());
    // A damaged catalog is ignored, not an error.
    store.kv().set(keys::VECTOR_CATALOG, b"DRVC junk").unwrap();
    assert!(!store.vector_view(V, DIMS).unwrap().from_catalog());
    assert_eq!(search(&store).1.view, View::Listing);
}

#[test]
fn concurrent_uploads_deletes_and_catalog_searches_agree() {
    let store = small_store();
    let finished = Finished::default();
    let stop = Arc::new(AtomicBool::new(false));
    let views: Arc<Mutex<Vec<View>>> = Arc::default();
    std::thread::scope(|s| {
        spawn_uploaders(s, &store, &finished, 50);
        for _ in 0..2 {
            let (store, finished, stop, views) =
                (&store, finished.clone(), stop.clone(), views.clone());
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // Finished before the search began: must be found / must be gone.
                    let (before, gone) = finished.now();
                    let (got, report) = search(store);
                    views.lock().unwrap().push(report.view);
                    for id in &before {
                        assert!(got.contains_key(id), "lost {}", hex_id(id));
                    }
                    for id in &gone {
                        assert!(!got.contains_key(id), "deleted {} found", hex_id(id));
                    }
                }
            });
        }
        let stop = stop.clone();
        s.spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
    });
    let (got, _) = search(&store);
    assert_eq!(got, brute_force(&store));
    assert_eq!(got.len(), 150);
    let (again, report) = search(&store);
    assert_eq!((report.view, again), (View::Catalog, got));
    let views = views.lock().unwrap();
    assert!(views.len() >= 4, "{} searches ran", views.len());
}

#[test]
fn many_deleted_rows_make_the_listing_search_compact_them_away() {
    let store = small_store();
    let ids: Vec<RawId> = (0..20).map(|s| add_image(&store, s)).collect();
    search(&store);
    for id in &ids[..10] {
        store.delete_image(&hex_id(id)).unwrap();
    }
    let (got, report) = search(&store);
    assert_eq!((report.view, got.len()), (View::Listing, 10));
    // The half-dead segment was rewritten with the live rows only.
    let catalog = store.catalog().unwrap().unwrap();
    let mut packed: Vec<RawId> = Vec::new();
    for hash in &catalog.segments {
        let mut segment = Segment::default();
        store
            .read_segment(hash, &mut segment, true)
            .unwrap()
            .unwrap();
        packed.extend_from_slice(segment.ids());
    }
    packed.sort_unstable();
    let mut live = ids[10..].to_vec();
    live.sort_unstable();
    assert_eq!(packed, live);
    assert_eq!(search(&store).0, got);
}

/// An upload that died after its vector but before its record (a replica killed) is in
/// no search, whether from a listing or a catalog; once its record is written (the
/// upload retried) the next search has it, though the vector itself did not change.
#[test]
fn an_image_without_its_record_is_in_no_search_until_the_record_commits_it() {
    let store = small_store();
    for seed in 0..12 {
        add_image(&store, seed);
    }
    let dead = crate::util::add_uncommitted_image(&store, 100);
    assert!(!store.has_image(&hex_id(&dead)).unwrap());
    assert!(store.has_original(&hex_id(&dead)).unwrap());
    let (listed, _) = search(&store);
    assert_eq!(listed.len(), 12);
    assert!(!listed.contains_key(&dead), "a listing search shows an uncommitted image");
    let (catalogued, report) = search(&store);
    assert_eq!(report.view, View::Catalog);
    assert!(!catalogued.contains_key(&dead), "a catalog search shows an uncommitted image");
    assert!(store.list(100, None).unwrap().records.iter().all(|r| r.id != hex_id(&dead)));

    let mut rec = crate::util::record(100, 5_000);
    rec.id = hex_id(&dead);
    store.ensure_listed(&rec).unwrap();
    store.put_record(&rec).unwrap();
    let (after, _) = search(&store);
    assert_eq!(after.len(), 13);
    assert!(after.contains_key(&dead), "the committed image is searched");
    assert_eq!(after, brute_force(&store));
}

#[test]
fn a_vector_marks_the_catalog_only_when_its_record_already_exists() {
    let store = small_store();
    for seed in 0..12 {
        add_image(&store, seed);
    }
    search(&store);
    assert_eq!(search(&store).1.view, View::Catalog);
    let marker = || store.kv().get(keys::VECTOR_MARKER).unwrap();

    // An upload's vector, before its record: nothing live changed, no marker write.
    let before = marker();
    let fresh = crate::util::add_uncommitted_image(&store, 200);
    assert_eq!(
        marker(),
        before,
        "a vector without its record rewrote the marker"
    );
    assert_eq!(search(&store).1.view, View::Catalog);

    // An image committed without a vector (its vector step failed), repaired later:
    // the vector is live at once, so it marks, and the next search lists and finds it.
    let original = bytes(40, 300);
    let repaired = content_id(&original);
    store
        .put_blob(&repaired, BlobKind::Original, &original, "image/png")
        .unwrap();
    let mut rec = crate::util::record(300, 7_000);
    rec.id = repaired.clone();
    store.ensure_listed(&rec).unwrap();
    store.put_record(&rec).unwrap();
    search(&store);
    assert_eq!(search(&store).1.view, View::Catalog);
    let before = marker();
    let vector: Vec<u8> = crate::util::unit(300)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    store.put_vector(&repaired, &vector, V).unwrap();
    assert_ne!(marker(), before);
    let (got, report) = search(&store);
    assert_eq!(report.view, View::Listing);
    assert_eq!(
        got[&store::segments::raw_id(&repaired).unwrap()],
        crate::util::unit(300)
    );
    assert!(!got.contains_key(&fresh));
    assert_eq!(got, brute_force(&store));
}

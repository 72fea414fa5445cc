//! `vectors::similar::search` over a real store (in memory): sketched segments, loose
//! vectors and f32 segments mixed, with near-ties and exact ties, before and after
//! compactions and deletes — always the brute force over the stored f32 vectors.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use store::segments::{CompactionPolicy, RawId, View, hex_id, raw_id};
use store::testkit::{noise, normalised};
use store::{BlobKind, KeyValue, MemoryKv, Store, content_id};
use vectors::TopK;

const V: u32 = 2;
const DIMS: usize = 209;

/// Image `seed`: 25 clusters of near-duplicates; every 50th image repeats the vector of
/// the one before it exactly (two photos, same features: tied scores).
fn vector(seed: u64) -> Vec<f32> {
    let seed = if seed % 50 == 49 { seed - 1 } else { seed };
    let centre = noise(DIMS, 10_000 + seed % 25);
    let jitter = noise(DIMS, seed);
    normalised(
        centre
            .iter()
            .zip(&jitter)
            .map(|(c, j)| c + 0.25 * j)
            .collect(),
    )
}

fn add<K: KeyValue>(store: &Store<K>, seed: u64) -> RawId {
    let original = format!("photo {seed}").into_bytes();
    let id = content_id(&original);
    store
        .put_blob(&id, BlobKind::Original, &original, "image/png")
        .unwrap();
    let bytes: Vec<u8> = vector(seed).iter().flat_map(|x| x.to_le_bytes()).collect();
    store.put_vector(&id, &bytes, V).unwrap();
    store::testkit::commit(store, &id, 1 + seed);
    raw_id(&id).unwrap()
}

fn query<K: KeyValue>(store: &Store<K>, id: &RawId) -> Vec<f32> {
    store.loose_vector(id).unwrap().unwrap().1
}

/// The truth: every live image's f32 vector from a fresh listing, scored with `cosine`.
fn brute_force(store: &Store<MemoryKv>, id: &RawId, k: usize) -> Vec<(RawId, f32)> {
    let q = query(store, id);
    let mut top = TopK::new(k);
    for other in store.vector_snapshot().unwrap().loose() {
        if other != id {
            top.offer(vectors::cosine(&q, &query(store, other)), *other);
        }
    }
    top.into_sorted()
}

const POLICY: CompactionPolicy = CompactionPolicy {
    min_loose: 100,
    max_rows: 700,
};

fn search<K: KeyValue>(
    store: &Store<K>,
    id: &RawId,
    k: usize,
) -> (Vec<(RawId, f32)>, vectors::similar::SimilarReport) {
    vectors::similar::search(store, id, V, &query(store, id), k, Some(POLICY)).unwrap()
}

#[test]
fn sketched_search_equals_the_brute_force() {
    // Small chunks: records straddle chunk boundaries.
    let store = Store::new(MemoryKv::new(), 4_000).unwrap();
    let ids: Vec<RawId> = (0..2_500).map(|s| add(&store, s)).collect();
    let queries: Vec<RawId> = ids.iter().step_by(97).copied().collect();

    // Listing searches compact 700 rows at a time; answers are right at every stage.
    let mut packed = false;
    for round in 0..8 {
        let (got, report) = search(&store, &queries[round % queries.len()], 10);
        assert_eq!(
            got,
            brute_force(&store, &queries[round % queries.len()], 10)
        );
        packed = report.store.stats.loose == 0 && report.store.stats.segments > 0;
        if packed {
            break;
        }
    }
    assert!(packed, "compaction packed every vector");

    let mut fetched = 0;
    for (n, id) in queries.iter().enumerate() {
        for k in [1, 10, 60] {
            let (got, report) = search(&store, id, k);
            assert_eq!(got, brute_force(&store, id, k), "query {n}, k {k}");
            assert_eq!(report.store.view, View::Catalog);
            assert_eq!(report.settling.missing, 0);
            if k == 10 {
                fetched += report.settling.fetched;
            }
        }
    }
    // The sketches prune: a few loose-vector reads per query, not thousands.
    let per_query = fetched / queries.len();
    assert!(per_query < 60, "{per_query} exact re-scorings per top-10");

    // An exact tie: image 48 and 49 share a vector; both rank, smaller id first.
    let (got, _) = search(&store, &ids[0], 2_500);
    let pos = |id: &RawId| got.iter().position(|(o, _)| o == id).unwrap();
    let (a, b) = (pos(&ids[48]), pos(&ids[49]));
    assert_eq!(got[a].1, got[b].1);
    assert_eq!(a.abs_diff(b), 1);

    // Deletes: rows stay in the segments, the answers drop them.
    for id in ids.iter().skip(5).step_by(11) {
        store.delete_image(&hex_id(id)).unwrap();
    }
    for id in queries
        .iter()
        .filter(|q| store.loose_vector(q).unwrap().is_some())
    {
        let (got, _) = search(&store, id, 10);
        assert_eq!(got, brute_force(&store, id, 10));
    }
}

#[test]
fn a_candidate_deleted_during_the_search_is_caught() {
    let store = Store::new(MemoryKv::new(), 4_000).unwrap();
    let ids: Vec<RawId> = (0..400).map(|s| add(&store, s)).collect();
    search(&store, &ids[0], 5);
    let want = brute_force(&store, &ids[0], 5);
    // The best match loses its vector but keeps its record (damage the catalog was not
    // told about: no new marker).
    let victim = want[0].0;
    store
        .kv()
        .delete(&store::keys::manifest(&hex_id(&victim), BlobKind::Vector).unwrap())
        .unwrap();
    let (got, report) = search(&store, &ids[0], 5);
    assert_ne!(report.store.view, View::Catalog, "{:?}", report.store.view);
    assert!(!got.iter().any(|(id, _)| *id == victim));
    assert_eq!(got, brute_force(&store, &ids[0], 5));
}

/// Uploads and deletes run while searches run (each search may list, compact and write
/// the catalog). Every answer must hold: no image deleted before the search began, exact
/// scores, and no image that was there the whole time and beats the k-th answer missing.
#[test]
fn searches_stay_exact_under_concurrent_uploads_and_deletes() {
    let store = Store::new(MemoryKv::new(), 4_000).unwrap();
    let seeds: HashMap<RawId, u64> = (0..300).map(|s| (add(&store, s), s)).collect();
    let mut ids: Vec<RawId> = seeds.keys().copied().collect();
    ids.sort();
    let (queries, victims) = (&ids[..5], &ids[5..65]);
    search(&store, &queries[0], 10);
    let uploaded: Mutex<Vec<(RawId, u64)>> = Mutex::default();
    let deleted: Mutex<HashSet<RawId>> = Mutex::default();
    // Uploads go on, paced, until the searches are done (at most 2,000 per thread).
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (store, uploaded, deleted, seeds, stop) = (&store, &uploaded, &deleted, &seeds, &stop);
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    std::thread::scope(|s| {
        for w in 0..2u64 {
            s.spawn(move || {
                for i in 0..2_000 {
                    if stop.load(relaxed) {
                        break;
                    }
                    let seed = 10_000 + w * 10_000 + i;
                    let id = add(store, seed);
                    uploaded.lock().unwrap().push((id, seed));
                    std::thread::sleep(std::time::Duration::from_micros(500));
                }
            });
        }
        s.spawn(move || {
            for id in victims {
                store.delete_image(&hex_id(id)).unwrap();
                deleted.lock().unwrap().insert(*id);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        });
        s.spawn(move || {
            for round in 0..40 {
                let q = &queries[round % queries.len()];
                // What had happened before the search began.
                let gone = deleted.lock().unwrap().clone();
                let mut present: Vec<(RawId, u64)> = seeds
                    .iter()
                    .filter(|(id, _)| !victims.contains(id))
                    .map(|(id, s)| (*id, *s))
                    .collect();
                present.extend(uploaded.lock().unwrap().iter().copied());
                let (got, _) = search(store, q, 10);
                let qv = vector(seeds[q]);
                assert_eq!(got.len(), 10);
                for (id, score) in &got {
                    assert!(!gone.contains(id), "a deleted image was found");
                    assert_ne!(id, q);
                    assert_eq!(*score, vectors::dot(&qv, &query(store, id)));
                }
                let kth = got[9].1;
                for (id, seed) in &present {
                    let score = vectors::dot(&qv, &vector(*seed));
                    if id != q && score > kth {
                        assert!(got.iter().any(|(g, _)| g == id), "a winner was missed");
                    }
                }
            }
            stop.store(true, relaxed);
        });
    });
    let uploads = uploaded.lock().unwrap().len();
    assert!(
        uploads < 4_000,
        "the uploads ran out before the searches ended"
    );
    let (got, _) = search(store, &queries[0], 10);
    assert_eq!(got, brute_force(store, &queries[0], 10));
}

/// Two images with the same vector, stored a rounding step over unit length (as f32
/// normalisation leaves some): the score is 1, never the 1.0000018 a plain dot product
/// gives, whether the rows are read loose (f32) or from a compacted segment (sketch,
/// then the exact re-score).
#[test]
fn a_near_identical_image_scores_at_most_one() {
    let store = Store::new(MemoryKv::new(), 4_000).unwrap();
    let long: Vec<f32> = vector(7).iter().map(|x| x * 1.000_002).collect();
    assert!(vectors::dot(&long, &long) > 1.0, "the case under test");
    let put = |name: &str, v: &[f32]| {
        let id = content_id(name.as_bytes());
        store
            .put_blob(&id, BlobKind::Original, name.as_bytes(), "image/png")
            .unwrap();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        store.put_vector(&id, &bytes, V).unwrap();
        store::testkit::commit(&store, &id, 1);
        raw_id(&id).unwrap()
    };
    let (a, b) = (put("twin a", &long), put("twin b", &long));
    // Enough other images for a compaction to pack them all into a sketched segment.
    for seed in 100..400 {
        add(&store, seed);
    }
    let mut packed = false;
    for _ in 0..6 {
        let (got, report) = search(&store, &a, 3);
        assert_eq!(got[0].0, b);
        assert!(got.iter().all(|(_, s)| (-1.0..=1.0).contains(s)), "{got:?}");
        assert_eq!(got[0].1, 1.0);
        packed |= report.store.stats.loose == 0 && report.store.stats.segments > 0;
    }
    assert!(packed, "the twins were also read from a compacted segment");
}

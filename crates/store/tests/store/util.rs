use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use store::segments::sketch::{self, Record};
use store::segments::{RawId, Rows, raw_id};
use store::{BlobKind, ImageRecord, KeyValue, MemoryKv, Store, content_id};

/// Fermyon's value cap.
pub const CAP: usize = 1_000_000;

pub fn capped_kv() -> MemoryKv {
    MemoryKv::new().with_max_value_bytes(CAP)
}

pub fn store() -> Store<MemoryKv> {
    Store::new(capped_kv(), CAP as u32).unwrap()
}

/// Deterministic, non-repeating bytes (so a chunk mix-up changes the checksum).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn record(seed: u64, created_micros: u64) -> ImageRecord {
    ImageRecord {
        id: content_id(&seed.to_le_bytes()),
        format: "png".into(),
        width: 4,
        height: 3,
        bytes: 8,
        alpha: false,
        created_micros,
        thumbnail: None,
        vector: None,
        variants: Vec::new(),
    }
}

/// Vector length and feature version of the vector tests.
pub const DIMS: usize = 8;
pub const V: u32 = 2;

/// A shareable store with small chunks, so segments span several of them.
pub fn small_store() -> Store<Arc<MemoryKv>> {
    Store::new(Arc::new(capped_kv()), 1_000).unwrap()
}

/// A deterministic unit vector.
pub fn unit(seed: u64) -> Vec<f32> {
    let v: Vec<f32> = bytes(DIMS, seed)
        .iter()
        .map(|&b| f32::from(b) - 127.5)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// An image as the pipeline leaves it: original, then its vector of version `V` (which
/// marks the vector catalog stale), then its listing entry and record (the commit).
pub fn add_image<K: KeyValue>(store: &Store<K>, seed: u64) -> RawId {
    let id = add_uncommitted_image(store, seed);
    let mut rec = record(seed, 1 + seed);
    rec.id = store::segments::hex_id(&id);
    store.ensure_listed(&rec).unwrap();
    store.put_record(&rec).unwrap();
    id
}

/// [`add_image`] from an upload that died before its record: original and vector only.
pub fn add_uncommitted_image<K: KeyValue>(store: &Store<K>, seed: u64) -> RawId {
    let original = bytes(40, seed);
    let id = content_id(&original);
    store
        .put_blob(&id, BlobKind::Original, &original, "image/png")
        .unwrap();
    let vector: Vec<u8> = unit(seed).iter().flat_map(|x| x.to_le_bytes()).collect();
    store.put_vector(&id, &vector, V).unwrap();
    raw_id(&id).unwrap()
}

/// The truth: every live image's loose vector, from a fresh listing.
pub fn brute_force<K: KeyValue>(store: &Store<K>) -> BTreeMap<RawId, Vec<f32>> {
    let snap = store.vector_snapshot().unwrap();
    snap.loose()
        .iter()
        .map(|id| (*id, store.loose_vector(id).unwrap().unwrap().1))
        .collect()
}

/// What the uploader threads of a concurrency test have finished: uploads, and deletes
/// of images uploaded for the purpose.
#[derive(Default, Clone)]
pub struct Finished {
    pub uploaded: Arc<Mutex<Vec<RawId>>>,
    pub deleted: Arc<Mutex<Vec<RawId>>>,
}

impl Finished {
    /// Snapshots of both lists, taken before an operation that must see them all.
    pub fn now(&self) -> (Vec<RawId>, Vec<RawId>) {
        (
            self.uploaded.lock().unwrap().clone(),
            self.deleted.lock().unwrap().clone(),
        )
    }
}

/// Spawns three uploader threads in `scope`, `per_thread` uploads each, every seventh
/// followed by an upload that is deleted again at once.
pub fn spawn_uploaders<'scope, K: KeyValue + Sync>(
    scope: &'scope Scope<'scope, '_>,
    store: &'scope Store<K>,
    finished: &Finished,
    per_thread: u64,
) {
    for w in 0..3u64 {
        let finished = finished.clone();
        scope.spawn(move || {
            for i in 0..per_thread {
                let id = add_image(store, w * 1000 + i);
                finished.uploaded.lock().unwrap().push(id);
                if i % 7 == 3 {
                    let victim = add_image(store, w * 1000 + 500 + i);
                    store
                        .delete_image(&store::segments::hex_id(&victim))
                        .unwrap();
                    finished.deleted.lock().unwrap().push(victim);
                }
            }
        });
    }
}

/// Scanned rows as f32 vectors. A sketch record must be exactly the sketch of its id's
/// loose vector (the truth), which then stands for it; if that vector is gone (its image
/// was deleted during the scan, including half-way through this read: its manifest seen,
/// its chunk already removed) the record's reconstruction does, as the search's own
/// `exact_loose_vector` treats it.
pub fn rows_as_f32<K: KeyValue>(
    store: &Store<K>,
    ids: &[RawId],
    rows: Rows<'_>,
) -> Vec<(RawId, Vec<f32>)> {
    match rows {
        Rows::Exact(values) => ids
            .iter()
            .copied()
            .zip(values.chunks_exact(DIMS).map(<[f32]>::to_vec))
            .collect(),
        Rows::Sketch(records) => ids
            .iter()
            .zip(records.chunks_exact(sketch::record_bytes(DIMS)))
            .map(|(id, record)| match store.loose_vector(id) {
                Ok(Some((_, truth))) => {
                    let mut want = Vec::new();
                    sketch::encode_row(&truth, &mut want);
                    assert_eq!(record, want, "the sketch of {id:?} is its vector's");
                    (*id, truth)
                }
                Ok(None) | Err(store::Error::Corrupt(_)) => {
                    (*id, Record::parse(record, DIMS).approximation())
                }
                Err(e) => panic!("reading the vector of {id:?}: {e}"),
            })
            .collect(),
    }
}

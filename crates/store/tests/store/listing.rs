use crate::util::{capped_kv, record, store};
use std::collections::BTreeSet;
use std::sync::Arc;
use store::{Error, ImageRecord, KeyValue, Store, keys};

fn list_all<K: KeyValue>(store: &Store<K>, limit: usize) -> Vec<ImageRecord> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(limit, cursor.as_deref()).unwrap();
        assert!(page.records.len() <= limit);
        out.extend(page.records);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

#[test]
fn newest_first_and_paging_visits_each_once() {
    let store = store();
    let mut all = Vec::new();
    for i in 0..23u64 {
        // Shuffled creation times, two images sharing one.
        let rec = record(i, 1_000 + (i * 7) % 23 / 2);
        store.put_record(&rec).unwrap();
        store.ensure_listed(&rec).unwrap();
        store.ensure_listed(&rec).unwrap(); // idempotent
        all.push(rec);
    }
    all.sort_by(|a, b| {
        b.created_micros
            .cmp(&a.created_micros)
            .then(a.id.cmp(&b.id))
    });
    for limit in [1, 2, 5, 22, 23, 24, 100] {
        assert_eq!(list_all(&store, limit), all, "limit {limit}");
    }
    let first = store.list(5, None).unwrap();
    assert_eq!(first.records.len(), 5);
    assert!(first.next.is_some());
    assert!(store.list(0, None).unwrap().records.len() == 1);
}

#[test]
fn empty_listing() {
    let page = store().list(10, None).unwrap();
    assert!(page.records.is_empty() && page.next.is_none());
}

#[test]
fn bad_cursors_are_refused() {
    let store = store();
    for bad in [
        "",
        "x",
        &"z".repeat(84),
        &"9".repeat(84),
        &format!("{}{}", "9".repeat(20), "g".repeat(64)),
    ] {
        assert!(
            matches!(store.list(10, Some(bad)), Err(Error::InvalidCursor)),
            "{bad:?}"
        );
    }
}

#[test]
fn stale_and_orphan_entries_are_skipped() {
    let store = store();
    let mut rec = record(1, 100);
    store.put_record(&rec).unwrap();
    store.ensure_listed(&rec).unwrap();
    // A re-upload moved the image's created time: the old entry is now stale.
    rec.created_micros = 200;
    store.put_record(&rec).unwrap();
    store.ensure_listed(&rec).unwrap();
    // An entry whose record was never written (an upload still in flight).
    store
        .kv()
        .set(&keys::index(300, &record(2, 300).id).unwrap(), b"")
        .unwrap();
    // A damaged record is skipped rather than failing the whole listing.
    let broken = record(3, 50);
    store
        .kv()
        .set(&keys::record(&broken.id).unwrap(), b"{")
        .unwrap();
    store.ensure_listed(&broken).unwrap();

    assert_eq!(list_all(&store, 1), vec![rec.clone()]);
    assert_eq!(list_all(&store, 10), vec![rec]);
}

/// 8 threads x 50 uploads on one shared backend: every listing entry survives.
#[test]
fn concurrent_writers_lose_no_entry() {
    let kv = Arc::new(capped_kv());
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let store = Store::new(Arc::clone(&kv), 1_000).unwrap();
            std::thread::spawn(move || {
                for i in 0..50u64 {
                    let seed = t * 1_000 + i;
                    let data = crate::util::bytes(1_500, seed);
                    let mut rec = record(seed, 1_000 + i); // threads share created times
                    rec.id = store::content_id(&data);
                    store
                        .put_blob(&rec.id, store::BlobKind::Original, &data, "image/png")
                        .unwrap();
                    store.put_record(&rec).unwrap();
                    store.ensure_listed(&rec).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = Store::new(kv, 1_000).unwrap();
    let listed = list_all(&store, 7);
    let ids: BTreeSet<_> = listed.iter().map(|r| r.id.clone()).collect();
    assert_eq!(listed.len(), 400);
    assert_eq!(ids.len(), 400);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_micros >= w[1].created_micros)
    );
}

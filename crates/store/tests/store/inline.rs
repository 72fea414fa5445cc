//! Blobs that fit in one value are written whole into their manifest's key
//! (`blob::INLINE`): one write instead of two, read and checked like chunks.

use crate::util::{CAP, bytes, store};
use store::blob::INLINE;
use store::{BlobKind, Error, KeyValue, MemoryKv, Store, content_id, keys};

/// A second store over the same keys.
fn on(kv: &MemoryKv) -> Store<&MemoryKv> {
    Store::new(kv, CAP as u32).unwrap()
}

/// The committed thumbnail of `id`, read back whole.
fn thumbnail<K: KeyValue>(store: &Store<K>, id: &str) -> Vec<u8> {
    store.get_blob(id, BlobKind::Thumbnail).unwrap().unwrap().1
}

fn thumbnail_of(seed: u64, len: usize) -> (String, Vec<u8>) {
    let data = bytes(len, seed);
    (content_id(&seed.to_le_bytes()), data)
}

#[test]
fn a_small_blob_is_one_key_and_one_write() {
    let store = store();
    let (id, data) = thumbnail_of(1, 5_700);
    let writes = store.kv().writes();
    let put = store
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    assert_eq!(store.kv().writes() - writes, 1);
    assert!(put.inline);
    let manifest_key = keys::manifest(&id, BlobKind::Thumbnail).unwrap();
    assert_eq!(store.kv().keys(), std::slice::from_ref(&manifest_key));
    assert_eq!(store.kv().get(&manifest_key).unwrap().unwrap()[0], INLINE);

    let (manifest, back) = store.get_blob(&id, BlobKind::Thumbnail).unwrap().unwrap();
    assert_eq!((&manifest, &back), (&put, &data));
    assert_eq!(
        store.blob_manifest(&id, BlobKind::Thumbnail).unwrap(),
        Some(put.clone())
    );
    for range in [0..1, 100..2_000, 5_000..9_000, 6_000..7_000] {
        let want = &data[range.start.min(data.len())..range.end.min(data.len())];
        let got = store
            .blob_range(
                &id,
                BlobKind::Thumbnail,
                &put,
                range.start as u64..range.end as u64,
            )
            .unwrap();
        assert_eq!(got, want, "{range:?}");
    }
    assert!(store.orphan_chunks().unwrap().is_empty());
}

#[test]
fn sizes_around_the_value_cap_go_inline_or_to_chunks_and_read_back() {
    let store = store();
    // The manifest's JSON takes some bytes of the value: find where inline stops.
    let (mut last_inline, mut first_chunked) = (None, None);
    for len in [0, 1, CAP - 400, CAP - 300, CAP - 200, CAP - 1, CAP, CAP + 1] {
        let data = bytes(len, len as u64);
        let id = content_id(&data);
        let put = store
            .put_blob(&id, BlobKind::Original, &data, "image/jpeg")
            .unwrap();
        let (manifest, back) = store.get_blob(&id, BlobKind::Original).unwrap().unwrap();
        assert_eq!((manifest, back), (put.clone(), data), "len {len}");
        let chunk0 = keys::chunk(&id, BlobKind::Original, 0).unwrap();
        assert_eq!(
            store.kv().get(&chunk0).unwrap().is_some(),
            !put.inline && len > 0,
            "len {len}"
        );
        if put.inline {
            assert!(first_chunked.is_none(), "inline again at {len}");
            last_inline = Some(len);
        } else {
            first_chunked.get_or_insert(len);
        }
    }
    assert!(
        last_inline.is_some_and(|n| n >= CAP - 400),
        "{last_inline:?}"
    );
    assert!(first_chunked.is_some_and(|n| n < CAP), "{first_chunked:?}");
    assert!(
        store
            .kv()
            .keys()
            .iter()
            .all(|k| store.kv().get(k).unwrap().unwrap().len() <= CAP)
    );
}

#[test]
fn damage_to_an_inline_blob_is_corrupt_not_wrong_bytes() {
    let store = store();
    let (id, data) = thumbnail_of(2, 3_000);
    store
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    let key = keys::manifest(&id, BlobKind::Thumbnail).unwrap();
    let good = store.kv().get(&key).unwrap().unwrap();

    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let mut cut = good.clone();
    cut.pop();
    let no_end: Vec<u8> = good
        .iter()
        .copied()
        .filter(|&b| b != b'\n')
        .take(200)
        .collect();
    for (what, value) in [
        ("a flipped byte", flipped),
        ("a cut value", cut),
        ("no header end", no_end),
    ] {
        store.kv().set(&key, &value).unwrap();
        assert!(
            matches!(
                store.get_blob(&id, BlobKind::Thumbnail),
                Err(Error::Corrupt(_))
            ),
            "{what}"
        );
    }
}

#[test]
fn a_chunk_writing_store_and_an_inline_one_read_each_other() {
    let inline = store();
    let chunked = store().with_inline(false);
    let (id, data) = thumbnail_of(3, 4_000);
    let put = chunked
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    assert!(!put.inline);
    assert_eq!(chunked.kv().len(), 2, "a chunk and its manifest");
    for (k, v) in chunked
        .kv()
        .keys()
        .iter()
        .map(|k| (k.clone(), chunked.kv().get(k).unwrap().unwrap()))
    {
        inline.kv().set(&k, &v).unwrap();
    }
    assert_eq!(
        inline
            .get_blob(&id, BlobKind::Thumbnail)
            .unwrap()
            .unwrap()
            .1,
        data
    );

    inline
        .put_blob(
            &id,
            BlobKind::Vector,
            &data[..800],
            "application/octet-stream",
        )
        .unwrap();
    let back = on(inline.kv())
        .with_inline(false)
        .get_blob(&id, BlobKind::Vector)
        .unwrap()
        .unwrap();
    assert_eq!(back.1, &data[..800]);
}

#[test]
fn rewrites_between_the_forms_leave_no_chunks_behind() {
    let (id, data) = thumbnail_of(4, 2_500);
    let other = bytes(2_600, 99);
    let store = store();
    let chunked = on(store.kv()).with_inline(false);
    let chunk0 = keys::chunk(&id, BlobKind::Thumbnail, 0).unwrap();

    // The same bytes already committed as chunks stay chunks: turning them into one value
    // would delete chunks a concurrent reader may be reading.
    chunked
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    let again = store
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    assert!(!again.inline);
    assert!(store.kv().get(&chunk0).unwrap().is_some());

    // Other bytes replace them whole, and the old chunk goes.
    let put = store
        .put_blob(&id, BlobKind::Thumbnail, &other, "image/jpeg")
        .unwrap();
    assert!(put.inline);
    assert_eq!(store.kv().get(&chunk0).unwrap(), None);
    assert_eq!(thumbnail(&store, &id), other);

    // And back to chunks: the inline value is replaced by a JSON manifest.
    chunked
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    assert_eq!(thumbnail(&store, &id), data);
    assert!(store.orphan_chunks().unwrap().is_empty());
}

#[test]
fn a_failed_inline_write_keeps_the_previous_blob() {
    let (id, data) = thumbnail_of(5, 1_500);
    let store = store();
    store
        .put_blob(&id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    store.kv().fail_nth_write(store.kv().writes() + 1);
    assert!(
        store
            .put_blob(&id, BlobKind::Thumbnail, &bytes(1_400, 7), "image/jpeg")
            .is_err()
    );
    store.kv().clear_faults();
    assert_eq!(thumbnail(&store, &id), data);
}

#[test]
fn a_stray_chunk_beside_an_inline_manifest_is_an_orphan() {
    let (id, data) = thumbnail_of(6, 900);
    let store = store();
    store
        .put_blob(&id, BlobKind::Vector, &data, "application/octet-stream")
        .unwrap();
    let chunk0 = keys::chunk(&id, BlobKind::Vector, 0).unwrap();
    store.kv().set(&chunk0, &data).unwrap();
    assert_eq!(store.orphan_chunks().unwrap(), vec![chunk0]);
}

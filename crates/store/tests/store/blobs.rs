use crate::util::{CAP, bytes, capped_kv, store};
use store::{BlobKind, Error, KeyValue, MemoryKv, Store, content_id, keys};

#[test]
fn round_trips_around_the_value_cap() {
    let store = store();
    for (seed, len) in [0, 1, 999_999, 1_000_000, 1_000_001, 2_500_000]
        .into_iter()
        .enumerate()
    {
        let data = bytes(len, seed as u64);
        let id = content_id(&data);
        let put = store
            .put_blob(&id, BlobKind::Original, &data, "image/png")
            .unwrap();
        assert_eq!(put.size, len as u64);
        assert_eq!(put.chunks as usize, len.div_ceil(CAP));
        assert_eq!(put.sha256, id);
        let (manifest, back) = store.get_blob(&id, BlobKind::Original).unwrap().unwrap();
        assert_eq!(manifest, put);
        assert_eq!(back, data, "len {len}");
        assert_eq!(
            store.blob_manifest(&id, BlobKind::Original).unwrap(),
            Some(put)
        );
    }
    assert!(
        store
            .kv()
            .keys()
            .iter()
            .all(|k| k.len() <= keys::MAX_KEY_BYTES && k.is_ascii())
    );
}

#[test]
fn chunk_size_is_capped() {
    assert!(matches!(
        Store::new(MemoryKv::new(), 1_000_001),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        Store::new(MemoryKv::new(), 0),
        Err(Error::InvalidConfig(_))
    ));
}

#[test]
fn absent_blob_is_none_and_bad_id_is_refused() {
    let store = store();
    let id = content_id(b"nothing");
    assert!(store.get_blob(&id, BlobKind::Thumbnail).unwrap().is_none());
    assert!(matches!(
        store.get_blob("../x", BlobKind::Original),
        Err(Error::InvalidKey(_))
    ));
}

/// Every write position of a put fails in turn; the blob is then absent or whole, and a
/// retry without faults succeeds.
#[test]
fn failed_write_at_every_position_never_exposes_a_partial_blob() {
    for chunk in [1_000u32, CAP as u32] {
        let data = bytes(2_500_000.min(chunk as usize * 5 + 17), 42);
        let id = content_id(&data);
        let writes = data.len().div_ceil(chunk as usize) as u64 + 1;
        for fail_at in 1..=writes {
            let store = Store::new(capped_kv(), chunk).unwrap();
            store.kv().fail_nth_write(fail_at);
            assert!(
                store
                    .put_blob(&id, BlobKind::Original, &data, "image/png")
                    .is_err()
            );
            match store.get_blob(&id, BlobKind::Original) {
                Ok(None) => {}
                Ok(Some((_, back))) => assert_eq!(back, data),
                Err(e) => panic!("write {fail_at} of {writes} left a corrupt blob: {e}"),
            }
            assert!(
                store.orphan_chunks().unwrap().is_empty(),
                "write {fail_at} of {writes}: a failed put removes the chunks it wrote"
            );
            store.kv().clear_faults();
            store
                .put_blob(&id, BlobKind::Original, &data, "image/png")
                .unwrap();
            assert_eq!(
                store.get_blob(&id, BlobKind::Original).unwrap().unwrap().1,
                data
            );
            assert!(
                store.orphan_chunks().unwrap().is_empty(),
                "a retry adopts every chunk"
            );
        }
    }
}

/// Replacing a blob with different bytes, failing at every write: absent or one whole
/// version, never a mix.
#[test]
fn failed_replacement_never_mixes_versions() {
    let old = bytes(5_500, 1);
    let new = bytes(3_100, 2);
    let id = content_id(b"image");
    for fail_at in 1..=8 {
        let store = Store::new(capped_kv(), 1_000).unwrap();
        store
            .put_blob(&id, BlobKind::Thumbnail, &old, "image/jpeg")
            .unwrap();
        store.kv().fail_nth_write(store.kv().writes() + fail_at);
        let result = store.put_blob(&id, BlobKind::Thumbnail, &new, "image/jpeg");
        match store.get_blob(&id, BlobKind::Thumbnail) {
            Ok(None) => assert!(result.is_err()),
            Ok(Some((_, back))) => assert!(back == old || back == new),
            Err(e) => panic!("write {fail_at}: {e}"),
        }
        // Up to the commit (1 manifest delete, 4 chunks, the manifest), a failure leaves
        // no orphan; past it, the old version's surplus chunks may stay behind, invisible.
        if fail_at <= 6 {
            assert!(
                store.orphan_chunks().unwrap().is_empty(),
                "write {fail_at}: orphans"
            );
        }
    }
    // Without faults the replacement leaves no chunk of the longer old version behind.
    let store = Store::new(capped_kv(), 1_000).unwrap();
    store
        .put_blob(&id, BlobKind::Thumbnail, &old, "image/jpeg")
        .unwrap();
    store
        .put_blob(&id, BlobKind::Thumbnail, &new, "image/jpeg")
        .unwrap();
    assert_eq!(
        store.get_blob(&id, BlobKind::Thumbnail).unwrap().unwrap().1,
        new
    );
    assert_eq!(store.kv().len(), 4 + 1);
    assert!(store.orphan_chunks().unwrap().is_empty());
}

#[test]
fn damage_is_reported_as_corrupt() {
    let store = Store::new(capped_kv(), 1_000).unwrap();
    let data = bytes(2_500, 3);
    let id = content_id(&data);
    store
        .put_blob(&id, BlobKind::Original, &data, "image/png")
        .unwrap();

    store
        .kv()
        .set(
            &keys::chunk(&id, BlobKind::Original, 1).unwrap(),
            &[0; 1_000],
        )
        .unwrap();
    assert!(matches!(
        store.get_blob(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));

    store
        .kv()
        .delete(&keys::chunk(&id, BlobKind::Original, 1).unwrap())
        .unwrap();
    assert!(matches!(
        store.get_blob(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));

    let manifest = keys::manifest(&id, BlobKind::Original).unwrap();
    store
        .kv()
        .set(
            &manifest,
            br#"{"size":5,"chunks":9,"chunk_size":1,"content_type":"x","sha256":"y"}"#,
        )
        .unwrap();
    assert!(matches!(
        store.get_blob(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));
    store.kv().set(&manifest, b"not json").unwrap();
    assert!(matches!(
        store.blob_manifest(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));
}

/// Blobs carry a fast digest, checked on read in place of the SHA-256; a manifest
/// written before digests existed (no `digest`) is still checked against its SHA-256.
#[test]
fn reads_check_the_fast_digest_and_old_manifests_their_sha256() {
    let store = Store::new(capped_kv(), 1_000).unwrap();
    let data = bytes(2_500, 4);
    let id = content_id(&data);
    let put = store
        .put_blob(&id, BlobKind::Original, &data, "image/png")
        .unwrap();
    assert_eq!(put.digest, Some(store::fast_digest(&data)));
    let chunk = keys::chunk(&id, BlobKind::Original, 2).unwrap();
    let mut flipped = data[2_000..].to_vec();
    flipped[7] ^= 1;

    // Same length, one bit changed: only a checksum can tell.
    store.kv().set(&chunk, &flipped).unwrap();
    assert!(matches!(
        store.get_blob(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));

    // The manifest as older versions wrote it: no digest.
    let mut old = put.clone();
    old.digest = None;
    let manifest = keys::manifest(&id, BlobKind::Original).unwrap();
    store
        .kv()
        .set(&manifest, &serde_json::to_vec(&old).unwrap())
        .unwrap();
    assert!(matches!(
        store.get_blob(&id, BlobKind::Original),
        Err(Error::Corrupt(_))
    ));
    store.kv().set(&chunk, &data[2_000..]).unwrap();
    let (read, back) = store.get_blob(&id, BlobKind::Original).unwrap().unwrap();
    assert_eq!((read.digest, back), (None, data));
}

#[test]
fn a_listing_finds_committed_vectors_only() {
    let store = Store::new(capped_kv(), 1_000).unwrap();
    let (a, b, c) = (content_id(b"a"), content_id(b"b"), content_id(b"c"));
    for (id, bytes) in [(&a, b"a"), (&b, b"b"), (&c, b"c")] {
        store
            .put_blob(id, BlobKind::Original, bytes, "image/png")
            .unwrap();
    }
    for id in [&a, &b] {
        let mut rec = crate::util::record(0, 1);
        rec.id = id.clone();
        store.put_record(&rec).unwrap();
    }
    // `c` has a vector but no record: its upload died before committing it.
    for id in [&a, &c] {
        store
            .put_blob(id, BlobKind::Vector, &[0; 16], "application/octet-stream")
            .unwrap();
    }
    store
        .put_blob(&b, BlobKind::Thumbnail, &[0; 16], "image/jpeg")
        .unwrap();
    // A chunk without its manifest (an interrupted write) is not a vector yet.
    store
        .kv()
        .set(&keys::chunk(&b, BlobKind::Vector, 0).unwrap(), &[0; 16])
        .unwrap();
    let snapshot = store.vector_snapshot().unwrap();
    assert_eq!(snapshot.loose(), &[store::segments::raw_id(&a).unwrap()]);
    assert_eq!(
        store.orphan_chunks().unwrap(),
        vec![keys::chunk(&b, BlobKind::Vector, 0).unwrap()]
    );
}

#[test]
fn ranges_read_only_their_chunks_and_equal_the_slice() {
    let store = store();
    let data = bytes(2_500_000, 9);
    let id = content_id(&data);
    store
        .put_blob(&id, BlobKind::Original, &data, "image/png")
        .unwrap();
    let manifest = store
        .blob_manifest(&id, BlobKind::Original)
        .unwrap()
        .unwrap();
    let cap = CAP as u64;
    for r in [
        0..1,
        0..cap,
        cap - 1..cap + 1,
        5..2_400_000,
        2_000_000..2_500_000,
        2_499_999..9_999_999,
        0..u64::MAX,
    ] {
        let back = store
            .blob_range(&id, BlobKind::Original, &manifest, r.clone())
            .unwrap();
        let end = r.end.min(data.len() as u64) as usize;
        assert_eq!(back, data[r.start as usize..end], "{r:?}");
    }
    // A range inside the first chunk does not need the others: drop them and it still reads.
    let base = keys::blob_base(&id, BlobKind::Original).unwrap();
    store
        .kv()
        .delete(&keys::base_chunk(&base, 2).unwrap())
        .unwrap();
    assert_eq!(
        store
            .blob_range(&id, BlobKind::Original, &manifest, 10..20)
            .unwrap(),
        data[10..20]
    );
    assert!(matches!(
        store.blob_range(&id, BlobKind::Original, &manifest, 2_400_000..2_400_010),
        Err(Error::Corrupt(_))
    ));
    // A chunk of the wrong length is damage too.
    store
        .kv()
        .set(&keys::base_chunk(&base, 1).unwrap(), b"short")
        .unwrap();
    assert!(matches!(
        store.blob_range(&id, BlobKind::Original, &manifest, cap..cap + 1),
        Err(Error::Corrupt(_))
    ));
}

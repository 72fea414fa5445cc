use crate::util::{bytes, record, store};
use store::{BlobKind, KeyValue, Store, keys};

#[test]
fn delete_removes_every_key_of_the_id_and_nothing_else() {
    let store = Store::new(crate::util::capped_kv(), 1_000).unwrap();
    let keep = record(9, 5);
    store.put_record(&keep).unwrap();
    store.ensure_listed(&keep).unwrap();
    let keep_keys = store.kv().keys();

    let data = bytes(3_500, 1);
    let mut rec = record(0, 10);
    rec.id = store::content_id(&data);
    for kind in BlobKind::ALL {
        store.put_blob(&rec.id, kind, &data, "image/png").unwrap();
    }
    store.put_record(&rec).unwrap();
    store.ensure_listed(&rec).unwrap();
    rec.created_micros = 11; // a stale entry too
    store.ensure_listed(&rec).unwrap();
    // Leftover chunk of an interrupted write.
    store
        .kv()
        .set(
            &keys::chunk(&rec.id, BlobKind::Thumbnail, 77).unwrap(),
            b"x",
        )
        .unwrap();

    let marker = store.kv().get(keys::VECTOR_MARKER).unwrap();
    assert!(store.delete_image(&rec.id).unwrap());
    // Every key of the image is gone; the vector catalog's marker is new (it had a vector).
    let mut want = keep_keys.clone();
    if !want.iter().any(|k| k == keys::VECTOR_MARKER) {
        want.push(keys::VECTOR_MARKER.to_owned());
        want.sort();
    }
    assert_eq!(store.kv().keys(), want);
    assert_ne!(store.kv().get(keys::VECTOR_MARKER).unwrap(), marker);
    assert!(store.get_record(&rec.id).unwrap().is_none());
    assert!(
        store
            .get_blob(&rec.id, BlobKind::Original)
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_image(&rec.id).unwrap());
    assert_eq!(store.list(10, None).unwrap().records, vec![keep]);
}

/// The record is the first key deleted, so a failed delete leaves the image already
/// invisible (no record, not listed) and a second delete finishes the job.
#[test]
fn interrupted_delete_hides_the_image_first() {
    let store = store();
    let data = bytes(10, 2);
    let mut rec = record(0, 10);
    rec.id = store::content_id(&data);
    store
        .put_blob(&rec.id, BlobKind::Original, &data, "image/png")
        .unwrap();
    store
        .put_blob(&rec.id, BlobKind::Thumbnail, &data, "image/jpeg")
        .unwrap();
    store.put_record(&rec).unwrap();
    store.ensure_listed(&rec).unwrap();

    store.kv().fail_nth_write(store.kv().writes() + 2);
    assert!(store.delete_image(&rec.id).is_err());
    assert!(!store.has_image(&rec.id).unwrap());
    assert!(store.list(10, None).unwrap().records.is_empty());
    store.kv().clear_faults();
    assert!(store.delete_image(&rec.id).unwrap());
    // Only the vector catalog's marker (the record write touched it) is left.
    assert_eq!(store.kv().keys(), vec![keys::VECTOR_MARKER.to_owned()]);
    assert!(!store.kv().exists(&keys::record(&rec.id).unwrap()).unwrap());
}

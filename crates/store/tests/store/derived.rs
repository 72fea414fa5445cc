use crate::util::{bytes, record, store};
use store::{BlobKind, Derived, Store};

#[test]
fn variants_and_renders_round_trip_with_their_size_and_go_with_the_image() {
    let store = Store::new(crate::util::capped_kv(), 1_000).unwrap();
    let data = bytes(2_500, 3);
    let mut rec = record(0, 10);
    rec.id = store::content_id(&data);
    store
        .put_blob(&rec.id, BlobKind::Original, &data, "image/jpeg")
        .unwrap();
    store.put_record(&rec).unwrap();
    store.ensure_listed(&rec).unwrap();

    let variant = bytes(2_100, 4);
    let hash = store::content_id(b"w=256&format=webp");
    let m = store
        .put_derived(
            &rec.id,
            Derived::Variant("clarendon"),
            &variant,
            "image/jpeg",
            [640, 480],
            "preset=clarendon",
        )
        .unwrap();
    assert_eq!(
        (m.chunks, m.dims, m.made_from.as_deref()),
        (3, Some([640, 480]), Some("preset=clarendon"))
    );
    store
        .put_derived(
            &rec.id,
            Derived::Render(&hash),
            &variant[..900],
            "image/webp",
            [256, 192],
            "w=256&format=webp",
        )
        .unwrap();

    let (manifest, back) = store
        .get_derived(&rec.id, Derived::Variant("clarendon"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (back, manifest.content_type.as_str()),
        (variant.clone(), "image/jpeg")
    );
    let render = store
        .derived_manifest(&rec.id, Derived::Render(&hash))
        .unwrap()
        .unwrap();
    assert_eq!((render.size, render.dims), (900, Some([256, 192])));
    assert!(
        store
            .derived_manifest(&rec.id, Derived::Variant("moon"))
            .unwrap()
            .is_none()
    );
    // A derived blob is not one of the image's kinds, and no derived chunk counts as orphaned.
    assert!(
        store
            .blob_manifest(&rec.id, BlobKind::Thumbnail)
            .unwrap()
            .is_none()
    );
    assert!(store.orphan_chunks().unwrap().is_empty());

    assert!(store.delete_image(&rec.id).unwrap());
    assert!(
        store
            .derived_manifest(&rec.id, Derived::Variant("clarendon"))
            .unwrap()
            .is_none()
    );
    assert!(
        store.kv().keys().iter().all(|k| !k.contains(&rec.id)),
        "{:?}",
        store.kv().keys()
    );
}

#[test]
fn bad_names_are_refused_before_any_write() {
    let store = store();
    let id = store::content_id(b"x");
    for name in ["", "Big", "../meta", "a/b"] {
        assert!(
            store
                .put_derived(&id, Derived::Variant(name), b"x", "image/png", [1, 1], "")
                .is_err()
        );
    }
    assert!(
        store
            .put_derived(&id, Derived::Render("short"), b"x", "image/png", [1, 1], "")
            .is_err()
    );
    assert!(store.kv().is_empty());
}

//! How an upload lands in the key-value store (`kv_inline_blobs`, docs/limits.md): on a
//! default host every blob of a phone-sized photo (original, thumbnail, vector, the
//! auto preset's variant) is one key, its manifest's, with no chunks; with
//! `kv_inline_blobs = false` the same upload writes a chunk and a JSON manifest for each,
//! as versions before it did. Either way the bytes read back through the store equal
//! what the API serves, and the served thumbnail and variant decode to the same pixels.
//!
//! Needs hosts of its own (variables, store checks); skipped with `BASE_URL`.

use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::{Client, dedicated_host};
use image::ImageFormat;
use store::{BlobKind, Derived, KeyValue as _};

/// Uploads `bytes` and answers the image's id.
#[track_caller]
fn upload(client: &Client, bytes: &[u8]) -> String {
    let reply = client.post("/api/images", bytes, "image/jpeg");
    assert_eq!(reply.status, 201, "{reply}");
    let object: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    object["id"].as_str().unwrap().to_owned()
}

/// What one host stored and served for `photo`: (keys of the image, thumbnail pixels,
/// variant pixels).
fn stored_and_served(inline: &str, photo: &[u8]) -> Option<(Vec<String>, Vec<u8>, Vec<u8>)> {
    let host = dedicated_host(
        &format!("store_layout kv_inline_blobs={inline}"),
        &[("kv_inline_blobs", inline), ("auto_presets", "clarendon"), ("variant_size", "512")],
    )?;
    let client = host.client();
    let id = upload(&client, photo);
    let kv = KvFile::new(host.state_dir());
    let store = kv.store();

    let (_, original) = store.get_blob(&id, BlobKind::Original).unwrap().unwrap();
    assert_eq!(original, photo, "the original reads back byte for byte");
    let (_, thumbnail) = store.get_blob(&id, BlobKind::Thumbnail).unwrap().unwrap();
    let served = client.get(&format!("/images/{id}/thumbnail"));
    assert_eq!(served.status, 200, "{served}");
    assert_eq!(served.body, thumbnail, "the served thumbnail is the stored one");
    let (_, vector) = store.get_blob(&id, BlobKind::Vector).unwrap().unwrap();
    assert_eq!(vector.len() % 4, 0);
    let (_, variant) = store.get_derived(&id, Derived::Variant("clarendon")).unwrap().unwrap();
    let served_variant = client.get(&format!("/images/{id}/variants/clarendon"));
    assert_eq!(served_variant.status, 200, "{served_variant}");
    assert_eq!(served_variant.body, variant);
    // A conditional GET still answers 304 from the key's existence.
    let etag = served.header("etag").unwrap().to_owned();
    assert_eq!(client.get_with(&format!("/images/{id}/thumbnail"), &[("if-none-match", &etag)]).status, 304);
    kv.assert_consistent(&format!("an upload with kv_inline_blobs={inline}"));

    let keys: Vec<String> = kv.keys_of(&id).iter().filter(|k| k.starts_with("img/")).map(|k| k.replace(&id, "{id}")).collect();
    let thumb = fixtures::decode(&thumbnail, ImageFormat::Jpeg).to_rgb8().into_raw();
    let variant = fixtures::decode(&variant, ImageFormat::Jpeg).to_rgb8().into_raw();
    // An inline manifest starts with 0x00, a JSON one with `{`.
    let first = kv.get(&format!("img/{id}/thumbnail/m")).unwrap().unwrap()[0];
    assert_eq!(first == store::blob::INLINE, inline == "true", "first byte {first:#04x}");
    Some((keys, thumb, variant))
}

#[test]
fn small_blobs_are_one_key_each_unless_kv_inline_blobs_is_off() {
    let photo = fixtures::jpeg(&fixtures::photo(1600, 1200, seed(8800)), 85);
    assert!(photo.len() < 900_000, "a phone-sized photo under one value: {}", photo.len());
    let Some((inline_keys, inline_thumb, inline_variant)) = stored_and_served("true", &photo) else {
        return;
    };
    let Some((chunked_keys, chunked_thumb, chunked_variant)) = stored_and_served("false", &photo) else {
        return;
    };
    let blobs = ["original", "thumbnail", "vector", "variant/clarendon"];
    let want = |chunks: bool| -> Vec<String> {
        let mut keys: Vec<String> = blobs
            .iter()
            .flat_map(|b| {
                let mut k = vec![format!("img/{{id}}/{b}/m")];
                if chunks {
                    k.push(format!("img/{{id}}/{b}/0"));
                }
                k
            })
            .chain(["img/{id}/meta".to_owned()])
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(inline_keys, want(false), "one key per blob by default");
    assert_eq!(chunked_keys, want(true), "a chunk and a manifest per blob with kv_inline_blobs=false");
    assert_eq!(inline_thumb, chunked_thumb, "the same thumbnail pixels either way");
    assert_eq!(inline_variant, chunked_variant, "the same variant pixels either way");
}

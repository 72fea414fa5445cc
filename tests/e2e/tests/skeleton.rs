//! The walking skeleton, end to end (issue 2's "Done when"), through the real components:
//! upload -> key-value blob store -> thumbnail + vectorize over service chaining -> media.
//!
//! Every test uploads images no other test uses (seeded per run, see
//! `fixtures::run_nonce`), so the tests run in parallel against one shared app and pass
//! against a long-lived `spin up` as well.

use std::collections::HashSet;

use darkroom_e2e::client::encode_query_value;
use darkroom_e2e::expect::{self, THUMBNAIL_SIZE, Upload};
use darkroom_e2e::fixtures::{self, Part, seed};
use darkroom_e2e::{Client, Reply, app, dedicated_host};
use image::ImageFormat;
use serde_json::Value;

/// `POST /api/images` with a raw body; returns the reply.
fn upload(client: &Client, bytes: &[u8], content_type: &str) -> Reply {
    client.post("/api/images", bytes, content_type)
}

/// Uploads fresh bytes and checks the 201 reply; returns the image id.
#[track_caller]
fn upload_new(client: &Client, upload_: &Upload<'_>) -> String {
    let reply = upload(client, upload_.bytes, "application/octet-stream");
    let object = expect::json(&reply, 201);
    let id = expect::image_object(&object, upload_, &reply);
    assert_eq!(reply.header("location"), Some(format!("/api/images/{id}").as_str()), "{reply}");
    expect::within_memory_budget(&reply);
    id
}

/// Everything issue 2 asks of one uploaded image: the documented 201 JSON, an
/// idempotent re-upload, the object, the byte-identical original with its caching
/// headers and 304, and a thumbnail that fits 128x128 with the original's aspect.
fn upload_roundtrip(bytes: &[u8], format: &str, mime: &str, width: u32, height: u32, sent_as: &str) {
    let app = app();
    let expected = Upload { bytes, format, width, height };

    // 201 Created, Location, the documented object. Content-Type is not trusted.
    let reply = upload(app, bytes, sent_as);
    let created = expect::json(&reply, 201);
    let id = expect::image_object(&created, &expected, &reply);
    assert_eq!(reply.header("location"), Some(format!("/api/images/{id}").as_str()), "{reply}");
    expect::within_memory_budget(&reply);

    // The same bytes again: 200, same id.
    let again = upload(app, bytes, "application/octet-stream");
    let object = expect::json(&again, 200);
    assert_eq!(expect::image_object(&object, &expected, &again), id);

    // GET /api/images/{id}: the same object.
    let reply = app.get(&format!("/api/images/{id}"));
    let object = expect::json(&reply, 200);
    assert_eq!(expect::image_object(&object, &expected, &reply), id);
    assert_eq!(object["thumbnail"], created["thumbnail"], "{reply}");
    assert_eq!(object["vector"], created["vector"], "{reply}");

    // The original: byte-identical, SHA-256 = id, sniffed type, caching headers, 304.
    let original = app.get(&format!("/images/{id}"));
    expect::immutable_blob(&original, mime);
    assert_eq!(original.header("etag"), Some(format!("\"{id}\"").as_str()), "{original}");
    assert!(original.body == bytes, "original differs from the upload ({} vs {} bytes)", original.body.len(), bytes.len());
    assert_eq!(fixtures::sha256_hex(&original.body), id);
    let etag = format!("\"{id}\"");
    let not_modified = app.get_with(&format!("/images/{id}"), &[("if-none-match", &etag)]);
    not_modified.expect_status(304);
    assert!(not_modified.body.is_empty(), "304 has no body\n{not_modified}");

    // The thumbnail: a JPEG that fits 128x128 with the original's aspect, as announced.
    let thumbnail = app.get(&format!("/images/{id}/thumbnail"));
    expect::immutable_blob(&thumbnail, "image/jpeg");
    let decoded = fixtures::decode(&thumbnail.body, ImageFormat::Jpeg);
    let dims = (decoded.width(), decoded.height());
    expect::fits(dims, (width, height), THUMBNAIL_SIZE);
    assert_eq!(
        (u64::from(dims.0), u64::from(dims.1)),
        (created["thumbnail"]["width"].as_u64().unwrap(), created["thumbnail"]["height"].as_u64().unwrap()),
        "the stored thumbnail has the announced size"
    );
    let thumb_etag = thumbnail.header("etag").unwrap().to_string();
    let not_modified =
        app.get_with(&format!("/images/{id}/thumbnail"), &[("if-none-match", &thumb_etag)]);
    not_modified.expect_status(304);
    expect::placeholder_of(&created["placeholder"], &decoded.to_rgb8());
}

#[test]
fn healthz_reports_ok() {
    let reply = app().get("/healthz");
    let body = expect::json(&reply, 200);
    assert_eq!(body["status"], "ok", "{reply}");
    // Other methods are refused as on every route (the contract fuzzer found a 200).
    for reply in [app().delete("/healthz"), app().post("/healthz", b"", "text/plain")] {
        expect::problem(&reply, 405);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{reply}");
    }
}

#[test]
fn jpeg_upload_roundtrip() {
    let bytes = fixtures::jpeg(&fixtures::photo(1200, 800, seed(1)), 85);
    upload_roundtrip(&bytes, "jpeg", "image/jpeg", 1200, 800, "application/octet-stream");
}

#[test]
fn png_upload_roundtrip() {
    // Sent with a lying Content-Type: the format comes from the magic bytes.
    let bytes = fixtures::png(&fixtures::photo(640, 480, seed(2)));
    upload_roundtrip(&bytes, "png", "image/png", 640, 480, "image/jpeg");
}

#[test]
fn multipart_upload_of_two_files() {
    let app = app();
    let jpeg = fixtures::jpeg(&fixtures::photo(300, 200, seed(3)), 85);
    let png = fixtures::png(&fixtures::photo(200, 300, seed(4)));
    let (content_type, body) = fixtures::multipart(&[
        Part { name: "file", filename: "a.jpg", content_type: "image/jpeg", bytes: &jpeg },
        // File name and part type lie; the bytes decide.
        Part { name: "file", filename: "notes.txt", content_type: "text/plain", bytes: &png },
    ]);
    let reply = app.post("/api/images", &body, &content_type);
    let batch = expect::json(&reply, 201);
    let images = batch["images"].as_array().unwrap_or_else(|| panic!("{{\"images\": [...]}}\n{reply}"));
    assert_eq!(images.len(), 2, "one object per file\n{reply}");
    let uploads = [
        Upload { bytes: &jpeg, format: "jpeg", width: 300, height: 200 },
        Upload { bytes: &png, format: "png", width: 200, height: 300 },
    ];
    let mut seen = HashSet::new();
    for object in images {
        let which = uploads
            .iter()
            .find(|u| object["id"].as_str() == Some(&fixtures::sha256_hex(u.bytes)))
            .unwrap_or_else(|| panic!("unexpected object {object}\n{reply}"));
        seen.insert(expect::image_object(object, which, &reply));
    }
    assert_eq!(seen.len(), 2, "both files, once each\n{reply}");
    for id in &seen {
        app.get(&format!("/images/{id}")).expect_status(200);
    }
}

#[test]
fn stateless_thumbnail() {
    let app = app();
    let bytes = fixtures::jpeg(&fixtures::photo(400, 300, seed(5)), 85);
    let reply = app.post("/api/thumbnail?size=64", &bytes, "image/jpeg");
    reply.expect_status(200);
    assert_eq!(reply.media_type().as_deref(), Some("image/jpeg"), "{reply}");
    let thumb = fixtures::decode(&reply.body, ImageFormat::Jpeg);
    expect::fits((thumb.width(), thumb.height()), (400, 300), 64);
    // Where the time went (docs/performance.md, "Per-request cost"): the component's stages
    // in Server-Timing, in order, each a duration in ms; no placeholder is made for an
    // answer that has nowhere to put it. The test host adds its instantiation time.
    let timing = reply.header("server-timing").unwrap_or_default();
    let stages: Vec<(&str, f64)> = timing
        .split(", ")
        .filter_map(|s| s.split_once(";dur="))
        .map(|(name, ms)| (name, ms.parse().unwrap_or(f64::NAN)))
        .collect();
    let names: Vec<&str> = stages.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["settings", "read", "header", "decode", "resize", "encode"], "{timing}");
    assert!(stages.iter().all(|(_, ms)| *ms >= 0.0 && *ms < 10_000.0), "{timing}");
    if reply.header(darkroom_host::PEAK_MEMORY_HEADER).is_some() {
        let us = reply.header(darkroom_host::INSTANTIATE_US_HEADER).and_then(|v| v.parse::<u64>().ok());
        assert!(us.is_some_and(|us| us > 0), "{:?}", reply.header(darkroom_host::INSTANTIATE_US_HEADER));
    }
    // Stateless: nothing was stored.
    let id = fixtures::sha256_hex(&bytes);
    expect::problem(&app.get(&format!("/api/images/{id}")), 404);

    // EXIF orientation 6 (rotate 90° clockwise): a landscape file shows as portrait.
    let rotated = imaging::testkit::with_exif_orientation(&bytes, 6);
    let reply = app.post("/api/thumbnail?size=64", &rotated, "image/jpeg");
    reply.expect_status(200);
    let thumb = fixtures::decode(&reply.body, ImageFormat::Jpeg);
    expect::fits((thumb.width(), thumb.height()), (300, 400), 64);

    // A valid image with an unusable size: 422, then the server goes on.
    expect::problem(&app.post("/api/thumbnail?size=5000", &bytes, "image/jpeg"), 422);
    expect::still_serving(app);
    // A non-image: 415.
    expect::problem(&app.post("/api/thumbnail?size=64", b"plain text", "image/jpeg"), 415);
    expect::still_serving(app);
}

#[test]
fn vector_is_unit_norm_and_matches_stateless_vectorize() {
    let app = app();
    let bytes = fixtures::png(&fixtures::photo(320, 240, seed(6)));
    let id = upload_new(app, &Upload { bytes: &bytes, format: "png", width: 320, height: 240 });
    let meta = app.get(&format!("/api/images/{id}")).json();

    let reply = app.get(&format!("/api/images/{id}/vector"));
    let stored = expect::json(&reply, 200);
    assert_eq!(stored["id"].as_str(), Some(id.as_str()), "{reply}");
    let vector = expect::vector(&stored["vector"]);
    assert_eq!(stored["dims"].as_u64(), Some(vector.len() as u64), "dims = vector length\n{reply}");
    assert_eq!(stored["dims"], meta["vector"]["dims"], "dims as announced on upload");
    assert!((expect::norm(&vector) - 1.0).abs() < 1e-3, "unit norm: {}", expect::norm(&vector));
    let phash = stored["phash"].as_str().unwrap_or_else(|| panic!("phash\n{reply}"));
    assert!(!phash.is_empty() && phash.bytes().all(|b| b.is_ascii_hexdigit()), "phash is hex: {phash}");

    // The stateless step computes the same features from the same bytes.
    let reply = app.post("/api/vectorize", &bytes, "application/octet-stream");
    let fresh = expect::json(&reply, 200);
    let fresh_vector = expect::vector(&fresh["vector"]);
    assert_eq!(fresh["dims"].as_u64(), Some(fresh_vector.len() as u64), "{reply}");
    assert_eq!(fresh_vector.len(), vector.len(), "same dims as the stored vector");
    assert!(expect::cosine(&vector, &fresh_vector) > 0.999, "same features for the same bytes");
    assert_eq!(fresh["phash"].as_str(), Some(phash), "same phash for the same bytes");

    expect::problem(&app.post("/api/vectorize", b"<html></html>", "image/png"), 415);
    expect::still_serving(app);
}

#[test]
fn similar_ranks_the_resized_copy_first() {
    let app = app();
    let scene = fixtures::photo(480, 360, seed(7));
    let original = fixtures::jpeg(&scene, 90);
    let copy = fixtures::jpeg(&fixtures::resized(&scene, 240, 180), 80);
    let id = upload_new(app, &Upload { bytes: &original, format: "jpeg", width: 480, height: 360 });
    let mut others = Vec::new();
    for n in 0..4 {
        let bytes = fixtures::jpeg(&fixtures::photo(320, 240, seed(70 + n)), 85);
        others.push(upload_new(app, &Upload { bytes: &bytes, format: "jpeg", width: 320, height: 240 }));
    }
    let copy_id = upload_new(app, &Upload { bytes: &copy, format: "jpeg", width: 240, height: 180 });

    let reply = app.get(&format!("/api/images/{id}/similar?k=5"));
    let similar = expect::json(&reply, 200);
    assert_eq!(similar["id"].as_str(), Some(id.as_str()), "{reply}");
    let results = similar["results"].as_array().unwrap_or_else(|| panic!("results\n{reply}"));
    assert!(!results.is_empty() && results.len() <= 5, "1..=k results\n{reply}");
    assert_eq!(results[0]["id"].as_str(), Some(copy_id.as_str()), "the resized copy ranks first\n{reply}");
    let mut previous = f64::INFINITY;
    for result in results {
        let rid = result["id"].as_str().unwrap_or_else(|| panic!("results[].id\n{reply}"));
        assert_ne!(rid, id, "the image itself is excluded\n{reply}");
        let score = result["score"].as_f64().unwrap_or_else(|| panic!("results[].score\n{reply}"));
        assert!((-1.0 - 1e-4..=1.0 + 1e-4).contains(&score), "score in [-1, 1]: {score}\n{reply}");
        assert!(score <= previous + 1e-9, "best first\n{reply}");
        previous = score;
    }
    // The distinct photos score below the copy.
    let copy_score = results[0]["score"].as_f64().unwrap();
    for result in &results[1..] {
        if others.iter().any(|o| result["id"].as_str() == Some(o)) {
            assert!(result["score"].as_f64().unwrap() < copy_score, "{reply}");
        }
    }
}

/// Pages through `GET /api/images?limit=` until `wanted` are all seen (or the end);
/// returns the ids in order. Fails on a duplicate.
fn list_until(client: &Client, limit: usize, wanted: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    for _page in 0..1000 {
        let path = match &cursor {
            None => format!("/api/images?limit={limit}"),
            Some(c) => format!("/api/images?limit={limit}&cursor={}", encode_query_value(c)),
        };
        let reply = client.get(&path);
        let page = expect::json(&reply, 200);
        let images = page["images"].as_array().unwrap_or_else(|| panic!("images\n{reply}"));
        assert!(images.len() <= limit, "at most `limit` per page\n{reply}");
        for image in images {
            let id = image["id"].as_str().unwrap_or_else(|| panic!("images[].id\n{reply}"));
            assert!(seen.insert(id.to_string()), "duplicate {id} across pages\n{reply}");
            ids.push(id.to_string());
        }
        if wanted.iter().all(|w| seen.contains(w)) {
            return ids;
        }
        match &page["next"] {
            Value::Null => return ids,
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("next is a string or null, not {other}\n{reply}"),
        }
        assert!(!images.is_empty(), "a page with a `next` cursor has entries\n{reply}");
    }
    panic!("the listing did not end after 1000 pages");
}

#[test]
fn listing_is_newest_first_and_paged_without_duplicates() {
    let app = app();
    let mut mine = Vec::new();
    for n in 0..3 {
        let bytes = fixtures::jpeg(&fixtures::photo(160, 120, seed(80 + n)), 80);
        mine.push(upload_new(app, &Upload { bytes: &bytes, format: "jpeg", width: 160, height: 120 }));
    }
    let listed = list_until(app, 2, &mine);
    let position = |id: &String| {
        listed.iter().position(|l| l == id).unwrap_or_else(|| panic!("{id} missing from the listing {listed:?}"))
    };
    let (first, second, third) = (position(&mine[0]), position(&mine[1]), position(&mine[2]));
    assert!(third < second && second < first, "newest first: positions {first}, {second}, {third} of {listed:?}");

    // A listing entry is the image object.
    let reply = app.get("/api/images?limit=1");
    let page = expect::json(&reply, 200);
    let entry = &page["images"][0];
    assert!(entry["id"].is_string() && entry["format"].is_string() && entry["urls"].is_object(), "{reply}");
}

#[test]
fn delete_removes_the_image_and_everything_derived() {
    let app = app();
    let bytes = fixtures::jpeg(&fixtures::photo(200, 150, seed(9)), 85);
    let expected = Upload { bytes: &bytes, format: "jpeg", width: 200, height: 150 };
    let id = upload_new(app, &expected);
    assert!(list_until(app, 50, std::slice::from_ref(&id)).contains(&id), "listed after upload");

    let reply = app.delete(&format!("/api/images/{id}"));
    reply.expect_status(204);
    assert!(reply.body.is_empty(), "204 has no body\n{reply}");
    for path in [
        format!("/images/{id}"),
        format!("/images/{id}/thumbnail"),
        format!("/api/images/{id}/vector"),
        format!("/api/images/{id}/similar"),
        format!("/api/images/{id}"),
    ] {
        expect::problem(&app.get(&path), 404);
    }
    assert!(!list_until(app, 100, &[]).contains(&id), "gone from the listing");

    // Nothing was left behind: the same bytes are a new upload again.
    let again = upload_new(app, &expected);
    assert_eq!(again, id);
    app.get(&format!("/images/{id}/thumbnail")).expect_status(200);
}

#[test]
fn non_images_are_refused_with_415() {
    let app = app();
    let cases: [(&str, &[u8], &str); 5] = [
        ("text", b"just some text, not an image\n", "text/plain"),
        ("html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "image/png"),
        ("svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>", "image/svg+xml"),
        ("zero bytes", b"", "image/jpeg"),
        ("random bytes", &[0x13, 0x37, 0x00, 0xFF, 0x42, 0x99, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06], "application/octet-stream"),
    ];
    for (what, body, content_type) in cases {
        let reply = upload(app, body, content_type);
        let problem = expect::problem(&reply, 415);
        assert!(!problem["detail"].as_str().unwrap_or("").is_empty(), "{what}: a detail\n{reply}");
        expect::still_serving(app);
    }
    // A multipart body whose only file is not an image.
    let (content_type, body) = fixtures::multipart(&[Part {
        name: "file",
        filename: "photo.jpg",
        content_type: "image/jpeg",
        bytes: b"<html>not a photo</html>",
    }]);
    expect::problem(&app.post("/api/images", &body, &content_type), 415);
    expect::still_serving(app);
}

#[test]
fn headers_over_max_pixels_are_refused_with_413() {
    // Default max_pixels is 50,000,000: these headers claim far more. Only the header can
    // be read (the data is a tiny image's), so this also shows the check precedes decoding.
    let app = app();
    for (what, body) in [
        ("png 20000x20000", fixtures::png_claiming(20_000, 20_000)),
        ("jpeg 60000x60000", fixtures::jpeg_claiming(60_000, 60_000)),
    ] {
        let reply = upload(app, &body, "application/octet-stream");
        expect::problem(&reply, 413);
        expect::within_memory_budget(&reply);
        eprintln!("{what}: 413 as expected");
        expect::still_serving(app);
    }
    let reply = app.post("/api/thumbnail", &fixtures::png_claiming(20_000, 20_000), "image/png");
    expect::problem(&reply, 413);
    expect::still_serving(app);
}

#[test]
fn unknown_ids_are_404() {
    let app = app();
    let unknown = fixtures::sha256_hex(format!("never uploaded {}", fixtures::run_nonce()).as_bytes());
    for id in [unknown.as_str(), "not-an-id", "ABCDEF", &"g".repeat(64)] {
        for path in [
            format!("/api/images/{id}"),
            format!("/images/{id}"),
            format!("/images/{id}/thumbnail"),
            format!("/api/images/{id}/vector"),
            format!("/api/images/{id}/similar"),
        ] {
            expect::problem(&app.get(&path), 404);
            expect::still_serving(app);
        }
    }
    expect::problem(&app.delete(&format!("/api/images/{unknown}")), 404);
    expect::still_serving(app);
}

#[test]
fn over_limit_uploads_on_a_small_host_are_413() {
    let Some(host) = dedicated_host(
        "over_limit_uploads_on_a_small_host_are_413",
        &[("max_upload_bytes", "20000"), ("max_pixels", "10000")],
    ) else {
        return;
    };
    let client = host.client();

    // Within both limits (60x60 = 3600 px, a few kB): accepted.
    let small = fixtures::jpeg(&fixtures::photo(60, 60, seed(10)), 80);
    assert!(small.len() < 20_000);
    upload_new(&client, &Upload { bytes: &small, format: "jpeg", width: 60, height: 60 });

    // Over max_upload_bytes (the same small image padded past 20,000 bytes): 413.
    let mut padded = small.clone();
    padded.resize(30_000, 0);
    expect::problem(&upload(&client, &padded, "image/jpeg"), 413);
    expect::still_serving(&client);

    // Over max_pixels (200x200 = 40,000 px) though small in bytes: 413.
    let big = fixtures::jpeg(&fixtures::photo(200, 200, seed(11)), 30);
    assert!(big.len() < 20_000, "{} bytes", big.len());
    expect::problem(&upload(&client, &big, "image/jpeg"), 413);
    expect::still_serving(&client);
    expect::problem(&client.post("/api/thumbnail?size=64", &big, "image/jpeg"), 413);
    expect::still_serving(&client);

    // A multipart body over max_upload_bytes: 413.
    let (content_type, body) = fixtures::multipart(&[
        Part { name: "file", filename: "a.jpg", content_type: "image/jpeg", bytes: &padded },
    ]);
    expect::problem(&client.post("/api/images", &body, &content_type), 413);
    expect::still_serving(&client);
    upload(&client, &small, "image/jpeg").expect_status(200);
}

#[test]
fn concurrent_uploads_are_all_listed_once() {
    let app = app();
    // 4 clients x 3 distinct images, all at once: no listing entry may be lost.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4u64)
            .map(|worker| {
                scope.spawn(move || {
                    let client = Client::new(app.base());
                    (0..3u64)
                        .map(|n| {
                            let img = fixtures::photo(96, 64, seed(1000 + worker * 10 + n));
                            let bytes = fixtures::jpeg(&img, 80);
                            upload_new(&client, &Upload { bytes: &bytes, format: "jpeg", width: 96, height: 64 })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("upload worker")).collect()
    });
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 12);
    let listed = list_until(app, 5, &ids);
    for id in &ids {
        assert!(listed.contains(id), "{id} lost from the listing under concurrent uploads");
    }

    // The same bytes from 4 clients at once: one id, listed once (`list_until` fails on
    // a duplicate), every answer 200 or 201.
    let bytes = fixtures::jpeg(&fixtures::photo(96, 64, seed(1100)), 80);
    let expected = Upload { bytes: &bytes, format: "jpeg", width: 96, height: 64 };
    let same: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (bytes, expected) = (&bytes, &expected);
                scope.spawn(move || {
                    let reply = upload(&Client::new(app.base()), bytes, "image/jpeg");
                    assert!(matches!(reply.status, 200 | 201), "{reply}");
                    expect::image_object(&reply.json(), expected, &reply)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("upload worker")).collect()
    });
    assert!(same.iter().all(|id| *id == same[0]));
    let listed = list_until(app, 5, &same[..1]);
    assert_eq!(listed.iter().filter(|l| **l == same[0]).count(), 1);
}

#[test]
fn a_multi_megabyte_jpeg_is_chunked_and_fits_the_memory_budget() {
    // ~2 MB of JPEG: more than one 1 MB key-value value (the in-process host enforces
    // Fermyon Cloud's cap), 6 MP to decode for the thumbnail and the vector.
    let app = app();
    let (width, height) = (3000, 2000);
    let bytes = fixtures::jpeg(&fixtures::photo(width, height, seed(12)), 95);
    assert!(bytes.len() > 1_000_000, "{} bytes: not over one KV value", bytes.len());
    let reply = upload(app, &bytes, "image/jpeg");
    let object = expect::json(&reply, 201);
    let id = expect::image_object(&object, &Upload { bytes: &bytes, format: "jpeg", width, height }, &reply);
    expect::within_memory_budget(&reply);
    if let Some(peak) = reply.peak_memory() {
        darkroom_e2e::target::notice(&format!("e2e: {width}x{height} JPEG upload: peak memory {peak} B"));
    }

    let original = app.get(&format!("/images/{id}"));
    original.expect_status(200);
    assert!(original.body == bytes, "original reassembled from chunks differs");
    expect::within_memory_budget(&original);
    let thumbnail = app.get(&format!("/images/{id}/thumbnail"));
    let decoded = fixtures::decode(&thumbnail.body, ImageFormat::Jpeg);
    expect::fits((decoded.width(), decoded.height()), (width, height), THUMBNAIL_SIZE);

    // The stateless steps on the same bytes stay within budget too.
    let reply = app.post("/api/thumbnail?size=256", &bytes, "image/jpeg");
    reply.expect_status(200);
    expect::within_memory_budget(&reply);
    let reply = app.post("/api/vectorize", &bytes, "image/jpeg");
    expect::json(&reply, 200);
    expect::within_memory_budget(&reply);
}

#[test]
fn malformed_listing_queries_are_400() {
    let app = app();
    for path in ["/api/images?limit=abc", "/api/images?limit=-1", "/api/images?cursor=%00not-a-cursor%FF"] {
        expect::problem(&app.get(path), 400);
        expect::still_serving(app);
    }
}

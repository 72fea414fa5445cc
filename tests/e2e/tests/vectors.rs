//! Vectors end to end (issue 4): `/similar` over packed segments and loose vectors,
//! `POST /api/vectorize/batch`, and the SIMD wasm build checked against the native
//! (scalar-reference) build of the same code on real generated photos.
//!
//! Every test uploads images no other test uses (seeded per run), so they run in
//! parallel against one shared app, and against a long-lived `spin up` too.

use darkroom_e2e::expect::{self, Upload};
use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::{Client, app, dedicated_host};
use image::RgbImage;
use serde_json::{Value, json};

/// Uploads `bytes` (new to the server) and returns the id.
#[track_caller]
fn upload(client: &Client, bytes: &[u8], width: u32, height: u32) -> String {
    let format = match fixtures::guess(bytes) {
        Some(image::ImageFormat::Png) => "png",
        _ => "jpeg",
    };
    let reply = client.post("/api/images", bytes, "application/octet-stream");
    let object = expect::json(&reply, 201);
    expect::image_object(
        &object,
        &Upload {
            bytes,
            format,
            width,
            height,
        },
        &reply,
    )
}

/// A scene and its variants (resized, recompressed, converted), uploaded; returns
/// `(original id, variant ids)`.
fn scene_with_variants(client: &Client, n: u64) -> (String, Vec<String>) {
    let scene = fixtures::photo(480, 360, seed(n));
    let id = upload(client, &fixtures::jpeg(&scene, 90), 480, 360);
    let small = fixtures::resized(&scene, 240, 180);
    let variants = vec![
        upload(client, &fixtures::jpeg(&small, 80), 240, 180),
        upload(client, &fixtures::jpeg(&scene, 40), 480, 360),
        upload(client, &fixtures::png(&scene), 480, 360),
    ];
    (id, variants)
}

/// `GET /similar`: the results as `(id, score)`, checked against the contract.
#[track_caller]
fn similar(client: &Client, id: &str, k: usize) -> Vec<(String, f32)> {
    let reply = client.get(&format!("/api/images/{id}/similar?k={k}"));
    let body = expect::json(&reply, 200);
    expect::within_memory_budget(&reply);
    assert_eq!(body["id"].as_str(), Some(id), "{reply}");
    let results: Vec<(String, f32)> = body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results\n{reply}"))
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["score"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    assert!(results.len() <= k, "at most k results\n{reply}");
    assert!(
        results.iter().all(|(r, _)| r != id),
        "the image itself is excluded\n{reply}"
    );
    assert!(
        results.windows(2).all(|w| w[0].1 >= w[1].1),
        "best first\n{reply}"
    );
    assert!(
        results.iter().all(|(_, s)| (-1.0001..=1.0001).contains(s)),
        "{reply}"
    );
    results
}

fn stored_vector(client: &Client, id: &str) -> Vec<f32> {
    let reply = client.get(&format!("/api/images/{id}/vector"));
    expect::vector(&expect::json(&reply, 200)["vector"])
}

#[test]
fn similar_ranks_own_variants_first_and_scores_match_the_native_dot() {
    let app = app();
    let (id, variants) = scene_with_variants(app, 100);
    let (other, _) = (
        upload(
            app,
            &fixtures::jpeg(&fixtures::photo(480, 360, seed(101)), 85),
            480,
            360,
        ),
        (),
    );
    let results = similar(app, &id, 10);
    let top: Vec<&str> = results
        .iter()
        .take(variants.len())
        .map(|(r, _)| r.as_str())
        .collect();
    for v in &variants {
        assert!(
            top.contains(&v.as_str()),
            "variant {v} ranks in the first {}: {results:?}",
            variants.len()
        );
    }
    // Scores computed by the SIMD wasm build equal the native dot product of the stored
    // vectors (serde_json round-trips f32 exactly).
    let query = stored_vector(app, &id);
    for (rid, score) in results
        .iter()
        .filter(|(r, _)| variants.contains(r) || *r == other)
    {
        let native = vectors::dot(&query, &stored_vector(app, rid));
        assert!(
            (native - score).abs() < 1e-5,
            "{rid}: wasm {score} vs native {native}"
        );
    }
}

#[test]
fn similar_k_is_bounded() {
    let app = app();
    let id = upload(
        app,
        &fixtures::jpeg(&fixtures::photo(200, 150, seed(110)), 85),
        200,
        150,
    );
    assert!(similar(app, &id, 1).len() <= 1);
    for (k, status) in [
        ("0", 422),
        ("101", 422),
        ("99999999999999999999999", 422),
        ("abc", 400),
        ("-1", 400),
        ("1.5", 400),
    ] {
        let reply = app.get(&format!("/api/images/{id}/similar?k={k}"));
        expect::problem(&reply, status);
    }
    let reply = app.get(&format!("/api/images/{}/similar", "0".repeat(64)));
    expect::problem(&reply, 404);
}

#[test]
fn similar_is_right_after_a_delete() {
    let app = app();
    let (id, variants) = scene_with_variants(app, 120);
    let before = similar(app, &id, 10);
    assert!(before.iter().any(|(r, _)| *r == variants[0]), "{before:?}");
    assert_eq!(
        app.delete(&format!("/api/images/{}", variants[0])).status,
        204
    );
    let after = similar(app, &id, 10);
    assert!(
        after.iter().all(|(r, _)| *r != variants[0]),
        "deleted image still found: {after:?}"
    );
    assert!(after.iter().any(|(r, _)| *r == variants[1]), "{after:?}");
    expect::problem(
        &app.get(&format!("/api/images/{}/similar", variants[0])),
        404,
    );
}

/// With `vector_segment_min=3` a search packs the loose vectors into a segment; the next
/// searches read it (the `darkroom-search` header says how) and answer the same, and a
/// delete hides the image's row in the segment.
#[test]
fn similar_reads_packed_segments() {
    let Some(host) = dedicated_host(
        "similar_reads_packed_segments",
        &[("vector_segment_min", "3")],
    ) else {
        return;
    };
    let client = host.client();
    let (id, variants) = scene_with_variants(&client, 130);
    for n in 0..3 {
        upload(
            &client,
            &fixtures::jpeg(&fixtures::photo(320, 240, seed(131 + n)), 85),
            320,
            240,
        );
    }
    let counts =
        |reply: &darkroom_e2e::Reply| reply.header("darkroom-search").unwrap_or("").to_owned();
    let first = client.get(&format!("/api/images/{id}/similar?k=10"));
    assert!(
        counts(&first).contains("view=listing") && counts(&first).contains("loose=7"),
        "all loose before compaction, found by listing the keys\n{first}"
    );
    // The first search compacted and left a catalog: the next ones do not list.
    let second = client.get(&format!("/api/images/{id}/similar?k=10"));
    assert!(
        counts(&second).contains("view=catalog ")
            && counts(&second).contains("segments=1")
            && counts(&second).contains("loose=0"),
        "{second}"
    );
    assert_eq!(
        expect::json(&first, 200)["results"],
        expect::json(&second, 200)["results"]
    );

    assert_eq!(
        client
            .delete(&format!("/api/images/{}", variants[2]))
            .status,
        204
    );
    let after = similar(&client, &id, 10);
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(after.iter().all(|(r, _)| *r != variants[2]));
    // New uploads are found while loose, next to the segment.
    let late = upload(
        &client,
        &fixtures::jpeg(
            &fixtures::resized(&fixtures::photo(480, 360, seed(130)), 300, 225),
            85,
        ),
        300,
        225,
    );
    let reply = client.get(&format!("/api/images/{id}/similar?k=10"));
    assert!(
        counts(&reply).contains("view=listing") && counts(&reply).contains("loose=1"),
        "an upload makes the next search list again\n{reply}"
    );
    assert!(similar(&client, &id, 3).iter().any(|(r, _)| *r == late));
    let reply = client.get(&format!("/api/images/{id}/similar?k=10"));
    assert!(
        counts(&reply).contains("view=catalog ") && counts(&reply).contains("loose=1"),
        "the catalog lists the loose vector too\n{reply}"
    );
}

/// Segments hold int8 sketches; the component shortlists with the wasm SIMD integer dot
/// product and re-scores the shortlist from the f32 vectors. Its answers must equal a
/// native brute force (`vectors::dot` over every stored vector, `TopK`), ids and scores,
/// for every k — a SIMD miscompile or a bound too tight would drop a true winner.
#[test]
fn similar_over_sketches_equals_the_native_brute_force() {
    let Some(host) = dedicated_host(
        "similar_over_sketches_equals_the_native_brute_force",
        &[("vector_segment_min", "3")],
    ) else {
        return;
    };
    let client = host.client();
    let ids: Vec<String> = (0..36)
        .map(|n| {
            let photo = fixtures::photo(160, 120, seed(400 + n % 18));
            // Pairs of near-duplicates: the same scene, recompressed.
            upload(&client, &fixtures::jpeg(&photo, if n < 18 { 90 } else { 60 }), 160, 120)
        })
        .collect();
    let vectors: Vec<Vec<f32>> = ids.iter().map(|id| stored_vector(&client, id)).collect();
    // The first search lists and packs everything into one segment of sketches.
    let reply = client.get(&format!("/api/images/{}/similar?k=3", ids[0]));
    expect::json(&reply, 200);
    for (q, id) in ids.iter().enumerate().step_by(5) {
        for k in [1, 3, 10, 35] {
            let reply = client.get(&format!("/api/images/{id}/similar?k={k}"));
            let counts = reply.header("darkroom-search").unwrap_or("").to_owned();
            assert!(
                counts.contains("view=catalog ") && counts.contains("rows=36 loose=0"),
                "{reply}"
            );
            let mut top = vectors::TopK::new(k);
            for (o, other) in ids.iter().enumerate().filter(|(o, _)| *o != q) {
                top.offer(vectors::dot(&vectors[q], &vectors[o]), other.clone());
            }
            let want = top.into_sorted();
            assert_eq!(similar(&client, id, k), want, "query {q}, k {k}");
            if k == 1 {
                let fetched: usize = counts
                    .split("fetched=")
                    .nth(1)
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or_else(|| panic!("{counts}"));
                assert!(fetched < 10, "the sketches prune: {counts}");
            }
        }
    }
}

#[test]
fn batch_statistics_over_stored_vectors() {
    let app = app();
    let scene = fixtures::photo(480, 360, seed(140));
    let a = upload(app, &fixtures::jpeg(&scene, 90), 480, 360);
    let a_small = upload(
        app,
        &fixtures::jpeg(&fixtures::resized(&scene, 240, 180), 85),
        240,
        180,
    );
    let b = upload(
        app,
        &fixtures::jpeg(&fixtures::photo(400, 300, seed(141)), 85),
        400,
        300,
    );
    let c = upload(
        app,
        &fixtures::png(&fixtures::photo(300, 300, seed(142))),
        300,
        300,
    );
    let ids = [a.clone(), a_small.clone(), b, c];

    let reply = app.post_json("/api/vectorize/batch", &json!({ "ids": ids }));
    let body = expect::json(&reply, 200);
    let dims = body["dims"].as_u64().unwrap() as usize;
    assert_eq!(body["n"], 4, "{reply}");
    assert_eq!(dims, stored_vector(app, &a).len());
    assert_eq!(expect::vector(&body["mean"]).len(), dims);
    let std = expect::vector(&body["std"]);
    assert!(
        std.len() == dims && std.iter().all(|s| *s >= 0.0),
        "{reply}"
    );
    let sim: Vec<Vec<f32>> = body["similarity"]
        .as_array()
        .unwrap()
        .iter()
        .map(expect::vector)
        .collect();
    assert_eq!(sim.len(), 4);
    for i in 0..4 {
        assert_eq!(sim[i].len(), 4);
        assert!(
            (sim[i][i] - 1.0).abs() < 1e-4,
            "diagonal ≈ 1: {}",
            sim[i][i]
        );
        for j in 0..4 {
            assert!((sim[i][j] - sim[j][i]).abs() < 1e-5, "symmetric");
        }
    }
    let native = vectors::dot(&stored_vector(app, &a), &stored_vector(app, &ids[2]));
    assert!(
        (sim[0][2] - native).abs() < 1e-4,
        "wasm {} vs native {native}",
        sim[0][2]
    );
    let duplicates = body["duplicates"].as_array().unwrap();
    let pair = |d: &Value| -> [String; 2] {
        let text = |k: &str| d[k].as_str().unwrap_or("").to_owned();
        let mut p = [text("a"), text("b")];
        p.sort();
        p
    };
    let mut want = [a.clone(), a_small.clone()];
    want.sort();
    assert!(
        duplicates.iter().any(|d| pair(d) == want),
        "the resized copy is a duplicate\n{reply}"
    );
    assert!(
        duplicates
            .iter()
            .all(|d| d["score"].as_f64().unwrap() > 0.5),
        "{reply}"
    );
    let projection = body["projection"].as_array().unwrap();
    assert_eq!(projection.len(), 4);
    assert!(
        projection.iter().all(
            |p| expect::vector(p).len() == 2 && expect::vector(p).iter().all(|x| x.is_finite())
        )
    );
}

#[test]
fn bad_batch_requests_are_4xx_problems() {
    let app = app();
    let id = upload(
        app,
        &fixtures::jpeg(&fixtures::photo(160, 120, seed(150)), 85),
        160,
        120,
    );
    let post = |body: &[u8]| app.post("/api/vectorize/batch", body, "application/json");
    expect::problem(&post(br#"{"ids": []}"#), 422);
    expect::problem(&post(b"{\"ids\": [\"x\""), 400);
    expect::problem(&post(b"not json"), 400);
    expect::problem(&post(br#"{"ids": "abc"}"#), 400);
    expect::problem(&post(br#"{"ids": ["not-an-id"]}"#), 400);
    let (u1, u2) = ("1".repeat(64), "2".repeat(64));
    let reply = post(json!({ "ids": [id, u1, u2] }).to_string().as_bytes());
    let problem = expect::problem(&reply, 404);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&u1) && detail.contains(&u2) && !detail.contains(&id),
        "names the unknown ids\n{reply}"
    );
    let reply = app.get("/api/vectorize/batch");
    assert_eq!(reply.status, 405, "{reply}");
}

#[test]
fn batch_over_max_batch_is_refused() {
    let Some(host) = dedicated_host("batch_over_max_batch_is_refused", &[("max_batch", "2")])
    else {
        return;
    };
    let client = host.client();
    let ids: Vec<String> = (0..3)
        .map(|n| {
            upload(
                &client,
                &fixtures::jpeg(&fixtures::photo(160, 120, seed(160 + n)), 85),
                160,
                120,
            )
        })
        .collect();
    let reply = client.post_json("/api/vectorize/batch", &json!({ "ids": ids }));
    let problem = expect::problem(&reply, 422);
    assert!(
        problem["detail"].as_str().unwrap().contains("max_batch"),
        "{reply}"
    );
    let reply = client.post_json("/api/vectorize/batch", &json!({ "ids": ids[..2] }));
    assert_eq!(expect::json(&reply, 200)["n"], 2);
}

/// The SIMD wasm build's feature vectors equal the native build's (a scalar-reference
/// check against rust-lang/rust#157456) on photos of several sizes and formats.
#[test]
fn simd_vectors_equal_the_native_reference() {
    let app = app();
    let photos: Vec<(RgbImage, Vec<u8>)> = [
        (640u32, 480u32, 90u8),
        (333, 517, 75),
        (1200, 800, 85),
        (64, 64, 95),
    ]
    .iter()
    .enumerate()
    .flat_map(|(i, &(w, h, q))| {
        let img = fixtures::photo(w, h, seed(170 + i as u64));
        let jpeg = fixtures::jpeg(&img, q);
        let png = fixtures::png(&img);
        [(img.clone(), jpeg), (img, png)]
    })
    .collect();
    let mut worst = 0.0f32;
    for (_, bytes) in &photos {
        let reply = app.post("/api/vectorize", bytes, "application/octet-stream");
        let body = expect::json(&reply, 200);
        let wasm = expect::vector(&body["vector"]);
        let decoded =
            imaging::decode_at_least(bytes, &imaging::Limits::default(), vectors::DECODE_SIDE, vectors::DECODE_SIDE).unwrap();
        let native = vectors::extract(&decoded);
        assert_eq!(wasm.len(), native.vector.len(), "{reply}");
        let diff = wasm
            .iter()
            .zip(&native.vector)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        worst = worst.max(diff);
        assert!(
            diff < 1e-4,
            "wasm vs native vector: max abs diff {diff}\n{reply}"
        );
        assert_eq!(
            body["phash"].as_str(),
            Some(vectors::phash_hex(native.phash).as_str()),
            "{reply}"
        );
        let self_score = vectors::dot(&wasm, &native.vector);
        assert!((self_score - 1.0).abs() < 1e-4);
    }
    darkroom_e2e::target::notice(&format!(
        "e2e: SIMD vs native vectors, max abs diff {worst:e}"
    ));
}

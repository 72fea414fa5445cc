//! Image jobs through the real components under the test host (issue 11): `variant`,
//! `render`, `vectorize` call the render and vectorize components per image over service
//! chaining; `dedupe` and `cluster` read the stored vectors; bad requests write nothing.
//!
//! Each test starts its own host (a job over `"all"` needs a collection of its own); with
//! `BASE_URL` set they are skipped.

use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::{Client, Reply, dedicated_host, expect};
use image::ImageFormat;
use serde_json::{Value, json};
use store::{BlobKind, KeyValue as _};

/// Uploads `bytes` (new to this host) and answers the id.
#[track_caller]
fn upload(client: &Client, bytes: &[u8]) -> String {
    let reply = client.post("/api/images", bytes, "application/octet-stream");
    expect::json(&reply, 201)["id"].as_str().unwrap().to_owned()
}

/// Creates a job and drives it with `run` until it ends: the final job object.
#[track_caller]
fn run_job(client: &Client, body: Value) -> Value {
    let mut reply = client.post_json("/api/jobs", &body);
    let mut runs = 0;
    loop {
        expect::within_memory_budget(&reply);
        match reply.status {
            200 => return expect::json(&reply, 200),
            202 => {
                runs += 1;
                assert!(runs < 100, "the job makes no progress\n{reply}");
                let id = expect::json(&reply, 202)["id"].as_str().unwrap().to_owned();
                reply = client.post_json(&format!("/api/jobs/{id}/run"), &json!({}));
            }
            _ => panic!("driving the job failed\n{reply}"),
        }
    }
}

/// Runs a job that must succeed and answers its result.
#[track_caller]
fn result_of(client: &Client, body: Value) -> Value {
    let job = run_job(client, body);
    assert_eq!(job["state"], "succeeded", "{job}");
    let reply = client.get(job["result"].as_str().unwrap());
    expect::within_memory_budget(&reply);
    expect::json(&reply, 200)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[track_caller]
fn decoded(reply: &Reply, format: ImageFormat) -> image::DynamicImage {
    reply.expect_status(200);
    fixtures::decode(&reply.body, format)
}

#[test]
fn step_jobs_store_variants_prerender_the_cache_and_recompute_vectors() {
    let Some(host) = dedicated_host(
        "step_jobs_store_variants_prerender_the_cache_and_recompute_vectors",
        &[("auto_presets", "none"), ("variant_size", "256"), ("avif_max_pixels", "10000")],
    ) else {
        return;
    };
    let client = host.client();
    let ids: Vec<String> = (0..5).map(|n| upload(&client, &fixtures::jpeg(&fixtures::photo(480, 360, seed(7100 + n)), 85))).collect();
    for id in &ids {
        client.get(&format!("/images/{id}/variants/moon")).expect_status(404);
    }

    // variant over "all": every image's variant, at variant_size.
    let body = json!({"task": "variant", "input": {"images": "all"}, "params": {"preset": "moon"}, "shard_size": 2});
    let job = run_job(&client, body.clone());
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["input"], json!({"images": 5}));
    assert_eq!(job["shards"]["total"], 3);
    assert_eq!(job["items"], json!({"total": 5, "succeeded": 5, "failed": 0}));
    let status = expect::json(&client.get(&format!("/api/jobs/{}", job["id"].as_str().unwrap())), 200);
    assert_eq!((&status["input"], &status["state"]), (&json!({"images": 5}), &json!("succeeded")));
    let result = expect::json(&client.get(job["result"].as_str().unwrap()), 200);
    assert_eq!(result, json!({"images": 5, "succeeded": 5, "failed": []}));
    let mut first = Vec::new();
    for id in &ids {
        let reply = client.get(&format!("/images/{id}/variants/moon"));
        let img = decoded(&reply, ImageFormat::Jpeg);
        assert_eq!((img.width(), img.height()), (256, 192), "{id}");
        first.push(reply.body.clone());
    }
    // Twice is harmless: the same variants, byte for byte.
    assert_eq!(result_of(&client, body)["succeeded"], 5);
    for (id, bytes) in ids.iter().zip(&first) {
        assert_eq!(&client.get(&format!("/images/{id}/variants/moon")).body, bytes);
    }

    // render: a later GET of the same URL is a cache hit with the rendered pixels.
    let result = result_of(&client, json!({"task": "render", "input": {"images": ids}, "params": {"query": "w=120&format=webp"}}));
    assert_eq!(result["succeeded"], 5, "{result}");
    for id in &ids {
        let reply = client.get(&format!("/images/{id}/render?w=120&format=webp"));
        assert_eq!(reply.header("darkroom-cache"), Some("hit"), "{reply}");
        let img = decoded(&reply, ImageFormat::WebP);
        assert_eq!((img.width(), img.height()), (120, 90));
    }
    // An AVIF over the public avif_max_pixels (10,000) is 413 on the fly, and served from
    // the cache once a render job (avif_job_max_pixels) made it.
    let avif = format!("/images/{}/render?w=200&format=avif", ids[0]);
    expect::problem(&client.get(&avif), 413);
    let result = result_of(&client, json!({"task": "render", "input": {"images": [ids[0]]}, "params": {"query": "format=avif&w=200"}}));
    assert_eq!(result, json!({"images": 1, "succeeded": 1, "failed": []}));
    let reply = client.get(&avif);
    reply.expect_status(200);
    assert_eq!((reply.header("darkroom-cache"), reply.media_type().as_deref()), (Some("hit"), Some("image/avif")), "{reply}");
    assert_eq!(&reply.body[4..12], b"ftypavif", "not an AVIF file");
    // A public GET never gets the job budget: an AVIF no job made is still 413.
    expect::problem(&client.get(&format!("/images/{}/render?w=201&format=avif", ids[0])), 413);

    // vectorize: a vector left at an older feature version is recomputed as upload does.
    let kv = KvFile::new(host.state_dir());
    let manifest_key = store::keys::manifest(&ids[1], BlobKind::Vector).unwrap();
    let current = kv.store().blob_manifest(&ids[1], BlobKind::Vector).unwrap().unwrap();
    let mut old = current.clone();
    old.content_type = store::segments::vector_content_type(1);
    // The manifest in the form it is stored in: JSON, or (a blob this small) inline, the
    // JSON between a 0x00 byte and a newline that the vector's bytes follow.
    let stored = kv.get(&manifest_key).unwrap().unwrap();
    let old_json = serde_json::to_vec(&old).unwrap();
    let value = match stored.iter().position(|&b| b == b'\n') {
        Some(end) if stored[0] == store::blob::INLINE => [&[store::blob::INLINE][..], &old_json, &stored[end..]].concat(),
        _ => old_json,
    };
    kv.replace(&manifest_key, &value);
    let dedupe = json!({"task": "dedupe", "input": {"images": ids}, "tolerated_failure_percent": 50});
    let before = result_of(&client, dedupe.clone());
    assert_eq!(before["failed"].as_array().unwrap().len(), 1, "{before}");
    assert_eq!(before["failed"][0]["id"], json!(ids[1]));
    let result = result_of(&client, json!({"task": "vectorize", "input": {"images": "all"}}));
    assert_eq!(result, json!({"images": 5, "succeeded": 5, "failed": []}));
    assert_eq!(kv.store().blob_manifest(&ids[1], BlobKind::Vector).unwrap().unwrap(), current);
    assert_eq!(result_of(&client, dedupe)["failed"], json!([]));
    kv.assert_consistent("after the image jobs");
}

#[test]
fn dedupe_finds_the_near_duplicates_and_cluster_separates_two_scenes() {
    let Some(host) = dedicated_host("dedupe_finds_the_near_duplicates_and_cluster_separates_two_scenes", &[("auto_presets", "none")]) else {
        return;
    };
    let client = host.client();
    let scene_a = fixtures::photo(480, 360, seed(7200));
    let scene_b = fixtures::photo(480, 360, seed(7201));
    let copies = |scene: &image::RgbImage| {
        vec![
            upload(&client, &fixtures::jpeg(scene, 90)),
            upload(&client, &fixtures::jpeg(&fixtures::resized(scene, 240, 180), 80)),
            upload(&client, &fixtures::png(scene)),
        ]
    };
    let a = copies(&scene_a);
    let b = copies(&scene_b);
    let others: Vec<String> = (0..4).map(|n| upload(&client, &fixtures::jpeg(&fixtures::photo(400, 300, seed(7210 + n)), 85))).collect();

    // dedupe over a recompressed pair and distinct photos: exactly that pair.
    let input: Vec<&String> = [&a[0], &a[1]].into_iter().chain(&others).collect();
    let result = result_of(&client, json!({"task": "dedupe", "input": {"images": input}, "params": {"threshold": 0.9}, "shard_size": 2}));
    assert_eq!(result["groups"], json!([sorted(vec![a[0].clone(), a[1].clone()])]), "{result}");
    assert_eq!(result["images"], 6);
    // Over everything: the two scenes' copies, each group sorted, groups sorted.
    let all = result_of(&client, json!({"task": "dedupe", "input": {"images": "all"}}));
    let mut want = vec![sorted(a.clone()), sorted(b.clone())];
    want.sort();
    assert_eq!(all["groups"], json!(want), "{all}");

    // cluster k=2 over the two scenes' copies: one cluster each, centroid among them.
    let input: Vec<&String> = a.iter().chain(&b).collect();
    let result = result_of(&client, json!({"task": "cluster", "input": {"images": input}, "params": {"k": 2}, "shard_size": 4}));
    let clusters = result["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{result}");
    let mut got: Vec<Vec<String>> = clusters.iter().map(|c| serde_json::from_value(c["ids"].clone()).unwrap()).collect();
    got.sort();
    assert_eq!(got, want, "{result}");
    for c in clusters {
        assert!(c["ids"].as_array().unwrap().contains(&c["centroid_id"]), "{c}");
    }
    // Deterministic: the same job again gives the same output.
    let again = result_of(&client, json!({"task": "cluster", "input": {"images": input}, "params": {"k": 2}}));
    assert_eq!(again, result);
}

#[test]
fn bad_image_job_requests_get_problems_and_write_no_job() {
    let Some(host) = dedicated_host("bad_image_job_requests_get_problems_and_write_no_job", &[("auto_presets", "none"), ("max_cluster_images", "2")]) else {
        return;
    };
    let client = host.client();
    let ids: Vec<String> = (0..3).map(|n| upload(&client, &fixtures::jpeg(&fixtures::photo(160, 120, seed(7300 + n)), 85))).collect();
    let unknown = "0".repeat(64);
    let problem = |body: Value, status: u16| -> Value {
        let reply = client.post_json("/api/jobs", &body);
        expect::problem(&reply, status);
        reply.json()
    };
    let p = problem(json!({"task": "variant", "input": {"images": [ids[0], unknown]}, "params": {"preset": "moon"}}), 404);
    assert!(p["detail"].as_str().unwrap().contains(&unknown), "{p}");
    let bad: [(Value, u16, &str); 8] = [
        (json!({"task": "variant", "input": {"images": "all"}, "params": {"preset": "nosuch"}}), 422, "params.preset"),
        (json!({"task": "variant", "input": {"images": "all"}, "params": {}}), 422, "params.preset"),
        (json!({"task": "render", "input": {"images": "all"}, "params": {"query": "w=0"}}), 422, "params.query"),
        (json!({"task": "render", "input": {"images": "all"}, "params": {"query": "w=10&bogus=1"}}), 422, "params.query"),
        (json!({"task": "dedupe", "input": {"images": "all"}, "params": {"threshold": 2}}), 422, "params.threshold"),
        (json!({"task": "cluster", "input": {"images": ids[..2]}, "params": {"k": 0}}), 422, "params.k"),
        (json!({"task": "cluster", "input": {"images": "all"}, "params": {"k": 2}}), 413, "input.images"),
        (json!({"task": "vectorize", "input": {"images": "some"}}), 422, "input.images"),
    ];
    for (body, status, names) in bad {
        let p = problem(body.clone(), status);
        assert!(p["detail"].as_str().unwrap().starts_with(names), "{body}: {p}");
    }
    let jobs = expect::json(&client.get("/api/jobs"), 200);
    assert_eq!(jobs["jobs"], json!([]), "a refused request wrote a job");
    let keys = KvFile::new(host.state_dir()).keys();
    assert!(keys.iter().all(|k| !k.starts_with("job/") && !k.starts_with("jobl/")), "{keys:?}");

    // The catalog lists every image task with a schema.
    let catalog = expect::json(&client.get("/api/tasks"), 200);
    for name in ["variant", "render", "vectorize", "dedupe", "cluster"] {
        let task = catalog["tasks"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name}: {catalog}"));
        assert_eq!((&task["input"], &task["params"]["type"]), (&json!("images"), &json!("object")), "{task}");
    }
}

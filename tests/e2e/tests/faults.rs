//! Faults (issue 5, item 4), with the test host's key-value fault injection and a
//! manifest variant whose `thumbnail` traps.
//!
//! - Each write of one upload fails in turn (a fresh host and store per write): a
//!   reader then sees 404 or the whole image, byte-identical, never a corrupt one; the
//!   store holds no orphan chunk; and the same upload on a host without faults, over
//!   the same store, succeeds with its thumbnail and vector.
//! - A chained step that traps: the upload answers 502 problem+json, the original is
//!   kept, and a retry repairs the missing thumbnail.
//!
//! These need hosts of their own; with `BASE_URL` set they are skipped.

use std::path::PathBuf;

use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::target::{base_url, notice, workspace_root};
use darkroom_e2e::{Client, Host, HostOptions, Reply, expect, fixtures};
use darkroom_host::KvFault;
use image::ImageFormat;

/// Small chunks so the original and the thumbnail span several writes each.
const CHUNK: &str = "2048";

fn skip(test: &str) -> bool {
    if base_url().is_some() {
        notice(&format!("e2e: SKIPPED {test}: needs hosts with fault injection; BASE_URL is set"));
        return true;
    }
    false
}

fn spawn(options: HostOptions<'_>) -> Host {
    Host::spawn_with(options).unwrap_or_else(|e| panic!("{e:#}"))
}

/// What a reader may see of image `id` after a failed upload: 404 or the whole thing.
#[track_caller]
fn absent_or_whole(client: &Client, id: &str, bytes: &[u8], context: &str) {
    let original = client.get(&format!("/images/{id}"));
    match original.status {
        404 => {
            expect::problem(&original, 404);
        }
        200 => assert!(original.body == bytes, "{context}: a corrupt original is served\n{original}"),
        _ => panic!("{context}: the original is neither 404 nor whole\n{original}"),
    }
    let thumbnail = client.get(&format!("/images/{id}/thumbnail"));
    match thumbnail.status {
        404 => {}
        200 => {
            fixtures::decode(&thumbnail.body, ImageFormat::Jpeg);
        }
        _ => panic!("{context}: the thumbnail is neither 404 nor whole\n{thumbnail}"),
    }
    let object = client.get(&format!("/api/images/{id}"));
    match object.status {
        404 => {}
        200 => assert_eq!(expect::json(&object, 200)["id"].as_str(), Some(id), "{context}\n{object}"),
        _ => panic!("{context}: the image object is neither 404 nor readable\n{object}"),
    }
    let listed = listed_times(client, id);
    assert!(listed <= 1, "{context}: listed {listed} times");
}

/// How many times `id` appears in the whole listing.
fn listed_times(client: &Client, id: &str) -> usize {
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/images?limit=200&cursor={c}"),
            None => "/api/images?limit=200".to_string(),
        };
        let page = expect::json(&client.get(&path), 200);
        count += page["images"].as_array().map_or(0, |images| images.iter().filter(|o| o["id"] == id).count());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return count,
        }
    }
}

/// The upload is whole after a retry: thumbnail, vector, listing.
#[track_caller]
fn complete(client: &Client, reply: &Reply, id: &str, bytes: &[u8], context: &str) {
    assert!(matches!(reply.status, 200 | 201), "{context}: the retry failed\n{reply}");
    let object = expect::json(reply, reply.status);
    assert_eq!(object["id"].as_str(), Some(id), "{context}\n{reply}");
    assert!(object["thumbnail"]["width"].is_u64(), "{context}: no thumbnail after the retry\n{reply}");
    assert!(object["vector"]["dims"].is_u64(), "{context}: no vector after the retry\n{reply}");
    let original = client.get(&format!("/images/{id}"));
    assert!(original.status == 200 && original.body == bytes, "{context}: original\n{original}");
    let thumbnail = client.get(&format!("/images/{id}/thumbnail"));
    thumbnail.expect_status(200);
    fixtures::decode(&thumbnail.body, ImageFormat::Jpeg);
    expect::json(&client.get(&format!("/api/images/{id}/vector")), 200);
    assert_eq!(listed_times(client, id), 1, "{context}: listed once");
}

#[test]
fn every_failed_write_of_an_upload_leaves_absent_or_whole_and_a_retry_completes() {
    if skip("every_failed_write_of_an_upload_leaves_absent_or_whole_and_a_retry_completes") {
        return;
    }
    let bytes = fixtures::jpeg(&fixtures::photo(160, 120, fixtures::seed(0xFA17)), 90);
    let id = fixtures::sha256_hex(&bytes);
    let variables = [("kv_chunk_bytes", CHUNK)];
    let mut statuses = Vec::new();
    let mut n = 1u64;
    loop {
        assert!(n <= 64, "an upload wrote more than 64 times?");
        let context = format!("write {n} failed");
        let host = spawn(HostOptions {
            variables: &variables,
            kv_fault: Some(KvFault::FailNthWrite(n)),
            ..HostOptions::default()
        });
        let client = host.client();
        let reply = client.post("/api/images", &bytes, "image/jpeg");
        if reply.status == 201 {
            // Every write of the upload has failed once: n is past the last one.
            complete(&client, &reply, &id, &bytes, "no fault hit");
            KvFile::new(host.state_dir()).assert_consistent("an upload without faults");
            break;
        }
        assert!(
            matches!(reply.status, 502 | 503),
            "{context}: expected 502 (a step failed) or 503 (the store failed)\n{reply}"
        );
        expect::problem(&reply, reply.status);
        statuses.push(reply.status);
        absent_or_whole(&client, &id, &bytes, &context);
        if reply.status == 502 {
            // A chained step failed after the commit point: the original is kept.
            let original = client.get(&format!("/images/{id}"));
            assert!(original.status == 200 && original.body == bytes, "{context}: 502 lost the original\n{original}");
        }
        let kv = KvFile::new(host.state_dir());
        kv.assert_consistent(&context);

        // The retry, on a host without faults over the same store.
        let state: PathBuf = host.stop_keeping_state();
        let retry_host = spawn(HostOptions {
            variables: &variables,
            state_dir: Some(state.clone()),
            ..HostOptions::default()
        });
        let client = retry_host.client();
        let retry = client.post("/api/images", &bytes, "image/jpeg");
        complete(&client, &retry, &id, &bytes, &format!("{context}, then a retry"));
        KvFile::new(&state).assert_consistent(&format!("{context}, then a retry"));
        drop(retry_host);
        let _ = std::fs::remove_dir_all(&state);
        n += 1;
    }
    let writes = n - 1;
    notice(&format!("e2e: one upload = {writes} key-value writes; each failed in turn -> {statuses:?}"));
    assert!(writes >= 8, "an upload of a chunked original, thumbnail and vector writes at least 8 times, saw {writes}");
}

/// `spin.toml` with absolute sources, and the `thumbnail` component replaced by the
/// probe set to trap on every request.
fn trapping_thumbnail_manifest(dir: &std::path::Path) -> PathBuf {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("spin.toml")).expect("spin.toml");
    let text = text.replace("source = \"target/", &format!("source = \"{}/target/", root.display()));
    let thumbnail = format!("source = \"{}/target/wasm32-wasip2/release/thumbnail.wasm\"", root.display());
    assert!(text.contains(&thumbnail), "spin.toml names thumbnail.wasm");
    let probe = root.join("target/wasm32-wasip2/release/probe.wasm");
    assert!(probe.exists(), "build the probe: scripts/build-components.sh");
    let text = text.replace(
        &thumbnail,
        &format!("source = \"{}\"\nenvironment = {{ PROBE_DEFAULT_OP = \"trap\" }}", probe.display()),
    );
    let path = dir.join("spin.trapping-thumbnail.toml");
    std::fs::write(&path, text).expect("write the manifest variant");
    path
}

#[test]
fn a_trapping_thumbnail_step_keeps_the_original_and_a_retry_repairs_it() {
    if skip("a_trapping_thumbnail_step_keeps_the_original_and_a_retry_repairs_it") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = trapping_thumbnail_manifest(dir.path());
    let bytes = fixtures::png(&fixtures::photo(120, 90, fixtures::seed(0x7AB)));
    let id = fixtures::sha256_hex(&bytes);

    let host = spawn(HostOptions { manifest: Some(manifest), ..HostOptions::default() });
    let client = host.client();
    let reply = client.post("/api/images", &bytes, "image/png");
    let problem = expect::problem(&reply, 502);
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("thumbnail"), "the problem names the failed step\n{reply}");
    assert!(detail.contains(&id), "the problem names the stored image\n{reply}");
    // The original is kept; the missing thumbnail is a 404, not an error.
    let original = client.get(&format!("/images/{id}"));
    expect::immutable_blob(&original, "image/png");
    assert!(original.body == bytes, "the original is whole");
    expect::problem(&client.get(&format!("/images/{id}/thumbnail")), 404);
    expect::still_serving(&client);
    KvFile::new(host.state_dir()).assert_consistent("a trapping thumbnail step");

    // The same upload on the real app over the same store repairs the thumbnail.
    let state = host.stop_keeping_state();
    let fixed = spawn(HostOptions { state_dir: Some(state.clone()), ..HostOptions::default() });
    let client = fixed.client();
    let retry = client.post("/api/images", &bytes, "image/png");
    complete(&client, &retry, &id, &bytes, "the retry after a trapping thumbnail");
    KvFile::new(&state).assert_consistent("the retry after a trapping thumbnail");
    drop(fixed);
    let _ = std::fs::remove_dir_all(&state);
}

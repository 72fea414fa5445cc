//! Hostile input (issue 5, item 1): every case of `darkroom_e2e::hostile::corpus()`
//! (≥ 200, generated, never downloaded) and an oversized chunked body.
//!
//! For every case: a 4xx `application/problem+json` (never a 5xx, never a trap), or —
//! for damaged data a decoder tolerates, and for images with junk around them — the
//! image stored whole and served with its sniffed type and `nosniff`; the next request
//! is answered normally; and the host's key-value file holds no partial blob (every
//! manifest's chunks all there, no chunk without a manifest), nothing at all for a
//! refused case.
//!
//! The host runs with Fermyon's 128 MiB instance memory cap, so a decode that would
//! need more traps (a 5xx) instead of passing unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use darkroom_e2e::hostile::{self, Case, Expect};
use darkroom_e2e::target::{self, Inspectable, notice};
use darkroom_e2e::{HostOptions, Reply, expect, fixtures, rawhttp};

const INSTANCE_MEMORY: usize = 128 * 1024 * 1024;

/// A refused header must be refused before any large allocation.
const HEADER_REFUSAL_PEAK: u64 = 24 * 1024 * 1024;

/// The app under test: a host of our own (so its store can be inspected), or BASE_URL.
fn target() -> Inspectable {
    target::inspectable("hostile", HostOptions { max_instance_memory: Some(INSTANCE_MEMORY), ..HostOptions::default() })
}

fn mime(format: &str) -> String {
    imaging::Format::from_name(format).map_or_else(|| format!("image/{format}"), |f| f.mime().to_string())
}

/// Runs one case; returns `"refused 4xx"` or `"accepted"` for the tally.
fn run_case(target: &Inspectable, case: &Case) -> String {
    let client = &target.client;
    let before: BTreeSet<String> = target.kv.as_ref().map(|kv| kv.keys().into_iter().collect()).unwrap_or_default();
    let reply = client.post("/api/images", &case.body, &case.content_type);
    assert!(reply.status < 500, "a 5xx (or a trap)\n{reply}");
    if case.name.starts_with("huge/")
        && let Some(peak) = reply.peak_memory()
    {
        assert!(peak <= HEADER_REFUSAL_PEAK, "refusing a header took {peak} B of guest memory\n{reply}");
    }
    expect::within_memory_budget(&reply);
    let outcome = if (400..500).contains(&reply.status) {
        expect::problem(&reply, reply.status);
        match &case.expect {
            Expect::Image { .. } => panic!("a valid image was refused\n{reply}"),
            Expect::Refused(Some(status)) => assert_eq!(reply.status, *status, "status\n{reply}"),
            Expect::Refused(None) | Expect::Either => {}
        }
        if let Some(kv) = &target.kv {
            let after: BTreeSet<String> = kv.keys().into_iter().collect();
            let added: Vec<&String> = after.difference(&before).collect();
            assert!(added.is_empty(), "a refused upload left keys behind: {added:?}\n{reply}");
        }
        format!("refused {}", reply.status)
    } else {
        accepted(target, case, &reply, &before);
        "accepted".to_string()
    };

    // The next request is answered normally.
    expect::still_serving(client);
    expect::json(&client.get("/api/images?limit=1"), 200);
    if let Some(kv) = &target.kv {
        kv.assert_consistent(&case.name);
    }
    outcome
}

/// An accepted case: the whole image is stored and served as what it is.
fn accepted(target: &Inspectable, case: &Case, reply: &Reply, before: &BTreeSet<String>) {
    assert!(matches!(reply.status, 200 | 201), "an unexpected status\n{reply}");
    assert!(!matches!(case.expect, Expect::Refused(_)), "accepted, but must be refused\n{reply}");
    let object = expect::json(reply, reply.status);
    let id = object["id"].as_str().unwrap_or_else(|| panic!("no id\n{reply}")).to_string();
    assert_eq!(id, fixtures::sha256_hex(&case.body), "the id is the SHA-256 of the upload\n{reply}");
    let format = object["format"].as_str().unwrap_or_else(|| panic!("no format\n{reply}")).to_string();
    if let Expect::Image { format: f, width, height } = &case.expect {
        assert_eq!(format, *f, "format\n{reply}");
        assert_eq!(object["width"].as_u64(), Some(u64::from(*width)), "width\n{reply}");
        assert_eq!(object["height"].as_u64(), Some(u64::from(*height)), "height\n{reply}");
    }
    assert!(object["thumbnail"]["width"].is_u64(), "the thumbnail was made\n{reply}");
    let original = target.client.get(&format!("/images/{id}"));
    expect::immutable_blob(&original, &mime(&format));
    assert!(original.body == case.body, "the original is served byte-identical");
    target.client.get(&format!("/images/{id}/thumbnail")).expect_status(200);
    if let Some(kv) = &target.kv {
        let after: BTreeSet<String> = kv.keys().into_iter().collect();
        let foreign: Vec<&String> = after
            .difference(before)
            .filter(|k| !k.starts_with(&format!("img/{id}/")) && !k.ends_with(&format!("/{id}")))
            // The vector catalog's marker is store-wide: every stored vector rewrites it.
            .filter(|k| k.as_str() != store::keys::VECTOR_MARKER)
            .collect();
        assert!(foreign.is_empty(), "keys of another image appeared: {foreign:?}");
    }
}

#[test]
fn every_hostile_case_is_refused_cleanly_or_stored_whole() {
    let cases = hostile::corpus();
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());
    let target = target();
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for case in &cases {
        match catch_unwind(AssertUnwindSafe(|| run_case(&target, case))) {
            Ok(outcome) => {
                let family = case.name.split('/').take(2).collect::<Vec<_>>().join("/");
                *tally.entry(family).or_default().entry(outcome).or_default() += 1;
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{} ({} bytes): {message}", case.name, case.body.len()));
            }
        }
    }
    let summary: Vec<String> = tally.iter().map(|(family, outcomes)| format!("{family}: {outcomes:?}")).collect();
    notice(&format!("e2e: hostile corpus, {} cases:\n  {}", cases.len(), summary.join("\n  ")));
    assert!(failures.is_empty(), "{} of {} hostile cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn an_oversized_chunked_body_is_refused_without_buffering_it() {
    let target = target();
    // 1 GiB announced by nothing: no Content-Length, chunked transfer encoding.
    let total: u64 = 1 << 30;
    let mut rng = imaging::testkit::Rng::new(fixtures::seed(0xC4_u64));
    let reply = rawhttp::post_chunked(target.client.base(), "/api/images", "image/jpeg", total, 256 * 1024, |offset, buf| {
        if offset == 0 {
            buf[..3].copy_from_slice(b"\xFF\xD8\xFF");
        }
        for b in buf.iter_mut().skip(if offset == 0 { 3 } else { 0 }) {
            *b = rng.next_u64() as u8;
        }
    })
    .unwrap_or_else(|e| panic!("no HTTP response to an oversized chunked body: {e}"));
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(reply.status, 413, "status (body: {text})");
    assert_eq!(
        reply.header("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_string()).as_deref(),
        Some("application/problem+json"),
        "{text}"
    );
    let problem: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(problem["status"], 413, "{text}");
    assert!(reply.sent < total, "the server read the whole {total}-byte body before refusing it");
    if let Some(peak) = reply.header(darkroom_host::PEAK_MEMORY_HEADER).and_then(|v| v.parse::<u64>().ok()) {
        notice(&format!("e2e: oversized chunked body refused after {} B sent; guest peak memory {peak} B", reply.sent));
        assert!(peak < 64 * 1024 * 1024, "peak memory {peak} B: the body was buffered");
    }
    expect::still_serving(&target.client);
    if let Some(kv) = &target.kv {
        kv.assert_consistent("an oversized chunked body");
        assert!(kv.keys().iter().all(|k| !k.starts_with("img/")), "nothing stored: {:?}", kv.keys());
    }
}

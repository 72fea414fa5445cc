//! Concurrency (issue 5, item 5), through the host:
//!
//! - 1000 uploads of distinct small images, 64 in flight: every one is retrievable, and
//!   paging `GET /api/images` lists each exactly once (none lost, no duplicates);
//! - concurrent uploads of the same bytes converge to one image, listed once.
//!
//! Images are 32×32 PNGs with distinct seeds, so the whole file takes well under a
//! couple of minutes on two cores. Against `BASE_URL` the same checks run on the ids
//! this run uploaded (other images may be listed too).

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use darkroom_e2e::parallel::{list_all, parallel};
use darkroom_e2e::target::{self, Inspectable, notice};
use darkroom_e2e::{HostOptions, expect, fixtures};

const UPLOADS: usize = 1000;
const IN_FLIGHT: usize = 64;

fn target() -> Inspectable {
    target::inspectable("concurrency", HostOptions::default())
}

#[test]
fn a_thousand_concurrent_uploads_are_all_stored_and_listed_once() {
    let target = target();
    let started = std::time::Instant::now();
    let client = target.client.clone();
    let uploads = parallel(UPLOADS, IN_FLIGHT, move |i| {
        let bytes = fixtures::png(&fixtures::photo(32, 32, fixtures::seed(0xC0_0000 + i as u64)));
        let reply = client.post("/api/images", &bytes, "application/octet-stream");
        let object = expect::json(&reply, 201);
        let id = fixtures::sha256_hex(&bytes);
        assert_eq!(object["id"].as_str(), Some(id.as_str()), "{reply}");
        (id, bytes)
    });
    let upload_time = started.elapsed();
    let mut distinct: Vec<&String> = uploads.iter().map(|(id, _)| id).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), UPLOADS, "the inputs are distinct");

    // Every one is retrievable, byte-identical.
    let client = target.client.clone();
    let shared = Arc::new(uploads);
    let uploads = shared.clone();
    parallel(UPLOADS, IN_FLIGHT / 4, move |i| {
        let (id, bytes) = &uploads[i];
        let reply = client.get(&format!("/images/{id}"));
        reply.expect_status(200);
        assert!(reply.body == *bytes, "image {i} ({id}) is not byte-identical");
    });

    // Every one is listed exactly once, whatever the page size.
    for limit in [200, 37] {
        let listed = list_all(&target.client, limit);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for id in &listed {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        let duplicates: Vec<_> = counts.iter().filter(|&(_, &n)| n > 1).collect();
        assert!(duplicates.is_empty(), "limit={limit}: listed more than once: {duplicates:?}");
        let lost: Vec<&String> = shared.iter().map(|(id, _)| id).filter(|id| !counts.contains_key(id.as_str())).collect();
        assert!(lost.is_empty(), "limit={limit}: {} of {UPLOADS} uploads are not listed: {:?}", lost.len(), &lost[..lost.len().min(5)]);
        if target.kv.is_some() {
            assert_eq!(listed.len(), UPLOADS, "limit={limit}: a fresh host lists exactly the uploads");
        }
    }
    if let Some(kv) = &target.kv {
        kv.assert_consistent("1000 concurrent uploads");
    }
    notice(&format!(
        "e2e: {UPLOADS} uploads, {IN_FLIGHT} in flight, in {:.1} s; all retrievable and listed once ({:.1} s total)",
        upload_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

#[test]
fn concurrent_uploads_of_the_same_bytes_converge_to_one_image() {
    let target = target();
    for round in 0..4u64 {
        let bytes = Arc::new(fixtures::jpeg(&fixtures::photo(96, 64, fixtures::seed(0x5A3E + round)), 85));
        let id = fixtures::sha256_hex(&bytes);
        let racers = 16;
        let barrier = Arc::new(Barrier::new(racers));
        let client = target.client.clone();
        let (b, bytes_) = (barrier.clone(), bytes.clone());
        let statuses = parallel(racers, racers, move |_| {
            b.wait();
            let reply = client.post("/api/images", &bytes_, "image/jpeg");
            assert!(matches!(reply.status, 200 | 201), "{reply}");
            let object = expect::json(&reply, reply.status);
            assert_eq!(object["id"].as_str(), Some(fixtures::sha256_hex(&bytes_).as_str()), "{reply}");
            assert!(object["thumbnail"]["width"].is_u64() && object["vector"]["dims"].is_u64(), "{reply}");
            (reply.status, object["created"].as_str().unwrap_or_default().to_string())
        });
        assert!(statuses.iter().any(|(s, _)| *s == 201), "someone created it: {statuses:?}");
        let listed = list_all(&target.client, 200);
        let times = listed.iter().filter(|i| **i == id).count();
        assert_eq!(times, 1, "round {round}: {racers} racing uploads of one image are listed {times} times");
        let reply = target.client.get(&format!("/api/images/{id}"));
        let object = expect::json(&reply, 200);
        let created = object["created"].as_str().unwrap_or_default();
        // Whichever racer's record won, its listing entry is the one shown.
        assert!(statuses.iter().any(|(_, c)| c == created), "round {round}: created {created} is no racer's: {statuses:?}");
        let original = target.client.get(&format!("/images/{id}"));
        assert!(original.status == 200 && original.body == *bytes, "round {round}: the original is whole");
        if let Some(kv) = &target.kv {
            kv.assert_consistent(&format!("round {round} of racing uploads"));
        }
    }
}

//! Ranged downloads (issue 13's limits profile): an original or a dataset past a
//! platform's response cap (10 MiB on Fermyon Wasm Functions) comes down in parts with
//! `Range`, through the real `media` and `jobs` components.

use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::{Client, Reply, app, expect};

/// `GET path` with `Range: range` (and more headers).
fn ranged(client: &Client, path: &str, range: &str, more: &[(&str, &str)]) -> Reply {
    let mut headers = vec![("range", range)];
    headers.extend_from_slice(more);
    client.get_with(path, &headers)
}

#[track_caller]
fn expect_part(reply: &Reply, whole: &[u8], start: usize, end: usize) {
    assert_eq!(reply.status, 206, "{reply}");
    assert_eq!(reply.header("content-range"), Some(format!("bytes {start}-{}/{}", end - 1, whole.len()).as_str()), "{reply}");
    assert!(reply.body == whole[start..end], "the part differs from bytes {start}..{end}\n{reply}");
}

/// Every range form against one body at `path` (`whole` is what a plain GET returns).
fn check_ranges(client: &Client, path: &str, whole: &[u8], etag: &str) {
    let n = whole.len();
    expect_part(&ranged(client, path, "bytes=0-99", &[]), whole, 0, 100);
    expect_part(&ranged(client, path, &format!("bytes={}-", n - 10), &[]), whole, n - 10, n);
    expect_part(&ranged(client, path, "bytes=-1000", &[]), whole, n - 1000, n);
    expect_part(&ranged(client, path, &format!("bytes={}-{}", n / 3, n + 50), &[]), whole, n / 3, n);
    // Reassembled from parts, it is the whole.
    let step = n / 4 + 1;
    let mut joined = Vec::new();
    for start in (0..n).step_by(step) {
        let reply = ranged(client, path, &format!("bytes={start}-{}", (start + step).min(n) - 1), &[]);
        expect::within_memory_budget(&reply);
        joined.extend_from_slice(&reply.body);
    }
    assert!(joined == whole, "the parts do not add up to the whole");

    // Past the end: 416 problem with the size.
    let reply = ranged(client, path, &format!("bytes={n}-"), &[]);
    expect::problem(&reply, 416);
    assert_eq!(reply.header("content-range"), Some(format!("bytes */{n}").as_str()), "{reply}");
    // Several ranges, another unit, or a stale If-Range: the whole body, 200.
    for (range, more) in [("bytes=0-1,5-9", vec![]), ("items=0-5", vec![]), ("bytes=0-9", vec![("if-range", "\"stale\"")])] {
        let reply = ranged(client, path, range, &more);
        assert!(reply.status == 200 && reply.body == whole, "{range} {more:?}\n{reply}");
        assert_eq!(reply.header("accept-ranges"), Some("bytes"), "{reply}");
    }
    // A current If-Range keeps the range.
    expect_part(&ranged(client, path, "bytes=10-19", &[("if-range", etag)]), whole, 10, 20);
}

#[test]
fn originals_download_in_ranges() {
    let client = app();
    // About 3 MB: more than one stored chunk, so ranges cross chunk boundaries.
    let bytes = fixtures::jpeg(&fixtures::photo(2400, 1800, seed(4201)), 98);
    assert!(bytes.len() > 1_500_000, "{} bytes", bytes.len());
    let id = expect::json(&client.post("/api/images", &bytes, "image/jpeg"), 201)["id"].as_str().unwrap().to_owned();
    let path = format!("/images/{id}");
    check_ranges(client, &path, &bytes, &format!("\"{id}\""));
    // If-None-Match with the current tag still answers 304 first.
    let reply = ranged(client, &path, "bytes=0-9", &[("if-none-match", &format!("\"{id}\""))]);
    assert_eq!(reply.status, 304, "{reply}");
}

#[test]
fn datasets_download_in_ranges() {
    let client = app();
    let mut csv = format!("run,n,label\n{},0,start\n", fixtures::run_nonce()).into_bytes();
    for i in 0..120_000u32 {
        csv.extend(format!("{i},{},\"label, {i}\"\n", i * 7).bytes());
    }
    let reply = client.post("/api/datasets", &csv, "text/csv");
    let ds = expect::json(&reply, 201);
    let id = ds["id"].as_str().unwrap();
    let path = format!("/datasets/{id}");
    let whole = client.get(&path);
    assert!(whole.status == 200 && whole.body == csv, "{whole}");
    check_ranges(client, &path, &csv, &format!("\"{id}\""));
}

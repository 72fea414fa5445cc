//! Resumable uploads (issue 13 part 6, `docs/uploads.md`): files past Fermyon Wasm
//! Functions' 10 MiB request cap arrive through tus 1.0 in 8 MiB parts, one `PATCH` cut
//! midway on a raw socket, resumed from `HEAD`, under the suite's 128 MiB instance cap.
//!
//! - a 60 MB CSV dataset and a 40 MB, 50 MP JPEG: each read back in `Range` parts
//!   (every response at most 10 MiB) is byte-identical to the source; the image has its
//!   thumbnail (decoded) and vector, the dataset its rows; neither is listed before its
//!   last byte; no request or response body is over 10 MiB;
//! - the protocol's refusals: 412 (version), 415 (PATCH type), 409 (offset), 413 (length,
//!   part, past the end), 404 after termination, with nothing left in the store; bad
//!   bytes refused at completion as a single POST refuses them, nothing kept.
//!
//! Needs a host of its own (limits, store checks); skipped with `BASE_URL`.

use darkroom_e2e::expect::{self, MEMORY_BUDGET};
use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::rawhttp;
use darkroom_e2e::target::{base_url, notice};
use darkroom_e2e::{Client, Host, HostOptions, Reply};
use image::ImageFormat;
use sha2::{Digest, Sha256};

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const PART: usize = 8 << 20;
const REQUEST_CAP: usize = 10 << 20;

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn metadata(kind: &str, filename: &str, filetype: &str) -> String {
    format!("kind {},filename {},filetype {}", b64(kind), b64(filename), b64(filetype))
}

/// `POST /api/uploads`; answers the upload's path.
#[track_caller]
fn create(client: &Client, length: usize, meta: &str) -> String {
    let len = length.to_string();
    let reply = client.post_with("/api/uploads", b"", "application/octet-stream", &[TUS, ("upload-length", &len), ("upload-metadata", meta)]);
    assert_eq!(reply.status, 201, "{reply}");
    assert_eq!(reply.header("tus-resumable"), Some("1.0.0"), "{reply}");
    let location = reply.header("location").expect("Location").to_owned();
    assert!(location.starts_with("/api/uploads/"), "{reply}");
    location
}

fn patch(client: &Client, path: &str, offset: usize, body: &[u8]) -> Reply {
    let offset = offset.to_string();
    client.patch_with(path, body, &[TUS, ("content-type", "application/offset+octet-stream"), ("upload-offset", &offset)])
}

#[track_caller]
fn head_offset(client: &Client, path: &str) -> usize {
    let reply = client.head_with(path, &[TUS]);
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply}");
    reply.header("upload-offset").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("Upload-Offset\n{reply}"))
}

/// Sends `file` to the upload at `path` in [`PART`]-byte `PATCH`es; the part that
/// starts past `cut_after` is cut halfway on a raw socket, then resumed from `HEAD`.
/// Answers (the cut offset, the offset `HEAD` answered after it, the last reply's peak).
fn send_with_one_cut(host: &Host, client: &Client, path: &str, file: &[u8], cut_after: usize) -> (usize, usize, u64) {
    let mut offset = 0;
    let mut cut = None;
    let mut last_peak = 0;
    while offset < file.len() {
        let end = (offset + PART).min(file.len());
        if cut.is_none() && offset >= cut_after {
            // Half the part, and then the network fails.
            let half = &file[offset..offset + (end - offset) / 2 + 12_345];
            let at = offset.to_string();
            rawhttp::cut_request(host.url(), "PATCH", path, &[TUS, ("content-type", "application/offset+octet-stream"), ("upload-offset", &at)], (end - offset) as u64, half)
                .expect("the cut PATCH is sent");
            let resumed = await_stable_offset(client, path);
            assert!(resumed >= offset && resumed <= offset + half.len(), "HEAD answers {resumed}: at least {offset}, at most what was sent");
            cut = Some((offset + half.len(), resumed));
            offset = resumed;
            continue;
        }
        let reply = patch(client, path, offset, &file[offset..end]);
        assert_eq!(reply.status, 204, "{reply}");
        assert!(end - offset <= REQUEST_CAP);
        last_peak = reply.peak_memory().unwrap_or(0);
        offset = reply.header("upload-offset").and_then(|v| v.parse().ok()).expect("Upload-Offset");
        assert_eq!(offset, end, "a whole part is stored whole");
    }
    let (cut_at, resumed) = cut.expect("one part was cut");
    (cut_at, resumed, last_peak)
}

/// `HEAD` until the cut request's instance has stored what it got: the offset the host
/// answers twice in a row. Any offset it answers is one to resume from (a `PATCH` still
/// storing its piece writes the same bytes), so this only saves re-sending them.
fn await_stable_offset(client: &Client, path: &str) -> usize {
    let mut last = head_offset(client, path);
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = head_offset(client, path);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// Reads `path` back in `Range` requests of [`PART`] bytes, each response body at most
/// 10 MiB.
fn read_in_ranges(client: &Client, path: &str, size: usize) -> Vec<u8> {
    let mut back = Vec::with_capacity(size);
    while back.len() < size {
        let range = format!("bytes={}-{}", back.len(), (back.len() + PART).min(size) - 1);
        let reply = client.get_with(path, &[("range", &range)]);
        assert_eq!(reply.status, 206, "{range}\n{reply}");
        assert!(reply.body.len() <= REQUEST_CAP, "{range}: {} bytes", reply.body.len());
        assert!(!reply.body.is_empty());
        back.extend_from_slice(&reply.body);
    }
    back
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn host(variables: &[(&str, &str)]) -> Option<(Host, KvFile)> {
    if let Some(base) = base_url() {
        notice(&format!("e2e: SKIPPED uploads: needs a host with its own limits and store; BASE_URL={base} is set"));
        return None;
    }
    let host = Host::spawn_with(HostOptions { variables, max_instance_memory: Some(MEMORY_BUDGET as usize), ..HostOptions::default() })
        .unwrap_or_else(|e| panic!("{e:#}"));
    let kv = KvFile::new(host.state_dir());
    Some((host, kv))
}

/// A 60 MB CSV: distinct per run, with quoted fields holding commas.
fn big_csv(bytes: usize) -> Vec<u8> {
    let mut csv = format!("run,n,amount,label\n{},0,0.00,start\n", fixtures::run_nonce()).into_bytes();
    let mut i = 1u64;
    while csv.len() < bytes {
        csv.extend(format!("{i},{},{}.{:02},\"label, {}\"\n", i * 7 % 1000, i % 9973, i % 100, i ^ 0x5bd1).bytes());
        i += 1;
    }
    csv
}

#[test]
fn a_60_mb_dataset_arrives_in_parts_through_a_cut_and_reads_back_identical() {
    let Some((host, kv)) = host(&[]) else { return };
    let client = host.client();
    let csv = big_csv(60_000_000);
    let rows = csv.iter().filter(|&&b| b == b'\n').count() - 1;
    let path = create(&client, csv.len(), &metadata("dataset", "sales.csv", "text/csv"));

    let listed_before = expect::json(&client.get("/api/datasets?limit=200"), 200)["datasets"].as_array().unwrap().len();
    let (cut_at, resumed, peak) = send_with_one_cut(&host, &client, &path, &csv[..csv.len() - 1], 3 * PART);
    // Not listed before its last byte: the file is one byte short yet.
    assert_eq!(head_offset(&client, &path), csv.len() - 1);
    let listed = expect::json(&client.get("/api/datasets?limit=200"), 200)["datasets"].as_array().unwrap().len();
    assert_eq!(listed, listed_before, "an unfinished upload is not a dataset");
    assert_eq!(client.get(&path).status, 409, "no result before the last byte");
    let last = patch(&client, &path, csv.len() - 1, &csv[csv.len() - 1..]);
    assert_eq!(last.status, 204, "{last}");
    assert_eq!(last.header("upload-offset"), Some(csv.len().to_string().as_str()));
    let completion_peak = last.peak_memory().unwrap_or(0);

    let reply = client.get(&path);
    let ds = expect::json(&reply, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    assert_eq!(id, sha256(&csv), "the id is the SHA-256 of the source");
    assert_eq!(reply.header("location"), Some(format!("/api/datasets/{id}").as_str()));
    assert_eq!((ds["rows"].as_u64(), ds["bytes"].as_u64()), (Some(rows as u64), Some(csv.len() as u64)), "{reply}");
    assert_eq!(ds["columns"][2]["type"], "number", "{reply}");
    // Exactly what GET /api/datasets/{id} answers.
    assert_eq!(expect::json(&client.get(&format!("/api/datasets/{id}")), 200), ds);

    let back = read_in_ranges(&client, &format!("/datasets/{id}"), csv.len());
    assert!(back == csv, "the dataset read back in ranges differs from the source");
    // The parts became the dataset's chunks: the upload keeps only its record and result.
    let leftovers: Vec<String> = kv.keys().into_iter().filter(|k| k.starts_with("upl/") && !k.ends_with("/info") && !k.ends_with("/done")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    println!(
        "dataset: {} bytes, {} parts of {PART}; cut at {cut_at}, HEAD resumed at {resumed}; last part peak {:.1} MiB, completing PATCH peak {:.1} MiB",
        csv.len(),
        csv.len().div_ceil(PART),
        peak as f64 / 1048576.0,
        completion_peak as f64 / 1048576.0
    );
}

/// A 50 MP JPEG of about 40 MB.
fn big_jpeg() -> Vec<u8> {
    fixtures::jpeg(&fixtures::grainy(8660, 5773, seed(4242)), 90)
}

#[test]
fn a_40_mb_photo_arrives_in_parts_through_a_cut_and_becomes_an_image() {
    let Some((host, kv)) = host(&[]) else { return };
    let client = host.client();
    let jpeg = big_jpeg();
    println!("photo: {} bytes, 8660x5773", jpeg.len());
    assert!(jpeg.len() > 36_000_000 && jpeg.len() < 64 << 20, "{} bytes", jpeg.len());
    let path = create(&client, jpeg.len(), &metadata("image", "big.jpg", "image/jpeg"));
    let (cut_at, resumed, peak) = send_with_one_cut(&host, &client, &path, &jpeg[..jpeg.len() - 100], 2 * PART);
    let listed = expect::json(&client.get("/api/images?limit=200"), 200)["images"].as_array().unwrap().len();
    assert_eq!(listed, 0, "an unfinished upload is not an image");
    let last = patch(&client, &path, jpeg.len() - 100, &jpeg[jpeg.len() - 100..]);
    assert_eq!(last.status, 204, "{last}");
    let completion_peak = last.peak_memory().unwrap_or(0);

    let reply = client.get(&path);
    let object = expect::json(&reply, 201);
    let id = object["id"].as_str().unwrap().to_owned();
    assert_eq!(id, sha256(&jpeg));
    assert_eq!(reply.header("location"), Some(format!("/api/images/{id}").as_str()));
    assert_eq!((object["width"].as_u64(), object["height"].as_u64(), object["bytes"].as_u64()), (Some(8660), Some(5773), Some(jpeg.len() as u64)), "{reply}");
    assert!(object["vector"]["dims"].is_u64(), "the vector step ran\n{reply}");
    // The same JSON GET /api/images/{id} answers, and the image is listed now.
    assert_eq!(expect::json(&client.get(&format!("/api/images/{id}")), 200), object);
    let listed = expect::json(&client.get("/api/images?limit=200"), 200);
    assert_eq!(listed["images"].as_array().unwrap().len(), 1, "{listed}");

    let thumb = client.get(&format!("/images/{id}/thumbnail"));
    assert_eq!(thumb.status, 200, "{thumb}");
    let decoded = fixtures::decode(&thumb.body, ImageFormat::Jpeg).to_rgb8();
    expect::fits(decoded.dimensions(), (8660, 5773), expect::THUMBNAIL_SIZE);

    // The thumbnail and vector steps the completing PATCH chained, run again on the
    // stored original as client requests, so the host reports each one's own peak (the
    // chained ones are summed in its log line). The filter step would answer its stored
    // variant without decoding, so it is not measured this way.
    let mut steps = Vec::new();
    for (step, body) in [("/api/thumbnail", serde_json::json!({ "id": id })), ("/api/vectorize", serde_json::json!({ "id": id }))] {
        let reply = client.post_json(step, &body);
        assert_eq!(reply.status, 200, "{reply}");
        let peak = reply.peak_memory().expect("peak");
        assert!(peak <= MEMORY_BUDGET, "{step}: {peak}");
        steps.push(format!("{step} {:.1} MiB", peak as f64 / 1048576.0));
    }
    println!("photo: steps on the stored 40 MB original: {}", steps.join(", "));

    let back = read_in_ranges(&client, &format!("/images/{id}"), jpeg.len());
    assert!(back == jpeg, "the original read back in ranges differs from the source");
    kv.assert_consistent("a resumable image upload");
    println!(
        "photo: {} parts of {PART}; cut at {cut_at}, HEAD resumed at {resumed}; last part peak {:.1} MiB, completing PATCH (hash, steps) peak {:.1} MiB",
        jpeg.len().div_ceil(PART),
        peak as f64 / 1048576.0,
        completion_peak as f64 / 1048576.0
    );

    // A DELETE of the image takes the adopted chunks with it.
    assert_eq!(client.delete(&format!("/api/images/{id}")).status, 204);
    let left: Vec<String> = kv.keys().into_iter().filter(|k| k.starts_with("img/") || k.contains("/c/")).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Sends all of `file` in `part`-byte `PATCH`es, each answered 204.
fn send_in_parts(client: &Client, path: &str, file: &[u8], part: usize) {
    for (n, piece) in file.chunks(part).enumerate() {
        let reply = patch(client, path, n * part, piece);
        assert_eq!(reply.status, 204, "{reply}");
    }
}

#[test]
fn protocol_refusals_and_termination() {
    // 1000-byte chunks: parts of 1500 and 2000 bytes end inside chunks, so pieces are used.
    let limits = [("max_upload_part_bytes", "3000"), ("max_resumable_image_bytes", "2500000"), ("max_resumable_dataset_bytes", "20000"), ("kv_chunk_bytes", "1000")];
    let Some((_host, kv)) = host(&limits) else { return };
    let client = _host.client();

    // Discovery.
    let reply = client.options_with("/api/uploads", &[]);
    assert_eq!(reply.status, 204, "{reply}");
    assert_eq!(reply.header("tus-version"), Some("1.0.0"));
    assert_eq!(reply.header("tus-extension"), Some("creation,termination"));
    assert_eq!(reply.header("tus-max-size"), Some("2500000"));

    // 412: no or another version, with Tus-Version.
    for headers in [vec![("upload-length", "10")], vec![("tus-resumable", "0.2.2"), ("upload-length", "10")]] {
        let reply = client.post_with("/api/uploads", b"", "application/octet-stream", &headers);
        expect::problem(&reply, 412);
        assert_eq!(reply.header("tus-version"), Some("1.0.0"), "{reply}");
    }
    // Creation refusals: no kind (400), a dataset that is not CSV/NDJSON (415), too long (413).
    let post = |len: &str, meta: &str| client.post_with("/api/uploads", b"", "application/octet-stream", &[TUS, ("upload-length", len), ("upload-metadata", meta)]);
    expect::problem(&post("10", &format!("filename {}", b64("a"))), 400);
    expect::problem(&post("10", &metadata("dataset", "a.xls", "application/vnd.ms-excel")), 415);
    expect::problem(&post("2500001", &metadata("image", "a.jpg", "image/jpeg")), 413);
    expect::problem(&post("20001", &metadata("dataset", "a.csv", "text/csv")), 413);
    expect::problem(&post("-1", &metadata("image", "a.jpg", "image/jpeg")), 400);

    // A 2.4 MB image in 3000-byte parts would take 800 requests: use a small one.
    let photo = fixtures::jpeg(&fixtures::photo(320, 240, seed(77)), 90);
    let path = create(&client, photo.len(), &metadata("image", "p.jpg", "image/jpeg"));
    // 415: the wrong body type; 409: the wrong offset; 413: a part over the cap or past the end.
    let reply = client.patch_with(&path, &photo[..100], &[TUS, ("content-type", "application/octet-stream"), ("upload-offset", "0")]);
    expect::problem(&reply, 415);
    expect::problem(&patch(&client, &path, 5, &photo[..100]), 409);
    expect::problem(&patch(&client, &path, 0, &photo[..3001.min(photo.len())]), 413);
    let mut offset = 0;
    while offset < photo.len() - 10 {
        let end = (offset + 2000).min(photo.len() - 10);
        assert_eq!(patch(&client, &path, offset, &photo[offset..end]).status, 204);
        offset = end;
    }
    let mut longer = photo[offset..].to_vec();
    longer.extend_from_slice(b"extra");
    expect::problem(&patch(&client, &path, offset, &longer), 413);
    assert_eq!(head_offset(&client, &path), offset, "nothing past the length was stored");
    // Termination: gone for HEAD and PATCH, and nothing of it left in the store.
    let reply = client.delete_with(&path, &[TUS]);
    assert_eq!(reply.status, 204, "{reply}");
    assert_eq!(client.head_with(&path, &[TUS]).status, 404);
    expect::problem(&patch(&client, &path, offset, &photo[offset..]), 404);
    assert!(kv.keys().iter().all(|k| !k.starts_with("upl/")), "{:?}", kv.keys());

    // The finished image, as a single POST makes it; the same bytes again: 200, one image.
    let path = create(&client, photo.len(), &metadata("image", "p.jpg", "image/jpeg"));
    send_in_parts(&client, &path, &photo, 2000);
    let first = expect::json(&client.get(&path), 201);
    let again = create(&client, photo.len(), &metadata("image", "p.jpg", "image/jpeg"));
    send_in_parts(&client, &again, &photo, 1500);
    assert_eq!(expect::json(&client.get(&again), 200)["id"], first["id"]);
    let single = expect::json(&client.post("/api/images", &photo, "image/jpeg"), 200);
    assert_eq!(single, first, "the same object a single POST answers");
    kv.assert_consistent("resumable uploads of one image twice");

    // Bytes that are no image, or a malformed dataset: refused at the last byte as a
    // single POST refuses them, and nothing of the upload is kept.
    let path = create(&client, 2000, &metadata("image", "x.jpg", "image/jpeg"));
    expect::problem(&patch(&client, &path, 0, &[7u8; 2000]), 415);
    assert_eq!(client.head_with(&path, &[TUS]).status, 404);
    // ...and an image is judged as soon as its first chunk is stored, not at its end.
    let path = create(&client, 2_000_000, &metadata("image", "x.jpg", "image/jpeg"));
    assert_eq!(patch(&client, &path, 0, &[7u8; 600]).status, 204, "half a chunk: not judged yet");
    expect::problem(&patch(&client, &path, 600, &[7u8; 600]), 415);
    assert_eq!(client.head_with(&path, &[TUS]).status, 404);
    let bad = b"a,b\n1,2\n3\n";
    let path = create(&client, bad.len(), &metadata("dataset", "x.csv", "text/csv"));
    let problem = expect::problem(&patch(&client, &path, 0, bad), 400);
    assert!(problem["detail"].as_str().unwrap().contains("line 3"), "{problem}");
    assert!(kv.keys().iter().all(|k| !k.starts_with("dsc/") && !k.starts_with("ds/")), "{:?}", kv.keys());
    let images = expect::json(&client.get("/api/images"), 200);
    assert_eq!(images["images"].as_array().unwrap().len(), 1, "{images}");
}

#[test]
fn writes_and_reads_of_uploads_need_the_token() {
    let token = "e2e-uploads-token-0123456789abcdef";
    let Some((host, _kv)) = host(&[("api_token", token)]) else { return };
    let client = host.client();
    let meta = metadata("image", "a.jpg", "image/jpeg");
    let reply = client.post_with("/api/uploads", b"", "application/octet-stream", &[TUS, ("upload-length", "10"), ("upload-metadata", &meta)]);
    expect::problem(&reply, 401);
    let bearer = format!("Bearer {token}");
    let reply = client.post_with("/api/uploads", b"", "application/octet-stream", &[TUS, ("upload-length", "10"), ("upload-metadata", &meta), ("authorization", &bearer)]);
    assert_eq!(reply.status, 201, "{reply}");
    let path = reply.header("location").unwrap().to_owned();
    assert_eq!(client.head_with(&path, &[TUS]).status, 401);
    assert_eq!(client.head_with(&path, &[TUS, ("authorization", &bearer)]).status, 200);
    expect::problem(&patch(&client, &path, 0, b"0123456789"), 401);
}

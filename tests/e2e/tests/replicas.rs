//! Replicas (issue 13, part 3): darkroom as SpinKube runs it. Two `darkroom-host`
//! processes share one Redis behind haproxy (round robin), brought up by
//! `scripts/replicas.sh` (`./test.sh --replicas`), which names the stack in
//! `DARKROOM_REPLICAS`; without it every test here says it skipped. Every request goes
//! through the balancer; the tests run one at a time (the script passes
//! `--test-threads=1`), since one of them kills a replica.
//!
//! - 1,000 uploads, 64 in flight: all retrievable, each listed exactly once; r2 runs
//!   with `kv_inline_blobs=false` (a replica of an older release, mid rolling update), so
//!   the store holds both blob forms and every read crosses them;
//! - similar search exact (against a brute force over the vectors read back) while
//!   uploads and deletes run on both replicas;
//! - a job whose shards go to the balancer (`jobs_base_url`) lands shards on both;
//! - SIGKILL of a replica mid-upload and mid-job: clean errors, nothing half-visible,
//!   the replica restarts, the job ends exact after `run`.
//!
//! Each prints a `replicas:` line with its numbers (uploads and shards per replica).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use darkroom_e2e::parallel::{list_all, parallel};
use darkroom_e2e::replicas::{self, Stack};
use darkroom_e2e::target::notice;
use darkroom_e2e::{Client, Reply, expect, fixtures};
use jobs::testkit;
use serde_json::{Value, json};
use store::KeyValue as _;

/// What is wrong in the shared store with the images `ids` (other tests' images aside): a
/// committed blob that does not read back whole, or a chunk outside any manifest.
fn problems_of(stack: &Stack, ids: &[String]) -> Vec<String> {
    let prefixes: Vec<String> = ids.iter().map(|id| format!("img/{id}/")).collect();
    stack.kv().problems().into_iter().filter(|p| prefixes.iter().any(|prefix| p.starts_with(prefix.as_str()))).collect()
}

/// Panics unless [`problems_of`] the images `ids` is empty.
fn assert_whole(stack: &Stack, ids: &[String], context: &str) {
    let problems = problems_of(stack, ids);
    assert!(problems.is_empty(), "partial blobs after {context}:\n  {}", problems.join("\n  "));
}

/// Uploads per replica, from haproxy's per-server request counters around `work`.
fn per_replica<T>(stack: &Stack, work: impl FnOnce() -> T) -> (T, BTreeMap<String, u64>) {
    let before = stack.sessions();
    let value = work();
    let after = stack.sessions();
    let split = after.iter().map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0))).collect();
    (value, split)
}

fn split_text(split: &BTreeMap<String, u64>) -> String {
    split.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
}

/// Listing `ids` through the balancer with page size `limit`: (lost, duplicated) counts,
/// over the ids given and over the whole listing.
fn lost_and_duplicates(client: &Client, ids: &[String], limit: usize) -> (Vec<String>, Vec<String>) {
    let listed = list_all(client, limit);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &listed {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let duplicates = counts.iter().filter(|&(_, &n)| n > 1).map(|(id, _)| id.to_string()).collect();
    let lost = ids.iter().filter(|id| !counts.contains_key(id.as_str())).cloned().collect();
    (lost, duplicates)
}

#[test]
fn a_thousand_uploads_through_the_balancer_are_all_stored_and_listed_once() {
    const UPLOADS: usize = 1000;
    const IN_FLIGHT: usize = 64;
    let Some(stack) = replicas::stack("a_thousand_uploads_through_the_balancer_are_all_stored_and_listed_once") else {
        return;
    };
    stack.wait_all_up();
    let client = stack.balancer.clone();
    let (uploads, split) = per_replica(&stack, || {
        parallel(UPLOADS, IN_FLIGHT, move |i| {
            let bytes = fixtures::png(&fixtures::photo(32, 32, fixtures::seed(0xEC_0000 + i as u64)));
            let reply = client.post("/api/images", &bytes, "application/octet-stream");
            let object = expect::json(&reply, 201);
            let id = fixtures::sha256_hex(&bytes);
            assert_eq!(object["id"].as_str(), Some(id.as_str()), "{reply}");
            (id, bytes)
        })
    });
    assert_eq!(split.values().sum::<u64>(), UPLOADS as u64, "haproxy counted every upload once: {split:?}");
    assert!(split.values().all(|n| *n > 0), "uploads landed on both replicas: {split:?}");

    // Every one is retrievable, byte-identical, from either replica.
    let client = stack.balancer.clone();
    let uploads = Arc::new(uploads);
    let shared = uploads.clone();
    parallel(UPLOADS, 16, move |i| {
        let (id, bytes) = &shared[i];
        let reply = client.get(&format!("/images/{id}"));
        assert!(reply.status == 200 && reply.body == *bytes, "image {i} ({id}) is not byte-identical\n{reply}");
    });
    let ids: Vec<String> = uploads.iter().map(|(id, _)| id.clone()).collect();
    for limit in [200, 37] {
        let (lost, duplicates) = lost_and_duplicates(&stack.balancer, &ids, limit);
        assert!(lost.is_empty() && duplicates.is_empty(), "limit={limit}: lost {lost:?}, duplicates {duplicates:?}");
    }
    assert_whole(&stack, &ids, "1000 uploads through two replicas");
    // r1 writes small blobs whole into one key, r2 (kv_inline_blobs=false) as chunks, as
    // during a rolling update: the reads above crossed both forms.
    let kv = stack.kv();
    let inline = ids
        .iter()
        .filter(|id| kv.get(&format!("img/{id}/original/m")).unwrap().is_some_and(|v| v.first() == Some(&store::blob::INLINE)))
        .count();
    assert!(inline > 0 && inline < ids.len(), "both forms stored: {inline} of {} originals inline", ids.len());
    notice(&format!(
        "e2e: replicas: {UPLOADS} uploads, {IN_FLIGHT} in flight, through haproxy: {}; lost 0, duplicates 0; \
         originals one key {inline}, chunks {}",
        split_text(&split),
        ids.len() - inline
    ));
}

/// The stored vector of `id` (`None` once deleted).
fn vector_of(client: &Client, id: &str) -> Option<Vec<f32>> {
    let reply = client.get(&format!("/api/images/{id}/vector"));
    match reply.status {
        200 => Some(expect::vector(&expect::json(&reply, 200)["vector"])),
        404 => None,
        _ => panic!("{reply}"),
    }
}

/// `GET /similar` as `(id, score)`, best first.
fn similar(client: &Client, id: &str, k: usize) -> Vec<(String, f32)> {
    let reply = client.get(&format!("/api/images/{id}/similar?k={k}"));
    let body = expect::json(&reply, 200);
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results\n{reply}"))
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["score"].as_f64().unwrap() as f32))
        .collect()
}

/// A search answered mid-churn is exact over some state of the store: each score is the
/// dot product of the stored vectors, and no image that existed throughout (`stable`)
/// is missing while a worse one is shown.
fn check_mid_churn(
    query: &str,
    k: usize,
    results: &[(String, f32)],
    stable: &HashMap<String, Vec<f32>>,
    churn: &HashMap<String, Vec<f32>>,
) {
    let q = &stable[query];
    for (id, score) in results {
        let v = stable.get(id).or_else(|| churn.get(id)).unwrap_or_else(|| panic!("{query}: unknown result {id}"));
        let native = vectors::dot(q, v);
        assert!((native - score).abs() < 1e-5, "{query}: {id} scored {score}, its vectors give {native}");
    }
    assert!(results.windows(2).all(|w| w[0].1 >= w[1].1), "best first: {results:?}");
    let shown: BTreeSet<&str> = results.iter().map(|(id, _)| id.as_str()).collect();
    let floor = if results.len() < k { f32::NEG_INFINITY } else { results.last().map_or(f32::NEG_INFINITY, |r| r.1) };
    for (id, v) in stable.iter().filter(|(id, _)| id.as_str() != query && !shown.contains(id.as_str())) {
        let score = vectors::dot(q, v);
        assert!(score <= floor + 1e-5, "{query}, k={k}: {id} ({score}) existed throughout but is missing from {results:?}");
    }
}

#[test]
fn similar_search_is_exact_while_both_replicas_upload_and_delete() {
    let Some(stack) = replicas::stack("similar_search_is_exact_while_both_replicas_upload_and_delete") else {
        return;
    };
    stack.wait_all_up();
    let client = stack.balancer.clone();
    // Scenes of our own, each in two qualities; the churn images are more versions of
    // the same scenes, so they compete for the top places.
    let scenes: Vec<_> = (0..12).map(|n| fixtures::photo(160, 120, fixtures::seed(0x5EA0 + n))).collect();
    let mine: Vec<String> = scenes
        .iter()
        .flat_map(|s| [fixtures::jpeg(s, 90), fixtures::jpeg(s, 60)])
        .map(|bytes| {
            let reply = client.post("/api/images", &bytes, "image/jpeg");
            assert!(matches!(reply.status, 200 | 201), "{reply}");
            fixtures::sha256_hex(&bytes)
        })
        .collect();
    let churn_bytes: Vec<Vec<u8>> =
        scenes.iter().flat_map(|s| [fixtures::jpeg(&fixtures::resized(s, 120, 90), 80), fixtures::png(s)]).collect();
    // Their vectors, learnt once (the same bytes always give the same vector), then gone.
    let mut churn = HashMap::new();
    for bytes in &churn_bytes {
        let id = fixtures::sha256_hex(bytes);
        expect::json(&client.post("/api/images", bytes, "application/octet-stream"), 201);
        churn.insert(id.clone(), vector_of(&client, &id).expect("just uploaded"));
        client.delete(&format!("/api/images/{id}")).expect_status(204);
    }
    // Everything in the store now stays throughout: other tests' images too, since a
    // search ranks the whole catalog.
    let listed = list_all(&client, 200);
    let reader = client.clone();
    let stable_vectors = parallel(listed.len(), 16, {
        let listed = listed.clone();
        move |i| vector_of(&reader, &listed[i]).unwrap_or_else(|| panic!("{} is listed but has no vector", listed[i]))
    });
    let stable: HashMap<String, Vec<f32>> = listed.into_iter().zip(stable_vectors).collect();
    for id in &mine {
        assert!(stable.contains_key(id), "{id} uploaded but not listed");
    }

    // Two churn threads upload and delete through the balancer (so on both replicas)
    // while searches run.
    let stop = Arc::new(AtomicBool::new(false));
    let churn_ops = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = (0..2)
        .map(|t| {
            let (client, stop, ops, bytes) = (stack.balancer.clone(), stop.clone(), churn_ops.clone(), churn_bytes.clone());
            std::thread::spawn(move || {
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    for b in bytes.iter().skip(t).step_by(2) {
                        let id = fixtures::sha256_hex(b);
                        let up = client.post("/api/images", b, "application/octet-stream");
                        assert!(matches!(up.status, 200 | 201), "{up}");
                        if round % 2 == 0 {
                            let gone = client.delete(&format!("/api/images/{id}"));
                            assert!(matches!(gone.status, 204 | 404), "{gone}");
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    round += 1;
                }
            })
        })
        .collect();
    let mut searches = 0;
    let queries: Vec<&String> = mine.iter().step_by(3).collect();
    while searches < 120 || churn_ops.load(Ordering::Relaxed) < 48 {
        let query = queries[searches % queries.len()];
        let k = [1, 3, 10][searches % 3];
        check_mid_churn(query, k, &similar(&stack.balancer, query, k), &stable, &churn);
        searches += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for churner in churners {
        churner.join().expect("a churn thread failed");
    }

    // At rest: each replica, asked directly, answers exactly the brute force over the
    // vectors in the store now.
    let mut now = stable.clone();
    for id in churn.keys() {
        if let Some(v) = vector_of(&client, id) {
            now.insert(id.clone(), v);
        }
    }
    let listed: BTreeSet<String> = list_all(&client, 200).into_iter().collect();
    assert_eq!(listed, now.keys().cloned().collect(), "the listing is exactly the images with vectors");
    for replica in &stack.replicas {
        let direct = Client::new(replica.url.clone());
        for query in &queries {
            for k in [1, 5, 20] {
                let mut top = vectors::TopK::new(k);
                for (id, v) in now.iter().filter(|(id, _)| id.as_str() != query.as_str()) {
                    top.offer(vectors::dot(&now[*query], v), id.clone());
                }
                assert_eq!(similar(&direct, query, k), top.into_sorted(), "{} at rest, query {query}, k {k}", replica.name);
            }
        }
    }
    let touched: Vec<String> = mine.iter().chain(churn.keys()).cloned().collect();
    assert_whole(&stack, &touched, "search during churn");
    notice(&format!(
        "e2e: replicas: {searches} searches exact during {} uploads/deletes on both replicas; {} images at rest match the brute force on each replica",
        churn_ops.load(Ordering::Relaxed),
        now.len()
    ));
}

fn agg_params() -> Value {
    json!({"group_by": ["merchant"], "values": {"amount": ["sum", "count", "min", "max"]}})
}

/// The sales dataset every job test aggregates (content-addressed: uploaded once).
fn sales(client: &Client) -> (String, Vec<(String, i64)>) {
    let rows = testkit::sales(200_000, 13);
    let reply = client.post("/api/datasets", &testkit::sales_csv(&rows), "text/csv");
    assert!(matches!(reply.status, 200 | 201), "{reply}");
    (expect::json(&reply, reply.status)["id"].as_str().unwrap().to_owned(), rows)
}

/// The job's result against the independent computation, cent for cent.
fn assert_exact(client: &Client, job: &Value, rows: &[(String, i64)]) {
    assert_eq!(job["state"], "succeeded", "{job}");
    let result = expect::json(&client.get(job["result"].as_str().expect("result url")), 200);
    let want = testkit::expected(rows);
    let groups = result["groups"].as_array().expect("groups");
    assert_eq!((result["rows"].as_u64(), groups.len()), (Some(rows.len() as u64), want.len()), "{result}");
    for (g, (merchant, (count, sum, min, max))) in groups.iter().zip(&want) {
        let a = &g["amount"];
        assert_eq!(g["key"]["merchant"].as_str(), Some(merchant.as_str()));
        assert_eq!(a["count"], json!(count), "{merchant}");
        let cents = |k: &str| testkit::parse_cents(a[k].as_str().unwrap());
        assert_eq!((cents("sum"), cents("min"), cents("max")), (*sum, i128::from(*min), i128::from(*max)), "{merchant}");
    }
}

/// `POST /api/jobs/{id}/run` through the balancer until the job ends.
fn run_to_end(client: &Client, id: &str) -> (Value, usize) {
    for runs in 1..200 {
        let reply = client.post_json(&format!("/api/jobs/{id}/run"), &json!({}));
        match reply.status {
            200 => return (expect::json(&reply, 200), runs),
            202 => {}
            _ => panic!("run {runs} failed\n{reply}"),
        }
    }
    panic!("job {id} makes no progress");
}

/// Shards (unit requests) of job `id` each replica's host served.
fn shards(stack: &Stack, id: &str) -> BTreeMap<String, usize> {
    stack.replicas.iter().map(|r| (r.name.clone(), r.logged(&format!("POST /api/jobs/{id}/units/")))).collect()
}

#[test]
fn job_shards_sent_to_the_balancer_land_on_both_replicas() {
    let Some(stack) = replicas::stack("job_shards_sent_to_the_balancer_land_on_both_replicas") else {
        return;
    };
    stack.wait_all_up();
    let client = &stack.balancer;
    let (dataset, rows) = sales(client);
    let reply = client.post_json(
        "/api/jobs",
        &json!({"task": "aggregate", "input": {"dataset": dataset}, "params": agg_params(), "shard_size": 10_000, "concurrency": 4}),
    );
    let job = match reply.status {
        200 => expect::json(&reply, 200),
        202 => run_to_end(client, expect::json(&reply, 202)["id"].as_str().unwrap()).0,
        _ => panic!("{reply}"),
    };
    assert_eq!(job["shards"]["total"], json!(20), "{job}");
    assert_exact(client, &job, &rows);
    let split = shards(&stack, job["id"].as_str().unwrap());
    assert!(split.values().all(|n| *n > 0), "shards landed on both replicas: {split:?}");
    assert!(split.values().sum::<usize>() >= 20, "every map shard was served: {split:?}");
    notice(&format!(
        "e2e: replicas: job {} ({} rows, 20 map shards): units per replica {split:?}; result exact",
        job["id"].as_str().unwrap(),
        rows.len()
    ));
}

/// Starts a job through the balancer while only `driver` is in rotation, so that
/// replica drives it; reads the NDJSON stream on a thread. Returns the job id and the
/// thread, which answers whether the stream ended with an `end` event.
fn start_driven_by(
    stack: &Stack,
    driver: &str,
    dataset: &str,
    concurrency: u32,
) -> (String, std::thread::JoinHandle<Result<Value, String>>) {
    let others: Vec<&str> = stack.replicas.iter().map(|r| r.name.as_str()).filter(|n| *n != driver).collect();
    for other in &others {
        stack.set_in_rotation(other, false);
    }
    // 200 shards of 1,000 rows: long enough to be killed in the middle of.
    let body = json!({"task": "aggregate", "input": {"dataset": dataset}, "params": agg_params(), "shard_size": 1_000, "concurrency": concurrency});
    let agent = stack.balancer.agent().clone();
    let url = format!("{}/api/jobs", stack.balancer.base());
    let (id_tx, id_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || -> Result<Value, String> {
        let mut response = agent
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/x-ndjson")
            .send(body.to_string())
            .map_err(|e| format!("no response: {e}"))?;
        let status = response.status().as_u16();
        let mut lines = std::io::BufReader::new(response.body_mut().as_reader()).lines();
        let mut end = None;
        while let Some(line) = lines.next() {
            let line = line.map_err(|e| format!("the stream broke off: {e}"))?;
            let event: Value = serde_json::from_str(&line).map_err(|e| format!("{line:?}: {e}"))?;
            match event["event"].as_str() {
                Some("start") => {
                    let _ = id_tx.send(event["job"]["id"].as_str().unwrap_or_default().to_owned());
                }
                Some("end") => end = Some(event["job"].clone()),
                _ => {}
            }
        }
        end.ok_or_else(|| format!("status {status}: the stream ended without an end event"))
    });
    let id = id_rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the job's start event");
    for other in &others {
        stack.set_in_rotation(other, true);
    }
    (id, reader)
}

/// Waits until job `id` has `n` succeeded map shards (read through the balancer).
fn wait_for_shards(client: &Client, id: &str, n: u64) {
    for _ in 0..3000 {
        let reply = client.get(&format!("/api/jobs/{id}"));
        if reply.status == 200 && expect::json(&reply, 200)["shards"]["succeeded"].as_u64() >= Some(n) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("job {id} did not reach {n} shards");
}

#[test]
fn a_replica_killed_mid_job_loses_nothing_and_run_finishes_exact() {
    let Some(stack) = replicas::stack("a_replica_killed_mid_job_loses_nothing_and_run_finishes_exact") else {
        return;
    };
    stack.wait_all_up();
    let client = &stack.balancer;
    let (dataset, rows) = sales(client);
    let r1 = stack.replica("r1");

    // The driving replica dies: the client's stream breaks off (no `end`), and `run`
    // through the balancer finishes the job on what the store holds.
    let (id, reader) = start_driven_by(&stack, "r1", &dataset, 1);
    wait_for_shards(client, &id, 3);
    let old = r1.kill();
    let outcome = reader.join().expect("the reader thread");
    assert!(outcome.is_err(), "the killed driver's client saw no success: {outcome:?}");
    r1.wait_restarted(old);
    stack.wait_all_up();
    let (job, runs) = run_to_end(client, &id);
    assert_exact(client, &job, &rows);
    let driver_killed = shards(&stack, &id);
    notice(&format!(
        "e2e: replicas: job {id}, driver r1 SIGKILLed after 3 shards ({}): finished by {runs} run(s), exact; units per replica {driver_killed:?}",
        outcome.unwrap_err()
    ));

    // A replica serving shards dies under a driver on the other: its shards' requests
    // fail (haproxy's 502) and are retried; the driver's own answer is the exact result.
    let (id, reader) = start_driven_by(&stack, "r2", &dataset, 2);
    wait_for_shards(client, &id, 6);
    let old = r1.kill();
    let outcome = reader.join().expect("the reader thread");
    r1.wait_restarted(old);
    stack.wait_all_up();
    let job = match outcome {
        Ok(job) if job["state"] == "succeeded" => job,
        // Past the request budget or the retries: `run` resumes it.
        _ => run_to_end(client, &id).0,
    };
    assert_exact(client, &job, &rows);
    let split = shards(&stack, &id);
    assert!(split.values().all(|n| *n > 0), "shards ran on both replicas: {split:?}");
    notice(&format!("e2e: replicas: job {id}, shard replica r1 SIGKILLed mid-job under driver r2: exact; units per replica {split:?}"));
}

#[test]
fn a_replica_killed_mid_upload_leaves_nothing_half_visible() {
    const UPLOADS: usize = 300;
    let Some(stack) = replicas::stack("a_replica_killed_mid_upload_leaves_nothing_half_visible") else {
        return;
    };
    stack.wait_all_up();
    let photos: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..UPLOADS).map(|i| fixtures::jpeg(&fixtures::photo(320, 240, fixtures::seed(0xDEAD_0000 + i as u64)), 85)).collect(),
    );
    let ids: Vec<String> = photos.iter().map(|b| fixtures::sha256_hex(b)).collect();
    let done = Arc::new(AtomicUsize::new(0));
    let client = stack.balancer.clone();
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let uploads = {
        let (photos, done, statuses) = (photos.clone(), done.clone(), statuses.clone());
        std::thread::spawn(move || {
            parallel(UPLOADS, 32, move |i| {
                let reply = client.try_post("/api/images", &photos[i], "image/jpeg");
                done.fetch_add(1, Ordering::Relaxed);
                statuses.lock().unwrap().push(reply.as_ref().map_or(0, |r| r.status));
                reply_outcome(reply)
            })
        })
    };
    while done.load(Ordering::Relaxed) < UPLOADS / 4 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let old = stack.replica("r1").kill();
    let outcomes = uploads.join().expect("an upload got an unclean answer");
    stack.replica("r1").wait_restarted(old);
    stack.wait_all_up();

    let failed: Vec<usize> = (0..UPLOADS).filter(|i| !outcomes[*i]).collect();
    assert!(!failed.is_empty(), "the kill hit uploads in flight");
    // Nothing half-visible: every upload that answered 2xx is whole; every failed one is
    // either whole too (it finished before the answer was lost) or absent everywhere.
    let listed: HashMap<String, usize> = list_all(&stack.balancer, 100).into_iter().fold(HashMap::new(), |mut m, id| {
        *m.entry(id).or_default() += 1;
        m
    });
    let mut whole_after_failure = 0;
    for (i, id) in ids.iter().enumerate() {
        let record = stack.balancer.get(&format!("/api/images/{id}"));
        let original = stack.balancer.get(&format!("/images/{id}"));
        let thumbnail = stack.balancer.get(&format!("/images/{id}/thumbnail"));
        let vector = stack.balancer.get(&format!("/api/images/{id}/vector"));
        // The auto preset's variant (spin.toml's `auto_presets`), stored by the upload.
        let variant = stack.balancer.get(&format!("/images/{id}/variants/clarendon"));
        let whole = record.status == 200
            && original.status == 200
            && original.body == photos[i]
            && thumbnail.status == 200
            && vector.status == 200
            && variant.status == 200
            && listed.get(id) == Some(&1);
        let absent = [&record, &original, &thumbnail, &vector, &variant].iter().all(|r| r.status == 404)
            && !listed.contains_key(id);
        if outcomes[i] {
            assert!(whole, "upload {i} ({id}) answered 2xx but is not whole: record {}, original {}, thumbnail {}, vector {}, variant {}, listed {:?}",
                record.status, original.status, thumbnail.status, vector.status, variant.status, listed.get(id));
        } else {
            assert!(whole || absent, "upload {i} ({id}) failed and is half-visible: record {}, original {}, thumbnail {}, vector {}, variant {}, listed {:?}",
                record.status, original.status, thumbnail.status, vector.status, variant.status, listed.get(id));
            whole_after_failure += usize::from(whole);
        }
    }
    // Similar search shows only images: none of the dead uploads' stored vectors.
    for id in ids.iter().zip(&outcomes).filter(|(_, ok)| **ok).map(|(id, _)| id).take(3) {
        for (result, _) in similar(&stack.balancer, id, 50) {
            let object = stack.balancer.get(&format!("/api/images/{result}"));
            assert_eq!(object.status, 200, "similar search for {id} shows {result}, which is no image\n{object}");
        }
    }
    // Chunks without a manifest (what a killed write leaves) are invisible; a committed
    // blob must read back whole.
    let problems = problems_of(&stack, &ids);
    let orphans_before = problems.iter().filter(|p| p.ends_with("chunk without a manifest")).count();
    let partial: Vec<&String> = problems.iter().filter(|p| !p.ends_with("chunk without a manifest")).collect();
    assert!(partial.is_empty(), "a committed blob is partial: {partial:#?}");

    // The failed uploads, sent again, all succeed; then every upload is listed once.
    for &i in &failed {
        let reply = stack.balancer.post("/api/images", &photos[i], "image/jpeg");
        assert!(matches!(reply.status, 200 | 201), "retrying upload {i}\n{reply}");
    }
    let (lost, duplicates) = lost_and_duplicates(&stack.balancer, &ids, 64);
    assert!(lost.is_empty() && duplicates.is_empty(), "lost {lost:?}, duplicates {duplicates:?}");
    let orphans = problems_of(&stack, &ids);
    let mut statuses = statuses.lock().unwrap().clone();
    statuses.sort_unstable();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for s in statuses {
        *counts.entry(s).or_default() += 1;
    }
    notice(&format!(
        "e2e: replicas: {UPLOADS} uploads, r1 SIGKILLed after {}: statuses {counts:?}; {} failed (0 = dropped connection; {} of them whole, the rest absent, {orphans_before} invisible chunks left), retried: lost 0, duplicates 0",
        UPLOADS / 4,
        failed.len(),
        whole_after_failure
    ));
    assert!(orphans.is_empty(), "after the retries the store still holds:\n  {}", orphans.join("\n  "));
}

/// A clean answer to an upload: 2xx (true), or a clean failure (false): haproxy's
/// 502/503 for a replica that died under it or was unreachable, or the connection
/// dropped without a response. Anything else (a 500, a 4xx) fails the test.
fn reply_outcome(reply: Result<Reply, String>) -> bool {
    match reply {
        Ok(reply) => match reply.status {
            200 | 201 => true,
            502 | 503 => false,
            _ => panic!("an upload through a dying replica answered neither 2xx nor 502/503\n{reply}"),
        },
        Err(_) => false,
    }
}

//! Batch jobs through the real `jobs` component under the test host (issue 11): datasets,
//! exact aggregation, matrix statistics, drivers racing, budgets, faults, bad input.
//!
//! Each test starts its own host (variables, faults, state); with `BASE_URL` set they
//! are skipped. The aggregation test uses `DARKROOM_JOBS_ROWS` rows (default 1,000,000, ~29 MB,
//! about 10 s in the test host; set fewer for a quick run).

use darkroom_e2e::kvcheck::KvFile;
use darkroom_e2e::target::{base_url, notice};
use darkroom_e2e::{Client, Host, HostOptions, Reply, expect};
use darkroom_host::KvFault;
use jobs::testkit;
use serde_json::{Value, json};

fn skip(test: &str) -> bool {
    if base_url().is_some() {
        notice(&format!("e2e: SKIPPED {test}: needs hosts of its own; BASE_URL is set"));
        return true;
    }
    false
}

fn host(variables: &[(&str, &str)], kv_fault: Option<KvFault>) -> Host {
    Host::spawn_with(HostOptions { variables, kv_fault, ..HostOptions::default() }).unwrap_or_else(|e| panic!("{e:#}"))
}

fn upload(client: &Client, csv: &[u8]) -> Value {
    let reply = client.post("/api/datasets", csv, "text/csv");
    expect::within_memory_budget(&reply);
    expect::json(&reply, 201)
}

fn agg_params() -> Value {
    json!({"group_by": ["merchant"], "values": {"amount": ["sum", "count", "mean", "min", "max"]}})
}

fn job(client: &Client, body: Value) -> Reply {
    client.post_json("/api/jobs", &body)
}

/// Drives job `id` with `run` until it ends; answers the final object and the runs used.
fn run_to_end(client: &Client, mut reply: Reply) -> (Value, usize) {
    let mut runs = 0;
    loop {
        expect::within_memory_budget(&reply);
        match reply.status {
            200 => return (expect::json(&reply, 200), runs),
            202 => {
                let object = expect::json(&reply, 202);
                assert!(matches!(object["state"].as_str(), Some("running" | "pending")), "{reply}");
                runs += 1;
                assert!(runs < 500, "the job makes no progress\n{reply}");
                reply = client.post_json(&format!("/api/jobs/{}/run", object["id"].as_str().unwrap()), &json!({}));
            }
            _ => panic!("driving the job failed\n{reply}"),
        }
    }
}

/// The result against the independent computation, cent for cent.
#[track_caller]
fn assert_exact(result: &Value, rows: &[(String, i64)]) {
    let want = testkit::expected(rows);
    let groups = result["groups"].as_array().expect("groups");
    assert_eq!(result["rows"], json!(rows.len()));
    assert_eq!(groups.len(), want.len());
    for (g, (merchant, (count, sum, min, max))) in groups.iter().zip(&want) {
        assert_eq!(g["key"]["merchant"].as_str(), Some(merchant.as_str()));
        let a = &g["amount"];
        assert_eq!(a["count"], json!(count), "{merchant}");
        assert_eq!(testkit::parse_cents(a["sum"].as_str().unwrap()), *sum, "{merchant}: sum");
        assert_eq!(testkit::parse_cents(a["min"].as_str().unwrap()), i128::from(*min), "{merchant}: min");
        assert_eq!(testkit::parse_cents(a["max"].as_str().unwrap()), i128::from(*max), "{merchant}: max");
        let mean: f64 = a["mean"].as_str().unwrap().parse().unwrap();
        let exact = *sum as f64 / 100.0 / *count as f64;
        assert!((mean - exact).abs() <= 1e-9 * exact.abs().max(1.0), "{merchant}: mean {mean} vs {exact}");
    }
}

fn rows_from_env() -> usize {
    std::env::var("DARKROOM_JOBS_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

#[test]
fn aggregate_over_a_sales_csv_is_exact_cent_for_cent() {
    if skip("aggregate_over_a_sales_csv_is_exact_cent_for_cent") {
        return;
    }
    let host = host(&[], None);
    let client = host.client();
    let n = rows_from_env();
    let rows = testkit::sales(n, 2026);
    let csv = testkit::sales_csv(&rows);
    let started = std::time::Instant::now();
    let ds = upload(&client, &csv);
    assert_eq!((ds["rows"].as_u64(), ds["bytes"].as_u64(), ds["format"].as_str()), (Some(n as u64), Some(csv.len() as u64), Some("csv")));
    assert_eq!(ds["columns"], json!([{"name": "order_id", "type": "number"}, {"name": "merchant", "type": "string"}, {"name": "amount", "type": "number"}]));
    // The same bytes again: 200 and the same dataset; the raw bytes come back whole.
    let again = client.post("/api/datasets", &csv, "text/csv");
    assert_eq!(expect::json(&again, 200)["id"], ds["id"]);
    let raw = client.get(&format!("/datasets/{}", ds["id"].as_str().unwrap()));
    assert!(raw.status == 200 && raw.body == csv, "the raw dataset differs\n{raw}");

    let shard_size = n.div_ceil(8);
    let reply = job(&client, json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": shard_size, "concurrency": 2}));
    assert!(reply.header("location").is_some_and(|l| l.starts_with("/api/jobs/")), "{reply}");
    let (object, runs) = run_to_end(&client, reply);
    assert_eq!(object["state"], "succeeded", "{object}");
    assert_eq!(object["shards"], json!({"total": 8, "succeeded": 8, "failed": 0, "pending": 0, "running": 0}));
    assert_eq!(object["items"], json!({"total": n, "succeeded": n, "failed": 0}));
    let result_url = object["result"].as_str().unwrap();
    let result = client.get(result_url);
    expect::within_memory_budget(&result);
    assert_exact(&expect::json(&result, 200), &rows);
    notice(&format!("e2e: aggregate over {n} rows ({} bytes): upload to result {:.1} s, {} extra runs", csv.len(), started.elapsed().as_secs_f64(), runs));

    let csv_out = client.get(&format!("{result_url}?format=csv"));
    csv_out.expect_status(200);
    let text = csv_out.text();
    assert!(text.starts_with("merchant,amount_sum,amount_count,amount_mean,amount_min,amount_max\n"), "{text}");
    assert_eq!(text.lines().count(), 1 + testkit::MERCHANTS.len());

    // The job lists, and answers from any client.
    let listed = expect::json(&client.get("/api/jobs"), 200);
    assert_eq!(listed["jobs"][0]["id"], object["id"]);
    let status = expect::json(&client.get(&format!("/api/jobs/{}", object["id"].as_str().unwrap())), 200);
    assert_eq!((&status["state"], &status["items"]), (&object["state"], &object["items"]));
}

#[test]
fn ndjson_progress_streams_start_progress_and_end() {
    if skip("ndjson_progress_streams_start_progress_and_end") {
        return;
    }
    let host = host(&[], None);
    let client = host.client();
    let rows = testkit::sales(20_000, 4);
    let ds = upload(&client, &testkit::sales_csv(&rows));
    let body = json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": 1000, "concurrency": 3});
    let reply = client.post_with("/api/jobs", body.to_string().as_bytes(), "application/json", &[("accept", "application/x-ndjson")]);
    reply.expect_status(200);
    assert_eq!(reply.media_type().as_deref(), Some("application/x-ndjson"));
    let events: Vec<Value> = reply.text().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(events.first().unwrap()["event"], "start", "{events:?}");
    let end = events.last().unwrap();
    assert_eq!((&end["event"], &end["job"]["state"]), (&json!("end"), &json!("succeeded")), "{end}");
    for e in &events[1..events.len() - 1] {
        assert_eq!(e["event"], "progress");
        assert!(e["shards"]["succeeded"].as_u64().unwrap() <= 20);
    }
    let result = expect::json(&client.get(end["job"]["result"].as_str().unwrap()), 200);
    assert_exact(&result, &rows);
}

/// A sales file where every row is its own group: `k0000000`… in a scrambled order.
fn distinct_keys_csv(n: usize) -> (Vec<u8>, Vec<i64>) {
    assert!(n % 7919 != 0, "7919 must not divide the row count");
    let mut rng = testkit::Lcg(77);
    let mut csv = b"key,amount\n".to_vec();
    let mut cents = vec![0i64; n];
    for i in 0..n {
        // 7919 is prime and does not divide n: a permutation of 0..n.
        let k = (i * 7919 + 13) % n;
        let c = (rng.next() % 2_000_000) as i64 - 1_000_000;
        cents[k] = c;
        csv.extend(format!("k{k:07},{}\n", testkit::cents_str(c)).bytes());
    }
    (csv, cents)
}

#[test]
fn an_aggregate_with_a_million_distinct_keys_fits_every_instance_in_128_mib() {
    if skip("an_aggregate_with_a_million_distinct_keys_fits_every_instance_in_128_mib") {
        return;
    }
    // Every instance, the shard and reduce units included, is capped at 128 MiB.
    let host = Host::spawn_with(HostOptions { max_instance_memory: Some(expect::MEMORY_BUDGET as usize), ..HostOptions::default() })
        .unwrap_or_else(|e| panic!("{e:#}"));
    let client = host.client();
    let n = rows_from_env();
    let (csv, cents) = distinct_keys_csv(n);
    let ds = upload(&client, &csv);
    let params = json!({"group_by": ["key"], "values": {"amount": ["sum", "count", "max"]}});
    let reply = job(&client, json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": params, "concurrency": 2}));
    let (object, _) = run_to_end(&client, reply);
    assert_eq!(object["state"], "succeeded", "{object}");
    assert!(object["reduce"]["total"].as_u64().unwrap() >= 2, "the reduce should be split by key hash: {object}");
    let url = object["result"].as_str().unwrap();

    // CSV: one line per key, in key order, each sum the row's own amount.
    let reply = client.get(&format!("{url}?format=csv"));
    expect::within_memory_budget(&reply);
    reply.expect_status(200);
    let mut reader = csv::Reader::from_reader(&reply.body[..]);
    assert_eq!(reader.headers().unwrap(), vec!["key", "amount_sum", "amount_count", "amount_max"]);
    let mut count = 0;
    for (k, record) in reader.records().enumerate() {
        let record = record.unwrap();
        assert_eq!(&record[0], format!("k{k:07}"));
        assert_eq!(testkit::parse_cents(&record[1]), i128::from(cents[k]), "{record:?}");
        assert_eq!((&record[2], &record[3]), ("1", record[1].to_string().as_str()));
        count += 1;
    }
    assert_eq!(count, n);

    // JSON: the same groups, streamed as one document.
    let reply = client.get(url);
    expect::within_memory_budget(&reply);
    #[derive(serde::Deserialize)]
    struct Out {
        rows: usize,
        groups: Vec<Group>,
    }
    #[derive(serde::Deserialize)]
    struct Group {
        key: std::collections::HashMap<String, String>,
        amount: std::collections::HashMap<String, Value>,
    }
    let out: Out = serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("{e}: {} bytes", reply.body.len()));
    assert_eq!((out.rows, out.groups.len()), (n, n));
    for (k, g) in out.groups.iter().enumerate().step_by(997) {
        assert_eq!(g.key["key"], format!("k{k:07}"));
        assert_eq!(testkit::parse_cents(g.amount["sum"].as_str().unwrap()), i128::from(cents[k]));
    }
}

#[test]
fn matrix_stats_equal_an_independent_computation() {
    if skip("matrix_stats_equal_an_independent_computation") {
        return;
    }
    let host = host(&[], None);
    let client = host.client();
    let (data, csv) = testkit::matrix(30_000, 8);
    let ds = upload(&client, &csv);
    let reply = job(&client, json!({"task": "matrix_stats", "input": {"dataset": ds["id"]}, "shard_size": 4000}));
    let (object, _) = run_to_end(&client, reply);
    let r = expect::json(&client.get(object["result"].as_str().unwrap()), 200);
    let n = data.len() as f64;
    assert_eq!((r["n"].as_u64(), r["dims"].as_u64()), (Some(data.len() as u64), Some(4)));
    let close = |a: &Value, b: f64, what: &str| {
        let a = a.as_f64().unwrap_or_else(|| panic!("{what}: {a}"));
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-300), "{what}: {a} vs {b}");
    };
    // Two-pass, in f64, over the values the CSV was written from.
    let mean: Vec<f64> = (0..4).map(|j| data.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let cov = |i: usize, j: usize| data.iter().map(|r| (r[i] - mean[i]) * (r[j] - mean[j])).sum::<f64>() / n;
    for j in 0..4 {
        close(&r["mean"][j], mean[j], "mean");
        close(&r["std"][j], cov(j, j).sqrt(), "std");
        close(&r["min"][j], data.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min), "min");
        close(&r["max"][j], data.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max), "max");
        for k in 0..4 {
            close(&r["correlation"][j][k], cov(j, k) / (cov(j, j) * cov(k, k)).sqrt(), "correlation");
        }
    }
    for c in 0..2 {
        let v: Vec<f64> = (0..4).map(|j| r["pca"]["components"][c][j].as_f64().unwrap()).collect();
        let lambda = r["pca"]["explained_variance"][c].as_f64().unwrap();
        for i in 0..4 {
            let cv: f64 = (0..4).map(|j| cov(i, j) * n / (n - 1.0) * v[j]).sum();
            assert!((cv - lambda * v[i]).abs() <= 1e-9 * lambda, "component {c} is not an eigenvector");
        }
    }
}

#[test]
fn two_drivers_at_once_and_a_tiny_budget_give_the_exact_result() {
    if skip("two_drivers_at_once_and_a_tiny_budget_give_the_exact_result") {
        return;
    }
    // Each request starts one wave of units and then stops: many `run`s, two at a time.
    let host = host(&[("job_request_budget_ms", "1")], None);
    let client = host.client();
    let rows = testkit::sales(30_000, 6);
    let ds = upload(&client, &testkit::sales_csv(&rows));
    let reply = job(&client, json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": 1500, "concurrency": 2}));
    let first = expect::json(&reply, 202);
    let id = first["id"].as_str().unwrap().to_owned();
    let (a, b) = std::thread::scope(|s| {
        let drive = || {
            let client = host.client();
            run_to_end(&client, client.post_json(&format!("/api/jobs/{id}/run"), &json!({})))
        };
        let a = s.spawn(drive);
        let b = s.spawn(drive);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.1 + b.1 >= 4, "the budget should have stopped the drivers several times ({} + {})", a.1, b.1);
    for object in [&a.0, &b.0] {
        assert_eq!(object["state"], "succeeded");
        assert_eq!(object["items"], json!({"total": 30_000, "succeeded": 30_000, "failed": 0}));
        assert_eq!(object["shards"]["succeeded"], 20);
    }
    assert_exact(&expect::json(&client.get(&format!("/api/jobs/{id}/result")), 200), &rows);
}

#[test]
fn a_kv_write_fault_in_a_shard_is_retried_to_an_exact_result() {
    if skip("a_kv_write_fault_in_a_shard_is_retried_to_an_exact_result") {
        return;
    }
    let rows = testkit::sales(5000, 12);
    let csv = testkit::sales_csv(&rows);
    // Writes before the job: 1 chunk, index, listing, record; job listing, spec. Then
    // each unit: a start marker, its outputs, its done record. Write 9..=14 lands in
    // the first shards' outputs and done records.
    let mut retried = 0;
    for n in 9..=14 {
        let host = host(&[], Some(KvFault::FailNthWrite(n)));
        let client = host.client();
        let ds = upload(&client, &csv);
        let reply = job(&client, json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": 1000, "concurrency": 1, "retry": {"interval_ms": 10}}));
        let (object, _) = run_to_end(&client, reply);
        assert_eq!(object["state"], "succeeded", "fault on write {n}: {object}");
        assert_exact(&expect::json(&client.get(object["result"].as_str().unwrap()), 200), &rows);
        let kv = KvFile::new(host.state_dir());
        retried += kv.keys().iter().filter(|k| k.contains("/fail/")).count();
    }
    assert!(retried >= 3, "only {retried} of the faults hit a shard and were retried");
}

#[test]
fn an_always_failing_shard_fails_the_job_and_run_finishes_it_once_repaired() {
    if skip("an_always_failing_shard_fails_the_job_and_run_finishes_it_once_repaired") {
        return;
    }
    let host = host(&[("kv_chunk_bytes", "20000")], None);
    let client = host.client();
    let rows = testkit::sales(6000, 21);
    let ds = upload(&client, &testkit::sales_csv(&rows));
    let kv = KvFile::new(host.state_dir());
    // Damage the dataset's second chunk: the shards reading it fail on every attempt.
    let chunk = kv.keys().into_iter().find(|k| k.starts_with("dsc/") && k.ends_with("/1")).expect("a second chunk");
    let good = store::KeyValue::get(&kv, &chunk).unwrap().unwrap();
    kv.replace(&chunk, b"damaged");
    let body = json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": 500, "max_attempts": 2, "retry": {"interval_ms": 10}});
    let (object, _) = run_to_end(&client, job(&client, body));
    assert_eq!(object["state"], "failed", "{object}");
    assert!(object["shards"]["failed"].as_u64().unwrap() >= 1, "{object}");
    let error = &object["errors"][0];
    assert_eq!((error["status"].as_u64(), error["attempts"].as_u64(), error["phase"].as_str()), (Some(500), Some(2), Some("map")), "{object}");
    assert!(!error["detail"].as_str().unwrap().is_empty());
    assert_eq!(object["result"], Value::Null);
    expect::problem(&client.get(&format!("/api/jobs/{}/result", object["id"].as_str().unwrap())), 409);
    // Repaired, `run` retries only the failed shards and finishes exactly.
    kv.replace(&chunk, &good);
    let (object, _) = run_to_end(&client, client.post_json(&format!("/api/jobs/{}/run", object["id"].as_str().unwrap()), &json!({})));
    assert_eq!(object["state"], "succeeded", "{object}");
    assert_eq!(object["errors"], json!([]));
    assert_exact(&expect::json(&client.get(object["result"].as_str().unwrap()), 200), &rows);
}

#[test]
fn bad_input_gets_problem_json_and_writes_nothing() {
    if skip("bad_input_gets_problem_json_and_writes_nothing") {
        return;
    }
    let host = host(&[("max_shards", "10"), ("max_dataset_line_bytes", "100")], None);
    let client = host.client();
    let ds = upload(&client, &testkit::sales_csv(&testkit::sales(100, 1)));
    let id = ds["id"].as_str().unwrap();
    let kv = KvFile::new(host.state_dir());
    let before = kv.keys();
    let cases = [
        (json!({"task": "nope", "input": {"dataset": id}}), 422, "task"),
        (json!({"task": "aggregate", "input": {"dataset": id}, "params": {"group_by": "merchant"}}), 422, "params"),
        (json!({"task": "aggregate", "input": {"dataset": id}, "params": {"group_by": ["merchant"], "values": {"amount": ["median"]}}}), 422, "params"),
        (json!({"task": "aggregate", "input": {"dataset": id}, "params": {"group_by": ["nope"], "values": {"amount": ["sum"]}}}), 422, "params.group_by"),
        (json!({"task": "matrix_stats", "input": {"dataset": id}, "params": {"columns": ["merchant"]}}), 422, "params.columns"),
        (json!({"task": "aggregate", "input": {"dataset": "0".repeat(64)}, "params": agg_params()}), 404, "input.dataset"),
        (json!({"task": "aggregate", "input": {"dataset": "../etc"}, "params": agg_params()}), 404, "input.dataset"),
        (json!({"task": "aggregate", "input": {"dataset": id}, "params": agg_params(), "shard_size": 5}), 422, "max_shards"),
        (json!({"task": "aggregate", "input": {"dataset": id}, "params": agg_params(), "colour": 1}), 400, "colour"),
    ];
    for (body, status, names) in cases {
        let reply = job(&client, body.clone());
        let problem = expect::problem(&reply, status);
        assert!(problem["detail"].as_str().unwrap().contains(names), "{body}: {reply}");
    }
    for (csv, status, names) in [
        (&b"id,m,amount\n1,x,2\n2,y\n"[..], 400, "line 3, column 3"),
        (b"id,m,amount\n1,\"open,2\n", 400, "line 2, column 3"),
        (b"id,m,amount\n1,\xff,2\n", 400, "line 2, column 2"),
        (b"", 400, "line 1"),
        (b"id,m,amount\n", 400, "line 2"),
    ] {
        let reply = client.post("/api/datasets", csv, "text/csv");
        let problem = expect::problem(&reply, status);
        assert!(problem["detail"].as_str().unwrap().contains(names), "{}: {reply}", String::from_utf8_lossy(csv));
    }
    let long = format!("id,m,amount\n1,{},2\n", "x".repeat(200));
    let problem = expect::problem(&client.post("/api/datasets", long.as_bytes(), "text/csv"), 413);
    assert!(problem["detail"].as_str().unwrap().contains("line 2"), "{problem}");
    expect::problem(&client.post("/api/datasets", b"a,b\n1,2\n", "image/png"), 415);
    // The store helper's route stores nothing for an upload that is not in progress.
    let stray = client.post(&format!("/api/datasets/chunks/{}", "ab".repeat(16)), b"id,m\n1,2\n", "application/octet-stream");
    expect::problem(&stray, 404);
    assert_eq!(kv.keys(), before, "a refused request left keys behind");
    expect::problem(&client.get("/api/jobs/00000000000000000000000000000000"), 404);
    expect::problem(&client.get("/api/datasets/nope"), 404);
}

/// The `darkroom-host` binary as a child process (so it can be SIGKILLed), on
/// `state_dir`; built first if it is missing.
struct Child {
    child: std::process::Child,
    url: String,
}

impl Child {
    fn start(state_dir: &std::path::Path) -> Child {
        let root = darkroom_e2e::target::workspace_root();
        let binary = root.join("target/release/darkroom-host");
        if !binary.exists() {
            let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "-p", "darkroom-host", "--bin", "darkroom-host"])
                .current_dir(&root)
                .status()
                .unwrap();
            assert!(status.success(), "building darkroom-host failed");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let manifest = darkroom_e2e::target::manifest_under_test();
        let mut command = std::process::Command::new(&binary);
        if let Some((name, value)) = darkroom_e2e::target::self_url_variable(&manifest, &url).unwrap() {
            command.arg("--variable").arg(format!("{name}={value}"));
        }
        // On the suite's runtime config (Redis) too; a restart reuses the same database.
        if let Some(file) = darkroom_e2e::runtime_config::for_state_dir(state_dir).unwrap() {
            command.arg("--runtime-config-file").arg(file);
        }
        let child = command
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(state_dir)
            .args(["--kv-max-value-bytes", "1000000"])
            .arg(&manifest)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let client = Client::new(url.clone());
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && client.get("/.well-known/spin/health").status == 200 {
                return Child { child, url };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("darkroom-host did not start on {url}");
    }

    fn kill(mut self) {
        // SIGKILL: no shutdown, whatever the instances were writing is cut off.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_host_killed_mid_job_resumes_with_only_the_missing_shards() {
    if skip("a_host_killed_mid_job_resumes_with_only_the_missing_shards") {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let rows = testkit::sales(120_000, 31);
    let host = Child::start(state.path());
    let client = Client::new(host.url.clone());
    let ds = upload(&client, &testkit::sales_csv(&rows));
    let body = json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": agg_params(), "shard_size": 2000, "concurrency": 1});
    // The driving request runs in the background; this thread watches the job.
    let driving = {
        let client = client.clone();
        let body = body.clone();
        std::thread::spawn(move || job(&client, body).status)
    };
    let (id, total) = loop {
        let jobs = expect::json(&client.get("/api/jobs"), 200);
        if let Some(j) = jobs["jobs"].get(0) {
            break (j["id"].as_str().unwrap().to_owned(), j["shards"]["total"].as_u64().unwrap());
        }
    };
    assert_eq!(total, 60);
    loop {
        let st = expect::json(&client.get(&format!("/api/jobs/{id}")), 200);
        assert_ne!(st["state"], "succeeded", "the job ended before the host could be killed");
        if st["shards"]["succeeded"].as_u64().unwrap() >= total / 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    host.kill();
    let killed_at = jobs::driver::now_micros();
    let _ = driving.join();

    let host = Child::start(state.path());
    let client = Client::new(host.url.clone());
    let st = expect::json(&client.get(&format!("/api/jobs/{id}")), 200);
    let before = st["shards"]["succeeded"].as_u64().unwrap();
    assert!(before >= total / 3 && before < total, "{st}");
    let (object, _) = run_to_end(&client, client.post_json(&format!("/api/jobs/{id}/run"), &json!({})));
    assert_eq!(object["state"], "succeeded", "{object}");
    assert_eq!(object["items"], json!({"total": 120_000, "succeeded": 120_000, "failed": 0}));
    // Only the shards without a result ran again: the others' done records are older.
    let kv = KvFile::new(state.path());
    let rerun = (0..total)
        .filter(|i| {
            let done = store::KeyValue::get(&kv, &format!("job/{id}/done/m{i}")).unwrap().unwrap();
            serde_json::from_slice::<Value>(&done).unwrap()["at"].as_u64().unwrap() > killed_at
        })
        .count() as u64;
    assert_eq!(rerun, total - before, "shards run after the restart vs shards without a result");
    let resumed = expect::json(&client.get(&format!("/api/jobs/{id}/result")), 200);
    assert_exact(&resumed, &rows);
    // An uninterrupted run of the same job gives the same output.
    let (fresh, _) = run_to_end(&client, job(&client, body));
    assert_eq!(expect::json(&client.get(fresh["result"].as_str().unwrap()), 200), resumed);
}

#[test]
fn a_dataset_stored_by_the_helper_equals_one_stored_in_one_instance() {
    if skip("a_dataset_stored_by_the_helper_equals_one_stored_in_one_instance") {
        return;
    }
    // Small chunks, so the helper writes many; quoted fields and CRLF across them.
    let csv = testkit::sales_csv(&testkit::sales(20_000, 5));
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&csv));
    let mut answers = Vec::new();
    for helper in ["on", "off"] {
        let host = host(&[("dataset_store_helper", helper), ("kv_chunk_bytes", "65536")], None);
        let client = host.client();
        let mut ds = upload(&client, &csv);
        assert_eq!(ds["id"].as_str(), Some(sha.as_str()), "helper {helper}: the id is the SHA-256 of the bytes");
        let raw = client.get(&format!("/datasets/{sha}"));
        assert!(raw.status == 200 && raw.body == csv, "helper {helper}: the bytes read back differ");
        // The same bytes again: 200, the stored dataset, and the second upload's chunks gone.
        let keys = KvFile::new(host.state_dir()).keys();
        let again = client.post("/api/datasets", &csv, "text/csv");
        assert_eq!(expect::json(&again, 200)["id"], ds["id"]);
        assert_eq!(KvFile::new(host.state_dir()).keys(), keys, "helper {helper}: a second upload left keys");
        let job = job(&client, json!({"task": "aggregate", "input": {"dataset": sha}, "params": agg_params()}));
        let (object, _) = run_to_end(&client, job);
        let result = expect::json(&client.get(object["result"].as_str().unwrap()), 200);
        // The upload time is the one field that may differ.
        ds.as_object_mut().unwrap().remove("created");
        answers.push((ds, result));
    }
    assert_eq!(answers[0], answers[1], "the helper changes nothing a client sees");
}

#[test]
fn a_store_fault_in_the_helper_refuses_the_upload_and_leaves_nothing() {
    if skip("a_store_fault_in_the_helper_refuses_the_upload_and_leaves_nothing") {
        return;
    }
    let csv = testkit::sales_csv(&testkit::sales(20_000, 6));
    // Writes: the pending marker, then the helper's chunks (65,536 bytes each).
    for n in [2, 5] {
        let host = Host::spawn_with(HostOptions {
            variables: &[("kv_chunk_bytes", "65536")],
            kv_fault: Some(KvFault::FailNthWrite(n)),
            ..HostOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        let client = host.client();
        let reply = client.post("/api/datasets", &csv, "text/csv");
        expect::problem(&reply, 503);
        assert_eq!(KvFile::new(host.state_dir()).keys(), Vec::<String>::new(), "fault on write {n} left keys");
        // The same upload again, without the fault now spent, is stored whole.
        let ds = upload(&client, &csv);
        assert_eq!(client.get(&format!("/datasets/{}", ds["id"].as_str().unwrap())).body, csv);
    }
}

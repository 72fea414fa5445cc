//! The `darkroom` CLI (tools/cli), run in-process as a library against the test host:
//! what it prints and its exit codes, checked against what the server stored.
//!
//! The upload test runs against the shared app (or `BASE_URL`); the job tests need
//! hosts with variables of their own and are skipped when `BASE_URL` is set.

use darkroom_e2e::target::{base_url, notice};
use darkroom_e2e::{Host, HostOptions, app, expect, fixtures};
use jobs::testkit;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// What one CLI invocation printed and answered.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.out, self.err)
    }
}

/// `darkroom --url URL ARGS...`, in-process, without progress bars.
fn darkroom(url: &str, args: &[&str]) -> Ran {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut io = darkroom_cli::Io { out: &mut out, err: &mut err, progress: false };
    let argv = ["darkroom", "--url", url].into_iter().chain(args.iter().copied());
    let code = darkroom_cli::run(argv, &mut io);
    Ran { code, out: String::from_utf8(out).unwrap(), err: String::from_utf8(err).unwrap() }
}

fn skip(test: &str) -> bool {
    if base_url().is_some() {
        notice(&format!("e2e: SKIPPED {test}: needs hosts of its own; BASE_URL is set"));
        return true;
    }
    false
}

fn host(variables: &[(&str, &str)]) -> Host {
    Host::spawn_with(HostOptions { variables, ..HostOptions::default() }).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The value after `name` on the line that starts with it (`id       abc…`).
fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {name:?} line in\n{out}"))
        .trim()
}

/// The JSON document that starts at the first line opening with `{`.
fn json_tail(out: &str) -> Value {
    let start = out.find("\n{").map(|i| i + 1).unwrap_or_else(|| panic!("no JSON in\n{out}"));
    serde_json::from_str(&out[start..]).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

fn write_sales(dir: &Path, rows: &[(String, i64)]) -> String {
    let path = dir.join("sales.csv");
    std::fs::write(&path, testkit::sales_csv(rows)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `darkroom dataset upload` of `rows`; answers the dataset id.
fn upload_sales(url: &str, dir: &Path, rows: &[(String, i64)]) -> String {
    let ran = darkroom(url, &["dataset", "upload", &write_sales(dir, rows)]);
    assert_eq!(ran.code, 0, "{ran}");
    assert_eq!(field(&ran.out, "rows"), rows.len().to_string(), "{ran}");
    assert_eq!(field(&ran.out, "columns"), "order_id (number), merchant (string), amount (number)", "{ran}");
    field(&ran.out, "id").to_owned()
}

/// An `aggregate` result against the sales it was computed from: per merchant, count,
/// sum, min and max in cents.
#[track_caller]
fn assert_sales_result(result: &Value, rows: &[(String, i64)]) {
    let got: BTreeMap<String, (u64, i128, i128, i128)> = result["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let a = &g["amount"];
            let cents = |k: &str| testkit::parse_cents(a[k].as_str().unwrap());
            (g["key"]["merchant"].as_str().unwrap().to_owned(), (a["count"].as_u64().unwrap(), cents("sum"), cents("min"), cents("max")))
        })
        .collect();
    let want: BTreeMap<String, (u64, i128, i128, i128)> =
        testkit::expected(rows).into_iter().map(|(m, (n, sum, min, max))| (m, (n, sum, i128::from(min), i128::from(max)))).collect();
    assert_eq!(got, want);
    assert_eq!(result["rows"], json!(rows.len()));
}

const AGGREGATE: [&str; 4] = ["--param", r#"group_by=["merchant"]"#, "--params", r#"{"values": {"amount": ["sum", "count", "min", "max"]}}"#];

#[test]
fn upload_of_a_directory_lists_each_image_and_skips_the_rest() {
    let app = app();
    let dir = tempfile::tempdir().unwrap();
    let mut want = BTreeMap::new();
    for (i, name) in ["a.jpg", "b.jpg", "c.png"].into_iter().enumerate() {
        let photo = fixtures::photo(96 + 16 * i as u32, 64, fixtures::seed(700 + i as u64));
        let bytes = if name.ends_with(".png") { fixtures::png(&photo) } else { fixtures::jpeg(&photo, 85) };
        std::fs::write(dir.path().join(name), &bytes).unwrap();
        want.insert(fixtures::sha256_hex(&bytes), bytes);
    }
    std::fs::write(dir.path().join("notes.txt"), "not a photo\n").unwrap();
    let path = dir.path().to_str().unwrap();

    let ran = darkroom(app.base(), &["upload", path, "--concurrency", "2"]);
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.err.contains("notes.txt: not an image"), "{ran}");
    assert!(!ran.out.contains("notes.txt"), "{ran}");
    assert!(ran.out.contains("3 uploaded (3 new, 0 already stored), 0 failed"), "{ran}");
    // Each id in the table is the SHA-256 of a file's bytes, and the server has those bytes.
    for (id, bytes) in &want {
        let row = ran.out.lines().find(|l| l.contains(id.as_str())).unwrap_or_else(|| panic!("{id} not listed\n{ran}"));
        assert!(row.contains("| created"), "{row}");
        expect::json(&app.get(&format!("/api/images/{id}")), 200);
        let original = app.get(&format!("/images/{id}"));
        assert!(original.status == 200 && &original.body == bytes, "{original}");
    }

    // Again: the same ids, already stored. A file that is not an image, named
    // explicitly, is sent and fails with the server's detail.
    let again = darkroom(app.base(), &["upload", path]);
    assert_eq!(again.code, 0, "{again}");
    assert!(again.out.contains("3 uploaded (0 new, 3 already stored), 0 failed"), "{again}");
    let notes = dir.path().join("notes.txt");
    let bad = darkroom(app.base(), &["upload", notes.to_str().unwrap()]);
    assert_eq!(bad.code, 1, "{bad}");
    assert!(bad.out.contains("| failed: ") && bad.out.contains("(HTTP 415)"), "{bad}");
    assert!(bad.out.contains("0 uploaded (0 new, 0 already stored), 1 failed"), "{bad}");
}

#[test]
fn dataset_upload_and_job_run_print_the_exact_aggregate() {
    if skip("dataset_upload_and_job_run_print_the_exact_aggregate") {
        return;
    }
    let host = host(&[]);
    let dir = tempfile::tempdir().unwrap();
    let rows = testkit::sales(20_000, 77);
    let id = upload_sales(host.url(), dir.path(), &rows);

    let mut args = vec!["job", "run", "aggregate", "--dataset", &id, "--shard-size", "2500", "--concurrency", "2"];
    args.extend(AGGREGATE);
    let ran = darkroom(host.url(), &args);
    assert_eq!(ran.code, 0, "{ran}");
    assert_eq!(field(&ran.out, "state"), "succeeded", "{ran}");
    assert_eq!(field(&ran.out, "shards"), "8/8 succeeded, 0 failed", "{ran}");
    assert_eq!(field(&ran.out, "items"), "20000/20000 succeeded, 0 failed", "{ran}");
    assert_sales_result(&json_tail(&ran.out), &rows);

    // status, result and list answer for the same job.
    let job = field(&ran.out, "job").to_owned();
    let status = darkroom(host.url(), &["job", "status", &job]);
    assert_eq!((status.code, field(&status.out, "state")), (0, "succeeded"), "{status}");
    let result = darkroom(host.url(), &["job", "result", &job]);
    assert_eq!(result.code, 0, "{result}");
    assert_sales_result(&serde_json::from_str(&result.out).unwrap(), &rows);
    let csv = darkroom(host.url(), &["job", "result", &job, "--csv"]);
    assert!(csv.out.starts_with("merchant,amount_sum,amount_count,amount_min,amount_max\n"), "{csv}");
    assert_eq!(csv.out.lines().count(), 1 + testkit::MERCHANTS.len(), "{csv}");
    let list = darkroom(host.url(), &["job", "list"]);
    assert!(list.code == 0 && list.out.contains(&job) && list.out.contains("| succeeded"), "{list}");

    // A job the server refuses: its problem detail, exit 1.
    let bad = darkroom(host.url(), &["job", "run", "aggregate", "--dataset", &id, "--param", r#"group_by=["nope"]"#]);
    assert_eq!(bad.code, 1, "{bad}");
    assert!(bad.err.starts_with("error: ") && bad.err.contains("params") && bad.err.trim_end().ends_with("(HTTP 422)"), "{bad}");
}

#[test]
fn job_run_finishes_a_job_over_many_budget_limited_requests() {
    if skip("job_run_finishes_a_job_over_many_budget_limited_requests") {
        return;
    }
    // Each driving request starts one wave of units and then stops.
    let host = host(&[("job_request_budget_ms", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let rows = testkit::sales(12_000, 78);
    let id = upload_sales(host.url(), dir.path(), &rows);
    let mut args = vec!["job", "run", "aggregate", "--dataset", &id, "--shard-size", "1000", "--concurrency", "2"];
    args.extend(AGGREGATE);
    let ran = darkroom(host.url(), &args);
    assert_eq!(ran.code, 0, "{ran}");
    assert_eq!(field(&ran.out, "shards"), "12/12 succeeded, 0 failed", "{ran}");
    let requests: u32 = field(&ran.out, "driven").split(' ').next().unwrap().parse().unwrap();
    assert!(requests >= 3, "the budget should have ended several requests\n{ran}");
    assert_sales_result(&json_tail(&ran.out), &rows);
}

#[test]
fn a_bad_token_prints_the_problem_and_fails() {
    if skip("a_bad_token_prints_the_problem_and_fails") {
        return;
    }
    let host = host(&[("api_token", "s3cret-token")]);
    let dir = tempfile::tempdir().unwrap();
    let csv = write_sales(dir.path(), &testkit::sales(50, 79));
    let photo = dir.path().join("p.jpg");
    std::fs::write(&photo, fixtures::jpeg(&fixtures::photo(32, 32, fixtures::seed(710)), 80)).unwrap();

    // A wrong token is forbidden, none at all unauthorized; both with the server's detail.
    let bad = darkroom(host.url(), &["--token", "wrong", "dataset", "upload", &csv]);
    assert_eq!(bad.code, 1, "{bad}");
    assert_eq!(bad.err, "error: Forbidden: the bearer token is not valid (HTTP 403)\n", "{bad}");
    let none = darkroom(host.url(), &["job", "run", "aggregate", "--dataset", "x"]);
    assert_eq!(none.code, 1, "{none}");
    assert!(none.err.starts_with("error: Unauthorized: ") && none.err.ends_with("(HTTP 401)\n"), "{none}");
    let detail = none.err.trim_start_matches("error: Unauthorized: ").trim_end_matches(" (HTTP 401)\n");
    assert!(!detail.is_empty() && detail != "the answer has no detail", "{none}");
    let upload = darkroom(host.url(), &["--token", "wrong", "upload", photo.to_str().unwrap()]);
    assert_eq!(upload.code, 1, "{upload}");
    assert!(upload.out.contains("| failed: Forbidden: the bearer token is not valid (HTTP 403)") && upload.out.contains(", 1 failed"), "{upload}");

    // The right token: the same upload goes through.
    let good = darkroom(host.url(), &["--token", "s3cret-token", "dataset", "upload", &csv]);
    assert_eq!((good.code, field(&good.out, "rows")), (0, "50"), "{good}");
}

/// A TCP relay to `target` that drops the connection once, after `cut_after` request
/// bytes have gone through it (mid-body of a `PATCH`): a network failing mid-upload.
/// Answers its URL and a flag set once the cut has happened.
fn cutting_relay(target: &str, cut_after: u64) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let target = target.trim_start_matches("http://").to_owned();
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    let forwarded = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(server) = TcpStream::connect(&target) else { break };
            let (flag, forwarded) = (flag.clone(), forwarded.clone());
            let (mut from_client, mut to_server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = from_client.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let total = forwarded.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                    if total > cut_after && !flag.swap(true, Ordering::Relaxed) {
                        let _ = to_server.shutdown(Shutdown::Both);
                        let _ = from_client.shutdown(Shutdown::Both);
                        return;
                    }
                    if to_server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
                let _ = to_client.shutdown(Shutdown::Both);
            });
        }
    });
    (url, cut)
}

#[test]
fn large_files_go_in_resumable_parts_and_resume_after_a_dropped_connection() {
    if skip("large_files_go_in_resumable_parts_and_resume_after_a_dropped_connection") {
        return;
    }
    use sha2::{Digest, Sha256};
    let host = host(&[]);
    let dir = tempfile::tempdir().unwrap();
    // A 20 MB CSV: three parts; the connection drops 12 MB in, inside the second.
    let mut csv = format!("run,n,label\n{},0,start\n", fixtures::run_nonce()).into_bytes();
    let mut i = 1u64;
    while csv.len() < 20_000_000 {
        csv.extend(format!("{i},{},\"label, {i}\"\n", i * 7).bytes());
        i += 1;
    }
    let path = dir.path().join("big.csv");
    std::fs::write(&path, &csv).unwrap();
    let (relay, cut) = cutting_relay(host.url(), 12_000_000);
    let ran = darkroom(&relay, &["dataset", "upload", path.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{ran}");
    assert!(cut.load(std::sync::atomic::Ordering::Relaxed), "the relay dropped a connection mid-upload");
    let id = field(&ran.out, "id").to_owned();
    assert_eq!(id, hex::encode(Sha256::digest(&csv)), "{ran}");
    assert_eq!(field(&ran.out, "status"), "created", "{ran}");
    assert_eq!(field(&ran.out, "rows"), (i).to_string(), "{ran}");
    let client = host.client();
    let back = client.get(&format!("/datasets/{id}"));
    assert!(back.status == 200 && back.body == csv, "the dataset differs from the file\n{back}");

    // An image past the threshold: the same summary as a single POST's.
    let img = fixtures::grainy(4000, 3000, fixtures::seed(9090));
    let jpeg = fixtures::jpeg(&img, 92);
    assert!(jpeg.len() as u64 > darkroom_cli::resumable::THRESHOLD, "{} bytes", jpeg.len());
    let file = dir.path().join("big.jpg");
    std::fs::write(&file, &jpeg).unwrap();
    let ran = darkroom(host.url(), &["upload", file.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{ran}");
    let image_id = hex::encode(Sha256::digest(&jpeg));
    assert!(ran.out.contains(&image_id) && ran.out.contains("created"), "{ran}");
    let object = expect::json(&client.get(&format!("/api/images/{image_id}")), 200);
    assert!(object["thumbnail"]["width"].is_u64(), "{object}");
    assert_eq!(client.get(&format!("/images/{image_id}")).body, jpeg);
}

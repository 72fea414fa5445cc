//! `spin.no-chaining.toml` (issue 13, part 5): the same components wired without
//! `*.spin.internal`, for platforms without local service chaining (Fermyon Cloud).
//!
//! - the manifest wires exactly what `spin.toml` wires, except that chained calls go to
//!   `chain_base_url`, its only outbound host, and nothing names `*.spin.internal`;
//! - through a recording relay set as `chain_base_url`, every kind of chained call (the
//!   upload steps, job units, image-job steps) is seen going over HTTP to the app's public
//!   route, at the configured authority, with the API token, and answered 2xx; a client's
//!   forged `Host` header does not move them (CVE-2024-32980).
//! - the host refuses a call to a host the manifest does not allow, so the suites run on
//!   this manifest would catch a chained call that bypasses `chain_base_url`.
//!
//! The rest of the suite runs on this manifest with `DARKROOM_E2E_MANIFEST`
//! (`./test.sh --no-chaining`). Skipped when `BASE_URL` is set.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};

use darkroom_e2e::expect::{self, Upload};
use darkroom_e2e::fixtures::{self, seed};
use darkroom_e2e::target::{CHAIN_BASE_URL, base_url, notice, workspace_root};
use darkroom_e2e::{Client, Host, HostOptions};
use darkroom_host::manifest::Manifest;
use serde_json::{Value, json};

const TOKEN: &str = "e2e-no-chaining-token-0123456789";

fn load(name: &str) -> Manifest {
    Manifest::load(&workspace_root().join(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

#[test]
fn the_manifest_wires_the_same_components_through_chain_base_url_only() {
    let chained = load("spin.toml");
    let plain = load("spin.no-chaining.toml");
    let template = format!("{{{{ {CHAIN_BASE_URL} }}}}");

    let routes = |m: &Manifest| m.triggers.iter().map(|t| format!("{} {:?}", t.component, t.route)).collect::<Vec<_>>();
    assert_eq!(routes(&plain), routes(&chained), "the same routes to the same components");
    assert_eq!(plain.components.keys().collect::<Vec<_>>(), chained.components.keys().collect::<Vec<_>>());
    for (id, c) in &chained.components {
        let p = &plain.components[id];
        assert_eq!(p.source, c.source, "{id}: the same binary");
        assert_eq!(p.key_value_stores, c.key_value_stores, "{id}");
        assert_eq!(p.environment, c.environment, "{id}");
        let mut expected = c.variables.clone();
        if c.allowed_outbound_hosts.is_empty() {
            assert!(p.allowed_outbound_hosts.is_empty(), "{id} makes no outbound calls");
        } else {
            assert_eq!(p.allowed_outbound_hosts, vec![template.clone()], "{id}: chain_base_url is its only outbound host");
            expected.insert(CHAIN_BASE_URL.to_owned(), template.clone());
        }
        if let Some(jobs_base) = expected.get_mut("jobs_base_url") {
            *jobs_base = template.clone();
        }
        // A dataset upload's store helper is a chained call: off, the upload stores itself.
        if let Some(helper) = expected.get_mut("dataset_store_helper") {
            *helper = "off".to_owned();
        }
        assert_eq!(p.variables, expected, "{id}: the same variables, and chain_base_url where it calls out");
        for value in p.allowed_outbound_hosts.iter().chain(p.variables.values()) {
            assert!(!value.contains("spin.internal"), "{id} names {value}");
        }
    }

    let mut expected: Vec<&str> =
        chained.variables.keys().map(String::as_str).filter(|k| !["jobs_base_url", "dataset_store_helper"].contains(k)).chain([CHAIN_BASE_URL]).collect();
    expected.sort();
    assert_eq!(plain.variables.keys().map(String::as_str).collect::<Vec<_>>(), expected, "the same app variables, chain_base_url for jobs_base_url, no dataset_store_helper");
    for (name, decl) in &plain.variables {
        if name == CHAIN_BASE_URL {
            assert!(decl.required && decl.default.is_none(), "chain_base_url has no default: the authority is always explicit");
            continue;
        }
        let original = &chained.variables[name];
        assert_eq!((&decl.default, decl.required, decl.secret), (&original.default, original.required, original.secret), "{name}");
    }
}

/// One request the relay passed on: its head as sent, and the status line's code.
#[derive(Debug, Clone, Default)]
struct Exchange {
    head: String,
    status: Option<u16>,
}

impl Exchange {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A TCP relay in front of the host that records each connection's request head and
/// response status. wasmtime's outbound client opens a connection per request, so each
/// connection is one chained call.
struct Relay {
    url: String,
    upstream: Arc<OnceLock<String>>,
    seen: Arc<Mutex<BTreeMap<u64, Exchange>>>,
}

impl Relay {
    fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream: Arc<OnceLock<String>> = Arc::default();
        let seen: Arc<Mutex<BTreeMap<u64, Exchange>>> = Arc::default();
        let (to, log) = (upstream.clone(), seen.clone());
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let (Ok(client), Some(to)) = (client, to.get()) else { continue };
                let Ok(server) = TcpStream::connect(to) else { continue };
                let log = log.clone();
                std::thread::spawn(move || relay(n as u64, client, server, log));
            }
        });
        Relay { url, upstream, seen }
    }

    fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    fn seen(&self) -> Vec<Exchange> {
        self.seen.lock().unwrap().values().cloned().collect()
    }

    /// The exchanges whose request line starts with `prefix`, after the host settled.
    fn matching(&self, prefix: &str) -> Vec<Exchange> {
        self.seen().into_iter().filter(|e| e.request_line().starts_with(prefix)).collect()
    }
}

/// Copies both ways, noting the request head and the response's status code.
fn relay(n: u64, mut client: TcpStream, mut server: TcpStream, log: Arc<Mutex<BTreeMap<u64, Exchange>>>) {
    let (mut client_w, mut server_r) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let back_log = log.clone();
    let back = std::thread::spawn(move || {
        let mut first = Vec::new();
        pump(&mut server_r, &mut client_w, |bytes| {
            if first.len() < 16 {
                first.extend_from_slice(bytes);
                let status = String::from_utf8_lossy(&first).split(' ').nth(1).and_then(|s| s.parse().ok());
                back_log.lock().unwrap().entry(n).or_default().status = status;
            }
        });
        let _ = client_w.shutdown(Shutdown::Write);
    });
    let mut head = Vec::new();
    pump(&mut client, &mut server, |bytes| {
        if !head.windows(4).any(|w| w == b"\r\n\r\n") {
            head.extend_from_slice(bytes);
            let text = String::from_utf8_lossy(&head);
            let end = text.find("\r\n\r\n").unwrap_or(text.len());
            log.lock().unwrap().entry(n).or_default().head = text[..end].to_owned();
        }
    });
    let _ = server.shutdown(Shutdown::Write);
    let _ = back.join();
}

fn pump(from: &mut TcpStream, to: &mut TcpStream, mut see: impl FnMut(&[u8])) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        see(&buf[..n]);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// Asserts each exchange went to the relay's authority with the token and got a 2xx.
#[track_caller]
fn all_through(relay: &Relay, exchanges: &[Exchange], what: &str) {
    assert!(!exchanges.is_empty(), "no {what} request went through chain_base_url; seen: {:#?}", relay.seen());
    let bearer = format!("Bearer {TOKEN}");
    for e in exchanges {
        assert_eq!(e.header("host"), Some(relay.authority()), "{what}: the configured authority\n{}", e.head);
        assert_eq!(e.header("authorization"), Some(bearer.as_str()), "{what}: the API token\n{}", e.head);
        assert!(e.status.is_some_and(|s| (200..300).contains(&s)), "{what}: answered {:?}\n{}", e.status, e.head);
    }
}

/// `POST` with the token, as JSON.
fn post_json(client: &Client, path: &str, body: &Value) -> darkroom_e2e::Reply {
    let auth = format!("Bearer {TOKEN}");
    client.post_with(path, &serde_json::to_vec(body).unwrap(), "application/json", &[("authorization", &auth)])
}

/// Creates a job and drives it with `run` until it ends.
fn run_job(client: &Client, body: Value) -> Value {
    let mut reply = post_json(client, "/api/jobs", &body);
    for _ in 0..100 {
        match reply.status {
            200 => return expect::json(&reply, 200),
            202 => {
                let id = expect::json(&reply, 202)["id"].as_str().unwrap().to_owned();
                reply = post_json(client, &format!("/api/jobs/{id}/run"), &json!({}));
            }
            _ => panic!("driving the job failed\n{reply}"),
        }
    }
    panic!("the job makes no progress\n{reply}");
}

/// A raw upload whose `Host` header names another server.
fn upload_with_forged_host(url: &str, bytes: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST /api/images HTTP/1.1\r\nHost: attacker.invalid:80\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(bytes).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[test]
fn chained_calls_go_over_http_to_public_routes_at_the_configured_authority() {
    if let Some(base) = base_url() {
        notice(&format!("e2e: SKIPPED no_chaining relay test: needs a host of its own; BASE_URL={base} is set"));
        return;
    }
    let relay = Relay::start();
    let variables = [(CHAIN_BASE_URL, relay.url.as_str()), ("api_token", TOKEN), ("auto_presets", "clarendon"), ("variant_size", "256")];
    let manifest = Some(workspace_root().join("spin.no-chaining.toml"));
    let host = Host::spawn_with(HostOptions { variables: &variables, manifest, ..HostOptions::default() }).unwrap_or_else(|e| panic!("{e:#}"));
    relay.upstream.set(host.url().trim_start_matches("http://").to_owned()).unwrap();
    let client = host.client();
    let auth = format!("Bearer {TOKEN}");
    let auth = [("authorization", auth.as_str())];

    // An upload: thumbnail, vectorize and the auto preset's filter step.
    let bytes = fixtures::jpeg(&fixtures::photo(160, 120, seed(0x5E1F)), 85);
    let reply = client.post_with("/api/images", &bytes, "image/jpeg", &auth);
    let object = expect::json(&reply, 201);
    let id = expect::image_object(&object, &Upload { bytes: &bytes, format: "jpeg", width: 160, height: 120 }, &reply);
    let thumbnail = client.get(&format!("/images/{id}/thumbnail"));
    let thumb = fixtures::decode(&thumbnail.expect_status(200).body, image::ImageFormat::Jpeg);
    assert_eq!((thumb.width(), thumb.height()), (128, 96), "the stored thumbnail decodes at the default size");
    client.get(&format!("/images/{id}/variants/clarendon")).expect_status(200);
    all_through(&relay, &relay.matching("POST /api/thumbnail "), "thumbnail step");
    all_through(&relay, &relay.matching("POST /api/vectorize "), "vectorize step");
    all_through(&relay, &relay.matching("POST /api/filter "), "filter step");

    // A dataset job: every unit through POST /api/jobs/{id}/units/{unit}.
    let rows = jobs::testkit::sales(2_000, 13);
    let ds = expect::json(&client.post_with("/api/datasets", &jobs::testkit::sales_csv(&rows), "text/csv", &auth), 201);
    let params = json!({"group_by": ["merchant"], "values": {"amount": ["sum", "count"]}});
    let job = run_job(&client, json!({"task": "aggregate", "input": {"dataset": ds["id"]}, "params": params, "shard_size": 500}));
    assert_eq!(job["state"], "succeeded", "{job}");
    let units = relay.matching(&format!("POST /api/jobs/{}/units/", job["id"].as_str().unwrap()));
    all_through(&relay, &units, "job unit");
    assert!(units.len() >= 4, "4 map shards and a reduce, saw {}", units.len());

    // Image jobs: the variant, render and vectorize steps of steps.rs.
    for (task, params, route) in [
        ("variant", json!({"preset": "moon"}), format!("POST /api/images/{id}/variants ")),
        ("render", json!({"query": "w=64&format=png"}), format!("POST /images/{id}/render?")),
        ("vectorize", Value::Null, "POST /api/vectorize ".to_owned()),
    ] {
        let before = relay.matching(&route).len();
        let mut body = json!({"task": task, "input": {"images": [id]}});
        if !params.is_null() {
            body["params"] = params;
        }
        let job = run_job(&client, body);
        assert_eq!(job["state"], "succeeded", "{job}");
        let steps = relay.matching(&route);
        assert!(steps.len() > before, "the {task} job's step did not go through chain_base_url");
        all_through(&relay, &steps, task);
    }
    client.get(&format!("/images/{id}/variants/moon")).expect_status(200);

    // A forged Host header does not move the steps: they still go to chain_base_url.
    let before = relay.matching("POST /api/thumbnail ").len();
    let forged = fixtures::jpeg(&fixtures::photo(96, 64, seed(0x5E20)), 85);
    assert_eq!(upload_with_forged_host(host.url(), &forged), 201);
    let after = relay.matching("POST /api/thumbnail ");
    assert_eq!(after.len(), before + 1, "the forged upload's thumbnail step went through the relay");
    all_through(&relay, &after, "thumbnail step of a request with a forged Host");
    client.get(&format!("/images/{}/thumbnail", fixtures::sha256_hex(&forged))).expect_status(200);
    notice(&format!("e2e: no_chaining: {} chained calls went through chain_base_url", relay.seen().len()));
}

/// The test host refuses an outbound host the manifest does not list, as Spin does: with
/// every component allowed only another port, an upload's steps cannot reach the app, so
/// a chained call outside `chain_base_url` would fail the suites run on this manifest.
#[test]
fn a_call_outside_the_allowed_hosts_is_refused() {
    if let Some(base) = base_url() {
        notice(&format!("e2e: SKIPPED no_chaining refusal test: needs a host of its own; BASE_URL={base} is set"));
        return;
    }
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("spin.no-chaining.toml")).unwrap();
    let allowed = format!("allowed_outbound_hosts = [\"{{{{ {CHAIN_BASE_URL} }}}}\"]");
    assert_eq!(text.matches(&allowed).count(), 2, "upload and jobs call out");
    let text = text
        .replace(&allowed, "allowed_outbound_hosts = [\"http://127.0.0.1:1\"]")
        .replace("source = \"target/", &format!("source = \"{}/target/", root.display()));
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("spin.no-chaining-denied.toml");
    std::fs::write(&manifest, text).unwrap();
    let host = Host::spawn_with(HostOptions { manifest: Some(manifest), ..HostOptions::default() }).unwrap_or_else(|e| panic!("{e:#}"));
    let client = host.client();
    let bytes = fixtures::jpeg(&fixtures::photo(96, 64, seed(0x5E21)), 85);
    let problem = expect::problem(&client.post("/api/images", &bytes, "image/jpeg"), 502);
    assert!(problem["detail"].as_str().unwrap().contains("step could not be reached"), "{problem}");
    expect::problem(&client.get(&format!("/images/{}/thumbnail", fixtures::sha256_hex(&bytes))), 404);
}

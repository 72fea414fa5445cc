//! darkroom-host against the probe component (`tests/probe`).
//! Build it first: `cargo build --release --target wasm32-wasip2 -p probe`.

mod util;

use darkroom_host::{HostConfig, KvFault, PEAK_MEMORY_HEADER};
use util::{config, get, manifest, probe, start};

#[test]
fn routes_follow_spin_precedence_and_private_routes_are_unreachable() {
    let host = start(config("routes"));
    let component = |path: &str| probe(&host, path)["component"].as_str().unwrap().to_owned();
    assert_eq!(component("/exact"), "exact");
    assert_eq!(component("/items/42"), "param");
    assert_eq!(component("/items/special"), "items-special");
    assert_eq!(component("/items/a/b"), "items-wild");
    assert_eq!(component("/items"), "items-wild");
    assert_eq!(component("/"), "probe");
    assert_eq!(component("/exact/more"), "probe");
    // The private `worker` has no route: its name falls through to the catch-all.
    assert_eq!(component("/worker"), "probe");
}

#[test]
fn unmatched_paths_are_404() {
    let path = manifest(
        "notfound",
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/only\"\ncomponent = \"p\"\n\
         [component.p]\nsource = \"{probe}\"\n",
    );
    let host = start(HostConfig::new(path));
    assert_eq!(get(&host, "/only").status, 200);
    assert_eq!(get(&host, "/nope").status, 404);
    assert_eq!(get(&host, "/only/x").status, 404);
}

#[test]
fn spin_headers_match_spin() {
    let host = start(config("headers"));
    let h = probe(&host, "/items/a/b/?x=1&y=2")["headers"].clone();
    assert_eq!(
        h["spin-full-url"],
        format!("{}/items/a/b/?x=1&y=2", host.url())
    );
    assert_eq!(h["spin-path-info"], "/a/b/");
    assert_eq!(h["spin-matched-route"], "/items/...");
    assert_eq!(h["spin-raw-component-route"], "/items/...");
    assert_eq!(h["spin-component-route"], "/items");
    assert_eq!(h["spin-base-path"], "/");
    assert!(
        h["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{h}"
    );

    let h = probe(&host, "/items/42")["headers"].clone();
    assert_eq!(h["spin-path-match-id"], "42");
    assert_eq!(h["spin-path-info"], "");
    assert_eq!(h["spin-matched-route"], "/items/:id");

    let h = probe(&host, "/")["headers"].clone();
    assert_eq!(h["spin-matched-route"], "/...");
    assert_eq!(h["spin-component-route"], "");
    assert_eq!(h["spin-path-info"], "/");

    // A chained callee sees a synthetic `/...` match and Spin's 0.0.0.0:0 client.
    let chained = probe(&host, "/?op=chain-headers");
    assert_eq!(chained["status"], 200, "{chained}");
    let h = &chained["body"]["headers"];
    assert_eq!(chained["body"]["component"], "worker");
    assert_eq!(
        h["spin-full-url"],
        "http://worker.spin.internal/some/path?x=1"
    );
    assert_eq!(h["spin-path-info"], "/some/path");
    assert_eq!(h["spin-matched-route"], "/...");
    assert_eq!(h["spin-raw-component-route"], "/...");
    assert_eq!(h["spin-component-route"], "");
    assert_eq!(h["spin-client-addr"], "0.0.0.0:0");
    // `host` is a forbidden header in wasi-http: guests never see it (as in Spin).
    assert_eq!(h["host"], serde_json::Value::Null);
}

#[test]
fn kv_labels_are_enforced_and_data_lands_in_spins_sqlite_shape() {
    let cfg = config("kv");
    let state_dir = cfg.state_dir.clone().unwrap();
    let host = start(cfg);
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=k1&value=v1")["ok"],
        true
    );
    assert_eq!(probe(&host, "/?op=kv-get&label=default&key=k1")["ok"], "v1");
    assert_eq!(
        probe(&host, "/?op=kv-get&label=default&key=missing")["ok"],
        serde_json::Value::Null
    );
    // Not listed in the component's key_value_stores: access-denied, like Spin.
    assert_eq!(
        probe(&host, "/?op=kv-get&label=other&key=k1")["error"],
        "access-denied"
    );
    assert_eq!(
        probe(&host, "/exact?op=kv-get&label=default&key=k1")["error"],
        "access-denied"
    );
    host.shutdown();

    let db = rusqlite::Connection::open(state_dir.join(".spin/sqlite_key_value.db")).unwrap();
    let value: Vec<u8> = db
        .query_row(
            "SELECT value FROM spin_key_value WHERE store='default' AND key='k1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(value, b"v1");

    // Listing a label that has no backing store is a start-up error in Spin.
    let path = manifest(
        "kv-label",
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n\
         [component.p]\nsource = \"{probe}\"\nkey_value_stores = [\"default\", \"other\"]\n",
    );
    let err = darkroom_host::spawn(HostConfig::new(path))
        .err()
        .expect("start-up fails");
    assert!(
        format!("{err:#}").contains("unknown key_value_stores label \"other\""),
        "{err:#}"
    );
}

#[test]
fn kv_on_redis_from_a_runtime_config_file_like_spins_key_value_redis() {
    // A real redis-server: `./test.sh` starts one and sets the variable.
    let Some(base) = std::env::var("DARKROOM_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED kv_on_redis...: DARKROOM_TEST_REDIS_URL is not set (./test.sh sets it)");
        return;
    };
    let url = format!("{}/13", base.trim_end_matches('/'));
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("FLUSHDB").exec(&mut conn).unwrap();
    let dir = util::temp_dir("kv-redis-state");
    let file = dir.join("runtime-config.toml");
    std::fs::write(
        &file,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n\
             [key_value_store.other]\ntype = \"redis\"\nurl = \"{url}\"\n"
        ),
    )
    .unwrap();
    // `other` is listed: without the runtime config that is a start-up error (above).
    let path = manifest(
        "kv-redis",
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"p\"\n\
         [component.p]\nsource = \"{probe}\"\nkey_value_stores = [\"default\", \"other\"]\n",
    );
    let mut cfg = HostConfig::new(path);
    cfg.state_dir = Some(dir.clone());
    cfg.runtime_config_file = Some(file);
    let host = start(cfg);
    assert!(
        host.banner()
            .contains("Storing default key-value data to Redis at 127.0.0.1:"),
        "{}",
        host.banner()
    );
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=img/k1&value=v1")["ok"],
        true
    );
    // Spin ignores the label: both labels on one URL share its keys.
    assert_eq!(
        probe(&host, "/?op=kv-get&label=other&key=img/k1")["ok"],
        "v1"
    );
    host.shutdown();
    // Stored in Redis under the key itself, unprefixed; nothing in SQLite.
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert_eq!(keys, ["img/k1"]);
    let value: Vec<u8> = redis::cmd("GET").arg("img/k1").query(&mut conn).unwrap();
    assert_eq!(value, b"v1");
    assert!(!dir.join(".spin").exists());
}

#[test]
fn variables_precedence_config_then_env_then_default() {
    // SAFETY: only this test reads these variables' values; no other thread
    // writes the environment.
    unsafe {
        std::env::set_var("SPIN_VARIABLE_FROM_ENV", "from-env");
        std::env::set_var("SPIN_VARIABLE_OVERRIDDEN", "from-env");
    }
    let mut cfg = config("vars");
    cfg.variables
        .push(("overridden".into(), "from-config".into()));
    let host = start(cfg);
    let var = |name: &str| probe(&host, &format!("/?op=var&name={name}"));
    assert_eq!(var("greeting")["value"], "hello-default");
    assert_eq!(var("from_env")["value"], "from-env");
    assert_eq!(var("overridden")["value"], "prefix-from-config");
    assert_eq!(var("secret")["value"], "s3cret");
    assert!(
        var("nope")["error"].as_str().unwrap().contains("Undefined"),
        "{}",
        var("nope")
    );
    assert!(
        var("Bad-Name")["error"]
            .as_str()
            .unwrap()
            .contains("InvalidName")
    );
    // A component sees only its own variables.
    assert!(
        probe(&host, "/exact?op=var&name=greeting")["error"]
            .as_str()
            .unwrap()
            .contains("Undefined")
    );

    // A required variable without a value stops start-up.
    let mut cfg = config("vars-required");
    cfg.variables.clear();
    let err = darkroom_host::spawn(cfg).err().expect("start-up fails");
    assert!(format!("{err:#}").contains("secret_token"), "{err:#}");
}

#[test]
fn outbound_hosts_are_enforced_without_hanging() {
    let host = start(config("outbound"));
    // Not listed (and unroutable): denied at once, never attempted.
    let r = probe(&host, "/?op=fetch&url=http://10.255.255.1/");
    assert!(
        r["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{r}"
    );
    let r = probe(&host, "/?op=fetch&url=https://127.0.0.1/");
    assert!(
        r["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{r}"
    );
    // Listed: a real request, here to the host itself on loopback.
    let url = format!("{}/exact", host.url());
    let r = probe(&host, &format!("/?op=fetch&url={url}"));
    assert_eq!(r["status"], 200, "{r}");
    // Service chaining needs its own allowed_outbound_hosts entry.
    let r = probe(&host, "/exact?op=chain-headers");
    assert!(
        r["error"].as_str().unwrap().contains("HttpRequestDenied"),
        "{r}"
    );
}

#[test]
fn chained_calls_run_concurrently() {
    let host = start(config("chain"));
    // Each half waits until the other has started: both meet only if they overlap.
    let r = probe(&host, "/?op=chain&run=overlap");
    assert_eq!(r["a"]["status"], 200, "{r}");
    assert_eq!(r["a"]["body"]["met"], "b", "{r}");
    assert_eq!(r["b"]["body"]["met"], "a", "{r}");
}

#[test]
fn kv_fault_injection_fails_the_nth_write_or_all_after_n() {
    let mut cfg = config("fault-nth");
    cfg.kv_fault = Some(KvFault::FailNthWrite(2));
    let host = start(cfg);
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=a&value=1")["ok"],
        true
    );
    let r = probe(&host, "/?op=kv-set&label=default&key=b&value=2");
    assert!(
        r["error"].as_str().unwrap().contains("injected fault"),
        "{r}"
    );
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=c&value=3")["ok"],
        true
    );
    assert_eq!(
        probe(&host, "/?op=kv-get&label=default&key=b")["ok"],
        serde_json::Value::Null
    );
    host.shutdown();

    let mut cfg = config("fault-after");
    cfg.kv_fault = Some(KvFault::FailWritesAfter(1));
    let host = start(cfg);
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=a&value=1")["ok"],
        true
    );
    for key in ["b", "c"] {
        let r = probe(
            &host,
            &format!("/?op=kv-set&label=default&key={key}&value=2"),
        );
        assert!(
            r["error"].as_str().unwrap().contains("injected fault"),
            "{r}"
        );
    }
    assert_eq!(probe(&host, "/?op=kv-get&label=default&key=a")["ok"], "1");
}

#[test]
fn kv_value_cap_imitates_fermyon_cloud() {
    let mut cfg = config("kv-cap");
    cfg.kv_max_value_bytes = Some(4);
    let host = start(cfg);
    assert_eq!(
        probe(&host, "/?op=kv-set&label=default&key=a&value=1234")["ok"],
        true
    );
    let r = probe(&host, "/?op=kv-set&label=default&key=a&value=12345");
    assert!(r["error"].as_str().unwrap().contains("too large"), "{r}");
}

#[test]
fn peak_memory_is_reported_and_capped() {
    let peak = |r: &util::Reply| -> u64 {
        r.header(PEAK_MEMORY_HEADER)
            .expect("peak memory header")
            .parse()
            .unwrap()
    };
    let host = start(config("memory"));
    let small = get(&host, "/?op=alloc&mib=0");
    let big = get(&host, "/?op=alloc&mib=64");
    assert_eq!((small.status, big.status), (200, 200));
    assert!(peak(&small) > 0 && peak(&small) < 64 << 20, "{small:?}");
    assert!(peak(&big) >= 64 << 20, "{big:?}");
    host.shutdown();

    let mut cfg = config("memory-cap");
    cfg.max_instance_memory = Some(32 << 20);
    let host = start(cfg);
    assert_eq!(get(&host, "/?op=alloc&mib=64").status, 500);
    let ok = get(&host, "/?op=alloc&mib=1");
    assert_eq!(ok.status, 200);
    assert!(peak(&ok) <= 32 << 20);
}

#[test]
fn a_trap_is_a_500_and_the_server_goes_on() {
    let host = start(config("trap"));
    assert_eq!(get(&host, "/?op=trap").status, 500);
    assert_eq!(get(&host, "/?op=headers").status, 200);
    assert_eq!(get(&host, "/.well-known/spin/health").body, "OK");
}

#[test]
fn manifest_errors_are_reported_at_start_up() {
    let path = manifest(
        "bad-manifest",
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"ghost\"\n",
    );
    let err = darkroom_host::spawn(HostConfig::new(&path))
        .err()
        .expect("start-up fails");
    assert!(
        format!("{err:#}").contains("unknown component \"ghost\""),
        "{err:#}"
    );
    let missing = manifest(
        "missing-wasm",
        "spin_manifest_version = 2\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"p\"\n[component.p]\nsource = \"nope.wasm\"\n",
    );
    let err = darkroom_host::spawn(HostConfig::new(&missing))
        .err()
        .expect("start-up fails");
    assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
}

#[test]
fn concurrent_kv_writes_all_succeed() {
    let host = start(config("kv-concurrent"));
    std::thread::scope(|s| {
        for t in 0..16 {
            let host = &host;
            s.spawn(move || {
                for i in 0..5 {
                    let r = probe(
                        host,
                        &format!("/?op=kv-set&label=default&key=k{t}-{i}&value={i}"),
                    );
                    assert_eq!(r["ok"], true, "{r}");
                }
            });
        }
    });
    assert_eq!(
        probe(&host, "/?op=kv-get&label=default&key=k15-4")["ok"],
        "4"
    );
}

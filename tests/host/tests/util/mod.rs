//! Shared helpers of the host tests: fixture paths, a started host, and a
//! minimal loopback HTTP client (HTTP/1.0, so the body ends at EOF).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use darkroom_host::{HostConfig, RunningHost};
use serde_json::Value;

pub const BUILD_PROBE: &str = "cargo build --release --target wasm32-wasip2 -p probe";

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spin.toml")
}

/// The probe component the fixture points at; fails clearly if not built.
pub fn probe_wasm() -> PathBuf {
    let wasm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm32-wasip2/release/probe.wasm");
    assert!(
        wasm.exists(),
        "the probe component is missing at {}: build it first with `{BUILD_PROBE}`",
        wasm.display()
    );
    wasm
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("darkroom-host-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fixture's config with its required variable set and a private state dir.
pub fn config(name: &str) -> HostConfig {
    probe_wasm();
    let mut config = HostConfig::new(fixture());
    config
        .variables
        .push(("secret_token".into(), "s3cret".into()));
    config.state_dir = Some(temp_dir(name));
    config
}

pub fn start(config: HostConfig) -> RunningHost {
    darkroom_host::spawn(config).expect("host starts")
}

/// Writes a manifest into a temp dir, with `{probe}` replaced by the probe path.
pub fn manifest(name: &str, text: &str) -> PathBuf {
    let dir = temp_dir(name);
    let path = dir.join("spin.toml");
    let probe = probe_wasm().display().to_string();
    std::fs::write(&path, text.replace("{probe}", &probe)).unwrap();
    path
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// `GET http://<host>/<path_and_query>`, with a timeout so a hang fails the test.
pub fn get(host: &RunningHost, path_and_query: &str) -> Reply {
    let mut stream = TcpStream::connect(host.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path_and_query} HTTP/1.0\r\nHost: {}\r\n\r\n",
        host.addr()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("response within the timeout");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = String::from_utf8_lossy(&raw[split + 4..]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body,
    }
}

/// GETs a probe endpoint and returns its JSON, asserting a 200.
pub fn probe(host: &RunningHost, path_and_query: &str) -> Value {
    let r = get(host, path_and_query);
    assert_eq!(r.status, 200, "GET {path_and_query}: {r:?}");
    r.json()
}

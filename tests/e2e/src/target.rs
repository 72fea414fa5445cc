//! Where the app under test runs: `BASE_URL`, or the test host started in-process.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::client::Client;

/// KV value cap the in-process host enforces, like Fermyon Cloud's key-value store.
pub const KV_MAX_VALUE_BYTES: usize = 1_000_000;

/// Prefix of the state directories the in-process hosts use (under the system temp dir).
const STATE_PREFIX: &str = "darkroom-e2e-";

/// The shared app all tests talk to (see [`app`]).
pub struct App {
    client: Client,
    /// `None` when running against `BASE_URL`.
    host: Option<Host>,
}

impl App {
    /// Whether the app is an in-process test host (as opposed to `BASE_URL`).
    pub fn is_in_process(&self) -> bool {
        self.host.is_some()
    }
}

impl Deref for App {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The app under test, started once per test binary.
///
/// `BASE_URL` set: that server. Otherwise the test host, in-process, serving the
/// workspace's `spin.toml` on `127.0.0.1:0` with a fresh state directory and Fermyon
/// Cloud's 1 MB key-value value cap.
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| match base_url() {
        Some(base) => {
            notice(&format!("e2e: against BASE_URL={base}"));
            App { client: Client::new(base), host: None }
        }
        None => {
            let host = Host::spawn(&[]).unwrap_or_else(|e| panic!("{e:#}"));
            notice(&format!("e2e: test host in-process at {}", host.url()));
            App { client: host.client(), host: Some(host) }
        }
    })
}

/// Prints a line on stderr past the test harness's output capture, so it shows even for
/// passing tests (a skip, the target, the seed).
pub fn notice(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `BASE_URL`, if set and non-empty, without a trailing slash.
pub fn base_url() -> Option<String> {
    std::env::var("BASE_URL")
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
}

/// A host of its own, for tests that need special configuration (Spin variables).
///
/// Returns `None`, after printing why the test is skipped, when `BASE_URL` is set: the
/// configuration of a remote server is not the suite's to change.
pub fn dedicated_host(test: &str, variables: &[(&str, &str)]) -> Option<Host> {
    if let Some(base) = base_url() {
        notice(&format!(
            "e2e: SKIPPED {test}: needs a host with variables {variables:?}; BASE_URL={base} is set"
        ));
        return None;
    }
    Some(Host::spawn(variables).unwrap_or_else(|e| panic!("{e:#}")))
}

/// The workspace root (holds `spin.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/e2e sits two levels below the workspace root")
        .to_path_buf()
}

/// An in-process test host with its own state directory; shut down and cleaned on drop.
pub struct Host {
    // A Mutex so `App` stays `Sync` whatever the host handle is made of.
    running: Mutex<Option<darkroom_host::RunningHost>>,
    url: String,
    state: PathBuf,
}

impl Host {
    /// Starts the test host on the workspace's `spin.toml` with `variables`.
    pub fn spawn(variables: &[(&str, &str)]) -> anyhow::Result<Self> {
        let manifest = workspace_root().join("spin.toml");
        sweep_stale_state_dirs();
        let state = tempfile::Builder::new().prefix(STATE_PREFIX).tempdir()?.keep();
        let mut config = darkroom_host::HostConfig::new(&manifest);
        config.listen = "127.0.0.1:0".parse()?;
        config.state_dir = Some(state.clone());
        config.kv_max_value_bytes = Some(KV_MAX_VALUE_BYTES);
        config.variables =
            variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let running = darkroom_host::spawn(config).map_err(|e| {
            e.context(format!(
                "starting the test host on {} (are the components built? run \
                 scripts/build-components.sh)",
                manifest.display()
            ))
        })?;
        let url = running.url().trim_end_matches('/').to_string();
        Ok(Self { running: Mutex::new(Some(running)), url, state })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A client for this host.
    pub fn client(&self) -> Client {
        Client::new(self.url.clone())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let running = self.running.get_mut().ok().and_then(Option::take);
        if let Some(running) = running {
            running.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

/// The shared [`App`] lives in a static and is never dropped: remove state directories
/// that earlier runs left behind (older than an hour, so running suites keep theirs).
fn sweep_stale_state_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    let cutoff = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(STATE_PREFIX)
            && entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < cutoff);
        if stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

//! Where the app under test runs: `BASE_URL`, or the test host started in-process.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::client::Client;
use crate::kvcheck::KvFile;
use crate::runtime_config;

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
/// workspace's `spin.toml` (or [`manifest_under_test`]) on `127.0.0.1:0` with a fresh
/// state directory and Fermyon Cloud's 1 MB key-value value cap; its key-value store is
/// SQLite, or what `DARKROOM_E2E_RUNTIME_CONFIG` names (e.g. Redis, a database per host).
pub fn app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| match base_url() {
        Some(base) => {
            notice(&format!("e2e: against BASE_URL={base}"));
            App { client: Client::new(base), host: None }
        }
        None => {
            let host = Host::spawn(&[]).unwrap_or_else(|e| panic!("{e:#}"));
            let store = match runtime_config::configured() {
                Some(file) => format!("runtime config {} ({}=...)", file.display(), runtime_config::ENV),
                None => "SQLite".into(),
            };
            notice(&format!(
                "e2e: test host in-process at {} on {}, key-value on {store}",
                host.url(),
                manifest_under_test().display()
            ));
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

/// The app under test with its key-value file open for inspection: a host of the test's
/// own, or `BASE_URL` (then `kv` is `None` and the store checks are skipped, said once).
pub struct Inspectable {
    pub client: Client,
    pub kv: Option<KvFile>,
    _host: Option<Host>,
}

impl Deref for Inspectable {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// [`Inspectable`] for `test`, with `options` for a host of its own.
pub fn inspectable(test: &str, options: HostOptions<'_>) -> Inspectable {
    if let Some(base) = base_url() {
        notice(&format!("e2e: {test} against BASE_URL={base}: store checks skipped"));
        return Inspectable { client: Client::new(base), kv: None, _host: None };
    }
    let host = Host::spawn_with(options).unwrap_or_else(|e| panic!("{e:#}"));
    Inspectable { client: host.client(), kv: Some(KvFile::new(host.state_dir())), _host: Some(host) }
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

/// The manifest every in-process host of the suite serves unless a test names another:
/// `DARKROOM_E2E_MANIFEST` (relative to the workspace root, e.g. `spin.no-chaining.toml`
/// to run the suite without service chaining), else `spin.toml`.
pub fn manifest_under_test() -> PathBuf {
    let name = std::env::var("DARKROOM_E2E_MANIFEST").ok().filter(|v| !v.trim().is_empty());
    workspace_root().join(name.as_deref().unwrap_or("spin.toml").trim())
}

/// The variable through which a manifest without service chaining sends chained steps
/// to the app's own public routes (`spin.no-chaining.toml`).
pub const CHAIN_BASE_URL: &str = "chain_base_url";

/// `chain_base_url` = `url` (the host's own URL) when `manifest` declares that variable:
/// the steps then come back to the host's listener over real HTTP. `None` for a manifest
/// that chains over `*.spin.internal`.
pub fn self_url_variable(manifest: &Path, url: &str) -> anyhow::Result<Option<(String, String)>> {
    let declared = darkroom_host::manifest::Manifest::load(manifest)?.variables.contains_key(CHAIN_BASE_URL);
    Ok(declared.then(|| (CHAIN_BASE_URL.to_owned(), url.to_owned())))
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
    /// Whether dropping the host removes `state`.
    owned: bool,
}

/// How to start a [`Host`] beyond its variables.
#[derive(Default, Clone)]
pub struct HostOptions<'a> {
    pub variables: &'a [(&'a str, &'a str)],
    /// Another manifest (default: [`manifest_under_test`]). One that declares
    /// `chain_base_url` gets the host's own URL there, unless `variables` sets it.
    pub manifest: Option<PathBuf>,
    /// Reuse this state directory (not removed on drop); default: a fresh one.
    pub state_dir: Option<PathBuf>,
    pub kv_fault: Option<darkroom_host::KvFault>,
    /// Each instance's linear-memory cap; default [`DEFAULT_INSTANCE_MEMORY`].
    pub max_instance_memory: Option<usize>,
}

/// Every host the suite starts caps each instance at 128 MiB, Fermyon Wasm Functions'
/// limit (`docs/deploy.md`), so a request that would not fit there fails here too.
pub const DEFAULT_INSTANCE_MEMORY: usize = 128 << 20;

impl Host {
    /// Starts the test host on [`manifest_under_test`] with `variables`.
    pub fn spawn(variables: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::spawn_with(HostOptions { variables, ..HostOptions::default() })
    }

    /// Starts the test host with more than variables: a KV fault, a memory cap, another
    /// manifest, or an existing state directory (to restart over the same store).
    pub fn spawn_with(options: HostOptions<'_>) -> anyhow::Result<Self> {
        let manifest = options.manifest.clone().unwrap_or_else(manifest_under_test);
        sweep_stale_state_dirs();
        let (state, owned) = match &options.state_dir {
            Some(dir) => (dir.clone(), false),
            None => (tempfile::Builder::new().prefix(STATE_PREFIX).tempdir()?.keep(), true),
        };
        let mut config = darkroom_host::HostConfig::new(&manifest);
        config.listen = "127.0.0.1:0".parse()?;
        config.state_dir = Some(state.clone());
        config.kv_max_value_bytes = Some(KV_MAX_VALUE_BYTES);
        config.kv_fault = options.kv_fault;
        config.max_instance_memory = Some(options.max_instance_memory.unwrap_or(DEFAULT_INSTANCE_MEMORY));
        config.variables =
            options.variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !options.variables.iter().any(|(k, _)| *k == CHAIN_BASE_URL) {
            // The port is known only once bound: bind first, hand the socket to the host.
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let url = format!("http://{}", listener.local_addr()?);
            if let Some(variable) = self_url_variable(&manifest, &url)? {
                config.variables.push(variable);
                config.listener = Some(Arc::new(listener));
            }
        }
        config.runtime_config_file = runtime_config::for_state_dir(&state)?;
        let running = darkroom_host::spawn(config).map_err(|e| {
            e.context(format!(
                "starting the test host on {} (are the components built? run \
                 scripts/build-components.sh)",
                manifest.display()
            ))
        })?;
        let url = running.url().trim_end_matches('/').to_string();
        Ok(Self { running: Mutex::new(Some(running)), url, state, owned })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The state directory: `.spin/sqlite_key_value.db` lives under it, or the
    /// `runtime-config.toml` naming the host's Redis database (see [`runtime_config`]).
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// Stops the host and keeps its state directory, so another host can be started
    /// over the same store; returns the directory (the caller removes it).
    pub fn stop_keeping_state(mut self) -> PathBuf {
        let running = self.running.get_mut().ok().and_then(Option::take);
        if let Some(running) = running {
            running.shutdown();
        }
        self.owned = false;
        self.state.clone()
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
        if self.owned {
            runtime_config::release(&self.state);
            let _ = std::fs::remove_dir_all(&self.state);
        }
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

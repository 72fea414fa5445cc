//! darkroom-host: a Spin-compatible test host for darkroom.
//!
//! It reads `spin.toml` (manifest v2), serves HTTP/1.1 and runs the real
//! `.wasm` components on wasmtime 42 (the major Spin 3.6 embeds), providing
//! the Spin host interfaces the app uses. Where it differs from Spin, Spin is
//! right.
//!
//! ```no_run
//! let host = darkroom_host::spawn(darkroom_host::HostConfig::new("spin.toml"))?;
//! println!("{}", host.url()); // http://127.0.0.1:PORT
//! host.shutdown();
//! # anyhow::Ok(())
//! ```
//!
//! Modules, one concern each:
//! - [`manifest`]: `spin.toml` parsing and validation;
//! - `routes` / `headers`: Spin's route precedence and `spin-*` headers;
//! - `server`: the HTTP server and the per-request executor;
//! - `kv`, `variables`, `outbound`: the host interfaces (`kv` over SQLite or Redis);
//! - [`runtime_config`]: `--runtime-config-file`'s `[key_value_store.*]` tables;
//! - `memory`: peak memory and the instance memory cap;
//! - `cache`: the shared engine and compiled-component caches;
//! - [`allocation`]: pooling (Spin's default) or on-demand instance allocation.

pub mod allocation;
mod bindings;
mod cache;
mod error;
mod headers;
mod kv;

pub use kv::choose_wal;
pub mod manifest;
mod memory;
mod outbound;
mod routes;
pub mod runtime_config;
mod server;
mod state;
mod variables;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime_wasi_http::bindings::ProxyPre;

pub use crate::error::Error;
pub use crate::headers::INSTANTIATE_US as INSTANTIATE_US_HEADER;
pub use crate::headers::PEAK_MEMORY as PEAK_MEMORY_HEADER;
use crate::kv::KeyValue;
use crate::manifest::{Manifest, TriggerRoute};
use crate::outbound::AllowedHosts;
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use crate::state::{App, ComponentRuntime, InstanceState};
use crate::variables::Variables;

/// How to run an application.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Path to `spin.toml`; the app directory is its parent.
    pub manifest: PathBuf,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// A socket already bound (used instead of `listen`): the caller knows the app's
    /// URL before the app loads, e.g. to pass it as `chain_base_url`.
    pub listener: Option<Arc<std::net::TcpListener>>,
    /// Like `spin up --variable k=v`: the highest precedence.
    pub variables: Vec<(String, String)>,
    /// Directory holding `.spin/sqlite_key_value.db`; default: the app directory.
    pub state_dir: Option<PathBuf>,
    /// Like `spin up --runtime-config-file`: its `[key_value_store.*]` tables
    /// (e.g. `default` on Redis) replace or add to the default SQLite store.
    pub runtime_config_file: Option<PathBuf>,
    /// Make key-value writes fail on purpose.
    pub kv_fault: Option<KvFault>,
    /// Like `spin up --max-instance-memory`: cap on each linear memory, in bytes.
    pub max_instance_memory: Option<usize>,
    /// Refuse larger key-value values with `other("...too large...")`,
    /// imitating Fermyon Cloud's 1 MB value limit (Spin itself has none).
    pub kv_max_value_bytes: Option<usize>,
}

impl HostConfig {
    /// Listens on `127.0.0.1:0`; everything else default.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            listener: None,
            variables: Vec::new(),
            state_dir: None,
            runtime_config_file: None,
            kv_fault: None,
            max_instance_memory: None,
            kv_max_value_bytes: None,
        }
    }
}

/// Key-value fault injection. Writes (`set` and `delete`) are counted across
/// the whole host, from 1; a failed write returns `error::other("injected fault ...")`
/// and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvFault {
    /// Only the Nth write fails.
    FailNthWrite(u64),
    /// Every write after the first N fails.
    FailWritesAfter(u64),
}

impl FromStr for KvFault {
    type Err = String;

    /// `nth:N` or `after:N` (the `DARKROOM_HOST_KV_FAULT` syntax).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid KV fault {s:?}: expected nth:N or after:N");
        let (kind, n) = s.split_once(':').ok_or_else(bad)?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        match kind.trim() {
            "nth" => Ok(Self::FailNthWrite(n)),
            "after" => Ok(Self::FailWritesAfter(n)),
            _ => Err(bad()),
        }
    }
}

/// A host serving on its own tokio runtime thread; dropping it shuts it down.
pub struct RunningHost {
    addr: SocketAddr,
    banner: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningHost {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `spin up` prints: `Serving ...` and the available routes.
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// Stops accepting, ends in-flight work and waits for the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Loads the app, compiles its components (cached), binds the listen address
/// and starts serving; returns once the socket is listening.
pub fn spawn(config: HostConfig) -> anyhow::Result<RunningHost> {
    let manifest = Manifest::load(&config.manifest)?;
    let app = Arc::new(load_app(&manifest, &config)?);

    let listener = match &config.listener {
        Some(bound) => bound.try_clone()?,
        None => std::net::TcpListener::bind(config.listen).map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?,
    };
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let banner = banner(&app, addr);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("darkroom-host-worker")
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(format!("darkroom-host {addr}"))
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => server::serve(app, listener, rx).await,
                    Err(e) => eprintln!("darkroom-host: cannot serve on {addr}: {e}"),
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(2));
        })?;
    Ok(RunningHost {
        addr,
        banner,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

fn banner(app: &App, addr: SocketAddr) -> String {
    let base = format!("http://{addr}");
    let mut out = format!(
        "Storing default key-value data to {}.\n\nServing {base}\nAvailable Routes:\n",
        app.kv.default_summary()
    );
    for (component, route) in app.router.routes() {
        out.push_str(&format!("  {component}: {base}{route}\n"));
    }
    out
}

/// Links a component. Imports the host does not provide (e.g. Spin
/// interfaces darkroom does not use) become functions that trap when called,
/// so a component that merely references them still runs.
fn instantiate_pre(
    linker: &Linker<InstanceState>,
    component: &Component,
) -> Result<ProxyPre<InstanceState>, String> {
    let link = |linker: &Linker<InstanceState>| {
        linker
            .instantiate_pre(component)
            .and_then(ProxyPre::new)
            .map_err(|e| format!("cannot link it as a wasi:http/incoming-handler component: {e:#}"))
    };
    link(linker).or_else(|first| {
        let mut stubbed = linker.clone();
        stubbed
            .define_unknown_imports_as_traps(component)
            .map_err(|_| first.clone())?;
        link(&stubbed).map_err(|_| first)
    })
}

/// Everything that can fail at start-up happens here, before binding.
fn load_app(manifest: &Manifest, config: &HostConfig) -> anyhow::Result<App> {
    let variables = Variables::resolve(manifest, &config.variables, |k| std::env::var(k).ok())?;

    let public = manifest.triggers.iter().filter_map(|t| match &t.route {
        TriggerRoute::Path(p) => Some((t.component.as_str(), p.as_str())),
        TriggerRoute::Private => None,
    });
    let (router, duplicates) = Router::build(public);
    for (route, replaced, effective) in duplicates {
        eprintln!(
            "darkroom-host: route {route} of component {replaced:?} is a duplicate of {effective:?}'s and will never be used"
        );
    }

    let state_dir = config
        .state_dir
        .clone()
        .unwrap_or_else(|| manifest.dir.clone());
    let runtime_config = match &config.runtime_config_file {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    let kv = Arc::new(KeyValue::open(
        &state_dir,
        &runtime_config,
        config.kv_fault,
        config.kv_max_value_bytes,
    )?);

    let engine = cache::engine();
    let mut linker = Linker::<InstanceState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::add_only_http_to_linker_async(&mut linker)?;
    bindings::key_value::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |s| s)?;
    bindings::variables::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |s| s)?;

    let mut components = HashMap::new();
    let triggered: HashSet<&str> = manifest
        .triggers
        .iter()
        .map(|t| t.component.as_str())
        .collect();
    for id in triggered {
        let decl = &manifest.components[id];
        let component_err = |message: String| Error::Component {
            id: id.to_owned(),
            path: decl.source.clone(),
            message,
        };
        for label in &decl.key_value_stores {
            if !kv.is_defined(label) {
                let known: Vec<&str> = kv.labels().collect();
                return Err(component_err(format!(
                    "unknown key_value_stores label {label:?} for component {id:?} (defined: {known:?}; \
                     other labels need a [key_value_store.{label}] table in a runtime config file)"
                ))
                .into());
            }
        }
        let hosts = decl
            .allowed_outbound_hosts
            .iter()
            .map(|h| variables.render_app(h))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|hosts| AllowedHosts::parse(&hosts))
            .map_err(component_err)?;
        if !decl.source.exists() {
            return Err(component_err(format!(
                "the wasm file does not exist; build it first (e.g. `cargo build --release --target wasm32-wasip2 -p {id}`)"
            ))
            .into());
        }
        let component =
            cache::load(engine, &decl.source).map_err(|e| component_err(format!("{e:#}")))?;
        let pre = instantiate_pre(&linker, &component).map_err(component_err)?;
        components.insert(
            id.to_owned(),
            ComponentRuntime {
                pre,
                allowed_stores: decl.key_value_stores.iter().cloned().collect(),
                allowed_hosts: hosts,
                environment: decl.environment.clone().into_iter().collect(),
            },
        );
    }

    Ok(App {
        router,
        variables,
        kv,
        components,
        max_instance_memory: config.max_instance_memory,
    })
}

//! One process-wide [`Engine`] and two caches of compiled components, so that
//! a test process spawning many hosts compiles each `.wasm` at most once, and
//! a new process usually not at all:
//!
//! - in memory: keyed by path, size and mtime;
//! - on disk: `Component::serialize` output named by the SHA-256 of the wasm
//!   bytes and of [`Engine::precompile_compatibility_hash`], under
//!   `$DARKROOM_HOST_CACHE_DIR`, else `$XDG_CACHE_HOME/darkroom-host`, else
//!   `~/.cache/darkroom-host` (else the temp dir).
//!
//! `DARKROOM_HOST_PERFMAP=1` turns on wasmtime's perf map for profiling the guests.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

type Key = (PathBuf, u64, SystemTime);

/// The shared engine, with Spin's instance allocation (`allocation`: pooling unless
/// turned off or the address space is too small).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        crate::allocation::configure(&mut config);
        // `DARKROOM_HOST_PERFMAP=1`: name the guests' compiled functions in
        // /tmp/perf-PID.map, so `perf record -p PID` profiles show wasm functions.
        if std::env::var_os("DARKROOM_HOST_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Engine::new(&config).expect("wasmtime config with Spin's limits is valid")
    })
}

/// Loads and compiles (or fetches from a cache) the component at `path`.
pub fn load(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    static MEMORY: OnceLock<Mutex<HashMap<Key, Component>>> = OnceLock::new();
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let key = (path.to_owned(), meta.len(), meta.modified()?);
    // Held while compiling: concurrent hosts then wait for one compile
    // instead of each compiling the same component.
    let mut memory = MEMORY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = memory.get(&key) {
        return Ok(c.clone());
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let component = load_from_disk_cache(engine, &bytes)?;
    memory.insert(key, component.clone());
    Ok(component)
}

fn load_from_disk_cache(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Component> {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(bytes);
    digest.update(engine_hash.finish().to_le_bytes());
    digest.update(env!("CARGO_PKG_VERSION"));
    let file = cache_dir().join(format!("{}.cwasm", hex::encode(digest.finalize())));

    if file.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine
        // with the same compatibility hash (it is part of the file name), and
        // it is replaced only by atomic renames.
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(c) => return Ok(c),
            Err(e) => eprintln!(
                "darkroom-host: ignoring bad cache entry {}: {e}",
                file.display()
            ),
        }
    }
    let component = Component::new(engine, bytes).map_err(anyhow::Error::from)?;
    if let Ok(serialized) = component.serialize() {
        let _ = write_atomically(&file, &serialized);
    }
    Ok(component)
}

fn write_atomically(file: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = file.parent().expect("cache file has a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(tmp, file)
}

fn cache_dir() -> PathBuf {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("DARKROOM_HOST_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("darkroom-host")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("darkroom-host")))
        .unwrap_or_else(|| std::env::temp_dir().join("darkroom-host-cache"))
}

//! `DARKROOM_E2E_RUNTIME_CONFIG=FILE`: every in-process host (and every `darkroom-host`
//! child a test starts) runs with that Spin runtime config, e.g. the `default`
//! key-value store on Redis (`./test.sh` runs the suite a second time so).
//!
//! Tests run in parallel and each expects a store of its own, so each host gets a
//! copy of the file in its state directory (`<state>/runtime-config.toml`) whose Redis
//! URLs select a database of their own: index `1 + (n - 1) % (databases - 1)` where
//! `n` counts up in database 0 (`INCR`, so concurrent test binaries never collide), and
//! the database is flushed first. A host restarted over the same state directory reuses
//! the copy, so it sees the same data. A host's databases are flushed when it is dropped,
//! so a run holds little (12 MB at the end of one). `./test.sh` starts redis-server with
//! 4096 databases; a run of the whole suite allocates 56.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use darkroom_host::runtime_config::{RuntimeConfig, StoreConfig};

/// The variable naming the runtime config file.
pub const ENV: &str = "DARKROOM_E2E_RUNTIME_CONFIG";

/// The per-host copy's name in a state directory.
const FILE_NAME: &str = "runtime-config.toml";

/// The counter of allocated databases, in database 0.
const COUNTER_KEY: &str = "darkroom-e2e:next-db";

/// The runtime config file the suite runs with, if any. A relative path is taken from
/// the repository root (cargo runs test binaries in `tests/e2e`).
pub fn configured() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(ENV).filter(|v| !v.is_empty())?);
    Some(if path.is_relative() { crate::target::workspace_root().join(path) } else { path })
}

/// The runtime config for a host over `state`: the copy already there (a restart over
/// the same store), or a new copy with databases of its own; `None` without
/// [`ENV`].
pub fn for_state_dir(state: &Path) -> anyhow::Result<Option<PathBuf>> {
    let Some(source) = configured() else { return Ok(None) };
    let copy = state.join(FILE_NAME);
    if copy.exists() {
        return Ok(Some(copy));
    }
    let config = RuntimeConfig::load(&source).with_context(|| format!("{ENV}={}", source.display()))?;
    let mut table = toml::Table::new();
    for (label, store) in &config.key_value_stores {
        let mut entry = toml::Table::new();
        match store {
            StoreConfig::Redis { url } => {
                entry.insert("type".into(), "redis".into());
                entry.insert("url".into(), fresh_database(url)?.into());
            }
            // Resolved against the source file's directory; a shared SQLite file
            // would mix the hosts' keys, so each gets its own beside the copy.
            StoreConfig::Spin { path } => {
                entry.insert("type".into(), "spin".into());
                if path.is_some() {
                    entry.insert("path".into(), format!("{label}.db").into());
                }
            }
        }
        table.insert(label.clone(), entry.into());
    }
    let mut root = toml::Table::new();
    root.insert("key_value_store".into(), table.into());
    std::fs::create_dir_all(state)?;
    std::fs::write(&copy, toml::to_string(&root)?)?;
    Ok(Some(copy))
}

/// The Redis URL of the `default` store of the host over `state`, if it is on Redis.
pub fn default_redis_url(state: &Path) -> Option<String> {
    let config = RuntimeConfig::load(&state.join(FILE_NAME)).ok()?;
    config.key_value_stores.into_iter().find_map(|(label, store)| match store {
        StoreConfig::Redis { url } if label == "default" => Some(url),
        _ => None,
    })
}

/// Empties the Redis databases of the host over `state` (when it is removed), so a
/// long run does not hold every test's data in memory.
pub fn release(state: &Path) {
    if let Some(url) = default_redis_url(state)
        && let Ok(mut conn) = redis::Client::open(url.as_str()).and_then(|c| c.get_connection())
    {
        let _ = redis::cmd("FLUSHDB").exec(&mut conn);
    }
}

/// `url` with the path set to a newly allocated, flushed database index.
fn fresh_database(url: &str) -> anyhow::Result<String> {
    let mut parsed = redis::parse_redis_url(url).with_context(|| format!("invalid Redis URL {url:?}"))?;
    parsed.set_path("/0");
    let client = redis::Client::open(parsed.as_str())?;
    let mut conn = client.get_connection().with_context(|| format!("connecting to {url}"))?;
    let databases: (String, u64) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query(&mut conn)
        .context("CONFIG GET databases")?;
    let databases = databases.1;
    if databases < 2 {
        bail!("{url}: the server has {databases} database(s); the suite needs one per host (redis-server --databases 4096)");
    }
    let n: u64 = redis::cmd("INCR").arg(COUNTER_KEY).query(&mut conn)?;
    let index = 1 + (n - 1) % (databases - 1);
    parsed.set_path(&format!("/{index}"));
    let mut conn = redis::Client::open(parsed.as_str())?.get_connection()?;
    redis::cmd("FLUSHDB").exec(&mut conn)?;
    Ok(parsed.to_string())
}

//! The host's key-value store, read directly: Spin's SQLite table
//! `spin_key_value (store, key, value)` under `<state_dir>/.spin/sqlite_key_value.db`,
//! or, when the host runs on Redis (`DARKROOM_E2E_RUNTIME_CONFIG`), the Redis database
//! its runtime config names (keys unprefixed, as Spin's `key-value-redis` stores them).
//! Wrapped as a read-only [`store::KeyValue`] so `store`'s own key parsing and
//! [`store::Store::orphan_chunks`] judge what a request left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::Commands as _;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use store::{BlobKind, KeyValue, Store};

/// The label darkroom's components use.
const LABEL: &str = "default";

/// A read-only view of one host's key-value store.
pub struct KvFile {
    backend: Backend,
}

enum Backend {
    Sqlite(PathBuf),
    Redis(String),
}

impl KvFile {
    /// The store of the host whose state directory is `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        let backend = match crate::runtime_config::default_redis_url(state_dir) {
            Some(url) => Backend::Redis(url),
            None => Backend::Sqlite(state_dir.join(".spin").join("sqlite_key_value.db")),
        };
        Self { backend }
    }

    /// Where the store is, for messages.
    fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(path) => path.display().to_string(),
            Backend::Redis(url) => url.clone(),
        }
    }

    fn connect(path: &Path) -> store::Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
        Ok(conn)
    }

    fn redis(url: &str) -> store::Result<redis::Connection> {
        redis::Client::open(url).and_then(|c| c.get_connection()).map_err(backend)
    }

    /// Replaces the value of an existing `key`: damage (and repair) a store on purpose.
    #[track_caller]
    pub fn replace(&self, key: &str, value: &[u8]) {
        let replaced = match &self.backend {
            Backend::Sqlite(path) => {
                let conn = Connection::open(path).unwrap();
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                conn.execute(
                    "UPDATE spin_key_value SET value = ?1 WHERE store = ?2 AND key = ?3",
                    rusqlite::params![value, LABEL, key],
                )
                .unwrap()
                    == 1
            }
            // SET XX: only if the key exists.
            Backend::Redis(url) => {
                let reply: Option<String> = redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("XX")
                    .query(&mut Self::redis(url).unwrap())
                    .unwrap();
                reply.is_some()
            }
        };
        assert!(replaced, "{key} is not in {}", self.location());
    }

    /// A blob store over this file (chunk size only matters for writes, never done here).
    pub fn store(&self) -> Store<&KvFile> {
        Store::new(self, store::MAX_CHUNK_BYTES).expect("valid chunk size")
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = self.get_keys().unwrap_or_else(|e| panic!("reading {}: {e}", self.location()));
        keys.sort_unstable();
        keys
    }

    /// Keys that belong to image `id` (its blobs, record and listing entries).
    pub fn keys_of(&self, id: &str) -> Vec<String> {
        let prefix = format!("img/{id}/");
        self.keys()
            .into_iter()
            .filter(|k| k.starts_with(&prefix) || store::keys::parse_index(k).is_some_and(|(_, i)| i == id))
            .collect()
    }

    /// What is wrong with the store, if anything: a committed manifest whose blob cannot
    /// be read back whole (missing or short chunk, bad checksum), or a chunk no manifest
    /// covers (a partial write). Empty when consistent.
    pub fn problems(&self) -> Vec<String> {
        let store = self.store();
        let mut problems = Vec::new();
        for key in self.keys() {
            let Some((id, kind)) = store::keys::parse_manifest(&key) else { continue };
            match store.get_blob(id, kind) {
                Ok(Some(_)) => {}
                Ok(None) => {} // deleted meanwhile
                Err(e) => problems.push(format!("{key}: {e}")),
            }
        }
        match store.orphan_chunks() {
            Ok(orphans) => problems.extend(orphans.into_iter().map(|k| format!("{k}: chunk without a manifest"))),
            Err(e) => problems.push(format!("orphan scan failed: {e}")),
        }
        problems
    }

    /// Panics, listing the damage, unless [`problems`](Self::problems) is empty.
    #[track_caller]
    pub fn assert_consistent(&self, context: &str) {
        let problems = self.problems();
        assert!(problems.is_empty(), "the store holds partial blobs after {context}:\n  {}", problems.join("\n  "));
    }

    /// The committed blob `kind` of `id`, verified, if any.
    pub fn blob(&self, id: &str, kind: BlobKind) -> Option<Vec<u8>> {
        self.store()
            .get_blob(id, kind)
            .unwrap_or_else(|e| panic!("blob {id}/{}: {e}", kind.as_str()))
            .map(|(_, bytes)| bytes)
    }
}

fn backend(e: impl std::fmt::Display) -> store::Error {
    store::Error::Backend(e.to_string())
}

impl KeyValue for KvFile {
    fn get(&self, key: &str) -> store::Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Sqlite(path) => Self::connect(path)?
                .query_row(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    (LABEL, key),
                    |row| row.get::<_, Vec<u8>>(0),
                )
                .optional()
                .map_err(backend),
            Backend::Redis(url) => redis::cmd("GET").arg(key).query(&mut Self::redis(url)?).map_err(backend),
        }
    }

    fn set(&self, _key: &str, _value: &[u8]) -> store::Result<()> {
        Err(store::Error::Backend("kvcheck is read-only".into()))
    }

    fn delete(&self, _key: &str) -> store::Result<()> {
        Err(store::Error::Backend("kvcheck is read-only".into()))
    }

    fn exists(&self, key: &str) -> store::Result<bool> {
        self.get(key).map(|v| v.is_some())
    }

    fn get_keys(&self) -> store::Result<Vec<String>> {
        let path = match &self.backend {
            // SCAN rather than the host's KEYS: the same keys, without blocking the server.
            Backend::Redis(url) => {
                let mut conn = Self::redis(url)?;
                return conn.scan::<String>().map_err(backend).map(Iterator::collect);
            }
            Backend::Sqlite(path) => path,
        };
        if !path.exists() {
            return Ok(Vec::new()); // nothing written yet
        }
        let conn = Self::connect(path)?;
        let mut statement =
            conn.prepare("SELECT key FROM spin_key_value WHERE store = ?1").map_err(backend)?;
        let rows = statement.query_map([LABEL], |row| row.get::<_, String>(0)).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }
}

//! The host's key-value file, read directly: Spin's SQLite table
//! `spin_key_value (store, key, value)` under `<state_dir>/.spin/sqlite_key_value.db`,
//! wrapped as a read-only [`store::KeyValue`] so `store`'s own key parsing and
//! [`store::Store::orphan_chunks`] judge what a request left behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use store::{BlobKind, KeyValue, Store};

/// The label darkroom's components use.
const LABEL: &str = "default";

/// A read-only view of one host's key-value store.
pub struct KvFile {
    path: PathBuf,
}

impl KvFile {
    /// The store of the host whose state directory is `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self { path: state_dir.join(".spin").join("sqlite_key_value.db") }
    }

    fn connect(&self) -> store::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
        Ok(conn)
    }

    /// A blob store over this file (chunk size only matters for writes, never done here).
    pub fn store(&self) -> Store<&KvFile> {
        Store::new(self, store::MAX_CHUNK_BYTES).expect("valid chunk size")
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = self.get_keys().unwrap_or_else(|e| panic!("reading {}: {e}", self.path.display()));
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

fn backend(e: rusqlite::Error) -> store::Error {
    store::Error::Backend(e.to_string())
}

impl KeyValue for KvFile {
    fn get(&self, key: &str) -> store::Result<Option<Vec<u8>>> {
        self.connect()?
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                (LABEL, key),
                |row| row.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(backend)
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
        if !self.path.exists() {
            return Ok(Vec::new()); // nothing written yet
        }
        let conn = self.connect()?;
        let mut statement =
            conn.prepare("SELECT key FROM spin_key_value WHERE store = ?1").map_err(backend)?;
        let rows = statement.query_map([LABEL], |row| row.get::<_, String>(0)).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }
}

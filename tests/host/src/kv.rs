//! `fermyon:spin/key-value@2.0.0` on SQLite, shaped like Spin's default
//! store (`crates/key-value-spin/src/store.rs`): one table
//! `spin_key_value (store, key, value)` in `<state dir>/.spin/sqlite_key_value.db`,
//! so `spin up` can read a database this host wrote, and the other way round.
//!
//! Like Spin, one connection behind a mutex serialises all operations of a
//! host, so concurrent requests never see `SQLITE_BUSY`; WAL and a busy
//! timeout cover several hosts (or a `spin up`) sharing one file. Operations
//! run on tokio's blocking pool so a slow write never stalls other requests.
//!
//! Labels: a component opens only the labels in its `key_value_stores`
//! (`access-denied` otherwise); only `default` exists, and listing any other
//! label is a start-up error, exactly Spin's behaviour without a runtime config.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension};
use wasmtime::component::Resource;

use crate::KvFault;
use crate::bindings::key_value::{self, Error as KvError};
use crate::error::Error;
use crate::state::InstanceState;

/// The only store label that exists without a runtime config.
pub const DEFAULT_LABEL: &str = "default";

/// Spin's per-instance limit of simultaneously open stores.
const STORE_TABLE_CAPACITY: usize = 256;

/// The guest's handle to an opened store (the `store` resource).
#[derive(Debug)]
pub struct OpenStore {
    label: String,
}

/// The SQLite database shared by all components of one host.
pub struct KvBackend {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Every `set`/`delete` attempt, counted for fault injection.
    writes: AtomicU64,
    fault: Option<KvFault>,
    max_value_bytes: Option<usize>,
}

impl KvBackend {
    /// Opens (creating if needed) `<state_dir>/.spin/sqlite_key_value.db`.
    pub fn open(
        state_dir: &Path,
        fault: Option<KvFault>,
        max_value_bytes: Option<usize>,
    ) -> Result<Self, Error> {
        let path = state_dir.join(".spin").join("sqlite_key_value.db");
        let fail = |message: String| Error::KeyValue {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(path.parent().expect("has a parent"))
            .map_err(|e| fail(e.to_string()))?;
        let conn = Connection::open(&path).map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| fail(e.to_string()))?;
        // WAL lets readers in other processes proceed during a write; ignore
        // failure (e.g. a filesystem without shared memory).
        let _ = conn.pragma_update(None, "journal_mode", "WAL");
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,

                PRIMARY KEY (store, key)
            )",
            [],
        )
        .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            writes: AtomicU64::new(0),
            fault,
            max_value_bytes,
        })
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, KvError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|e| KvError::Other(e.to_string()))
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store=$1 AND key=$2")?
                .query_row([store, key], |row| row.get::<_, Vec<u8>>(0))
                .optional()
        })
    }

    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.count_write("set", key)?;
        if let Some(max) = self.max_value_bytes
            && value.len() > max
        {
            return Err(KvError::Other(format!(
                "value too large: {} bytes exceeds the limit of {max} bytes",
                value.len()
            )));
        }
        self.with_conn(|c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT(store, key) DO UPDATE SET value=$3",
            )?
            .execute(rusqlite::params![store, key, value])
            .map(drop)
        })
    }

    pub fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        self.count_write("delete", key)?;
        self.with_conn(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store=$1 AND key=$2")?
                .execute([store, key])
                .map(drop)
        })
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store=$1 AND key=$2 LIMIT 1")?
                .exists([store, key])
        })
    }

    pub fn get_keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store=$1")?
                .query_map([store], |row| row.get::<_, String>(0))?
                .collect()
        })
    }

    /// Counts a write and fails it if the configured [`KvFault`] says so.
    fn count_write(&self, op: &str, key: &str) -> Result<(), KvError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = match self.fault {
            Some(KvFault::FailNthWrite(nth)) => n == nth,
            Some(KvFault::FailWritesAfter(after)) => n > after,
            None => false,
        };
        if fail {
            Err(KvError::Other(format!(
                "injected fault: write #{n} ({op} {key:?}) failed"
            )))
        } else {
            Ok(())
        }
    }
}

impl InstanceState {
    fn store_label(&self, store: &Resource<OpenStore>) -> wasmtime::Result<String> {
        Ok(self.table.get(store)?.label.clone())
    }

    /// Runs a database operation on the blocking pool. (Returns a future
    /// that does not borrow `self`: the store data is not `Sync`.)
    fn kv<T: Send + 'static>(
        &self,
        f: impl FnOnce(&KvBackend) -> Result<T, KvError> + Send + 'static,
    ) -> impl Future<Output = wasmtime::Result<Result<T, KvError>>> + Send + 'static {
        let backend = self.app.kv.clone();
        async move { Ok(tokio::task::spawn_blocking(move || f(&backend)).await?) }
    }
}

impl key_value::Host for InstanceState {}

impl key_value::HostStore for InstanceState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<OpenStore>, KvError>> {
        if !self.component().allowed_stores.contains(&label) {
            return Ok(Err(KvError::AccessDenied));
        }
        if self.open_stores >= STORE_TABLE_CAPACITY {
            return Ok(Err(KvError::StoreTableFull));
        }
        self.open_stores += 1;
        Ok(Ok(self.table.push(OpenStore { label })?))
    }

    async fn get(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        let label = self.store_label(&store)?;
        self.kv(move |kv| kv.get(&label, &key)).await
    }

    async fn set(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let label = self.store_label(&store)?;
        self.kv(move |kv| kv.set(&label, &key, &value)).await
    }

    async fn delete(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let label = self.store_label(&store)?;
        self.kv(move |kv| kv.delete(&label, &key)).await
    }

    async fn exists(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, KvError>> {
        let label = self.store_label(&store)?;
        self.kv(move |kv| kv.exists(&label, &key)).await
    }

    async fn get_keys(
        &mut self,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<Result<Vec<String>, KvError>> {
        let label = self.store_label(&store)?;
        self.kv(move |kv| kv.get_keys(&label)).await
    }

    async fn drop(&mut self, store: Resource<OpenStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        self.open_stores = self.open_stores.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(fault: Option<KvFault>) -> (KvBackend, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "darkroom-host-kv-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        (KvBackend::open(&dir, fault, Some(10)).unwrap(), dir)
    }

    #[test]
    fn set_get_delete_and_faults() {
        let (kv, dir) = backend(Some(KvFault::FailNthWrite(2)));
        kv.set("default", "a", b"1").unwrap();
        assert!(
            matches!(kv.set("default", "b", b"2"), Err(KvError::Other(m)) if m.contains("injected fault"))
        );
        kv.set("default", "c", b"3").unwrap();
        assert_eq!(kv.get("default", "a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(kv.get("default", "b").unwrap(), None);
        assert_eq!(kv.get("other", "a").unwrap(), None);
        assert!(
            matches!(kv.set("default", "big", &[0; 11]), Err(KvError::Other(m)) if m.contains("too large"))
        );
        kv.delete("default", "a").unwrap();
        assert!(!kv.exists("default", "a").unwrap());
        assert_eq!(kv.get_keys("default").unwrap(), vec!["c".to_string()]);
        assert!(dir.join(".spin/sqlite_key_value.db").exists());
    }
}

//! The `spin` key-value type: SQLite, shaped like Spin's default store
//! (`crates/key-value-spin/src/store.rs`): one table
//! `spin_key_value (store, key, value)`, so `spin up` can read a database this
//! host wrote, and the other way round. The label is the `store` column.
//!
//! Like Spin, one connection behind a mutex serialises all operations on a
//! file, so concurrent requests never see `SQLITE_BUSY`; a busy timeout covers
//! several hosts (or a `spin up`) sharing one file. Operations run on tokio's
//! blocking pool so a slow write never stalls other requests.
//!
//! The journal is Spin's too: Spin leaves SQLite's default, a rollback journal
//! (`DELETE`), so each `set` is a commit with four `fsync`s and a journal file
//! made and removed. This host used WAL until stop 23, which made a small write
//! about 5 times cheaper and a 1 MB one about 25% dearer than under `spin up`: a
//! job of 10 shards ran ~45 ms faster here than it would there. The benchmarks
//! must see what Spin users get, so WAL is now opt-in ([`choose_wal`],
//! `--sqlite-journal wal`, `DARKROOM_HOST_SQLITE_JOURNAL=wal`), for comparison or
//! for many processes reading one file while a host writes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::{Connection, OptionalExtension};

use super::{KvError, Store, StoreManager};
use crate::error::Error;

static WAL: OnceLock<bool> = OnceLock::new();

/// Chooses WAL (`true`) or Spin's rollback journal for the databases this process opens
/// from now on. Only the first choice counts; returns the choice in force.
pub fn choose_wal(on: bool) -> bool {
    *WAL.get_or_init(|| on)
}

/// Whether new connections turn WAL on: the explicit choice, else
/// `DARKROOM_HOST_SQLITE_JOURNAL` (`wal` or `spin`), else Spin's way (no).
fn wal() -> bool {
    *WAL.get_or_init(|| match std::env::var("DARKROOM_HOST_SQLITE_JOURNAL").as_deref() {
        Ok("wal") => true,
        Ok("spin") | Err(_) => false,
        Ok(other) => {
            eprintln!("darkroom-host: ignoring DARKROOM_HOST_SQLITE_JOURNAL={other:?} (expected wal or spin)");
            false
        }
    })
}

/// Where a SQLite store lives (Spin's `DatabaseLocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file, created with its directory if missing.
    Path(PathBuf),
    /// `type = "spin"` without a `path` in a runtime config: gone when the host stops.
    InMemory,
}

/// One SQLite database; every label it serves is a value of the `store` column.
pub struct SqliteManager {
    conn: Arc<Mutex<Connection>>,
    location: Location,
}

impl SqliteManager {
    /// Opens (creating if needed) the database and its table.
    pub fn open(location: Location) -> Result<Self, Error> {
        let fail = |message: String| Error::KeyValue {
            location: match &location {
                Location::Path(p) => p.display().to_string(),
                Location::InMemory => "memory".into(),
            },
            message,
        };
        let conn = match &location {
            Location::Path(path) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
                }
                Connection::open(path)
            }
            Location::InMemory => Connection::open_in_memory(),
        }
        .map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| fail(e.to_string()))?;
        // Spin sets no journal mode (see the module doc). WAL, when chosen, lets readers
        // in other processes proceed during a write; failure (e.g. a filesystem without
        // shared memory) leaves the default.
        if wal() {
            let _ = conn.pragma_update(None, "journal_mode", "WAL");
        }
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
            conn: Arc::new(Mutex::new(conn)),
            location,
        })
    }
}

#[async_trait::async_trait]
impl StoreManager for SqliteManager {
    async fn get(&self, label: &str) -> Result<Arc<dyn Store>, KvError> {
        Ok(Arc::new(SqliteStore {
            conn: self.conn.clone(),
            label: label.to_owned(),
        }))
    }

    fn summary(&self) -> String {
        match &self.location {
            Location::Path(p) => format!("\"{}\"", p.display()),
            Location::InMemory => "a temporary in-memory store".into(),
        }
    }
}

/// One label of a SQLite database.
struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    label: String,
}

impl SqliteStore {
    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, KvError> {
        let conn = self.conn.clone();
        let label = self.label.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn, &label).map_err(|e| KvError::Other(e.to_string()))
        })
        .await
        .map_err(|e| KvError::Other(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let key = key.to_owned();
        self.with_conn(move |c, store| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store=$1 AND key=$2")?
                .query_row([store, &key], |row| row.get::<_, Vec<u8>>(0))
                .optional()
        })
        .await
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.with_conn(move |c, store| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT(store, key) DO UPDATE SET value=$3",
            )?
            .execute(rusqlite::params![store, key, value])
            .map(drop)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let key = key.to_owned();
        self.with_conn(move |c, store| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store=$1 AND key=$2")?
                .execute([store, &key])
                .map(drop)
        })
        .await
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        let key = key.to_owned();
        self.with_conn(move |c, store| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store=$1 AND key=$2 LIMIT 1")?
                .exists([store, &key])
        })
        .await
    }

    async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        self.with_conn(|c, store| {
            c.prepare_cached("SELECT key FROM spin_key_value WHERE store=$1")?
                .query_map([store], |row| row.get::<_, String>(0))?
                .collect()
        })
        .await
    }
}

//! `fermyon:spin/key-value@2.0.0` over the backends Spin's runtime config
//! names, shaped like Spin's `factor-key-value`: a [`StoreManager`] per
//! configured label hands out [`Store`]s, and this module does what is common
//! to every backend (labels, the open-store limit, fault injection, the value
//! cap).
//!
//! - [`sqlite`]: `type = "spin"`, Spin's default (`<state dir>/.spin/sqlite_key_value.db`);
//! - [`redis`]: `type = "redis"`, Spin's `key-value-redis` (Redis or Valkey).
//!
//! Labels: a component opens only the labels in its `key_value_stores`
//! (`access-denied` otherwise). `default` always exists (SQLite unless the
//! runtime config says otherwise); any other label must be configured in the
//! runtime config, or listing it is a start-up error, exactly as in Spin.

mod redis;
mod sqlite;

pub use sqlite::choose_wal;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::Resource;

use crate::KvFault;
pub use crate::bindings::key_value::{self, Error as KvError};
use crate::error::Error;
use crate::runtime_config::{RuntimeConfig, StoreConfig};
use crate::state::InstanceState;

/// The label that exists without a runtime config.
pub const DEFAULT_LABEL: &str = "default";

/// Spin's per-instance limit of simultaneously open stores.
const STORE_TABLE_CAPACITY: usize = 256;

/// A backend: opens the store of a label (Spin's `StoreManager`).
#[async_trait::async_trait]
pub trait StoreManager: Send + Sync {
    /// The store for `label`; may connect (Redis connects on first use).
    async fn get(&self, label: &str) -> Result<Arc<dyn Store>, KvError>;
    /// Where the data goes, for the start-up banner (Spin's wording).
    fn summary(&self) -> String;
}

/// One opened store (Spin's `Store`, the v2 operations).
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
    async fn exists(&self, key: &str) -> Result<bool, KvError>;
    async fn get_keys(&self) -> Result<Vec<String>, KvError>;
}

/// The guest's handle to an opened store (the `store` resource).
pub struct OpenStore {
    store: Arc<dyn Store>,
}

/// The key-value stores of one host, shared by all its components.
pub struct KeyValue {
    managers: BTreeMap<String, Arc<dyn StoreManager>>,
    /// Every `set`/`delete` attempt, counted for fault injection.
    writes: AtomicU64,
    fault: Option<KvFault>,
    max_value_bytes: Option<usize>,
}

impl KeyValue {
    /// The stores `runtime_config` declares, plus `default` on SQLite in
    /// `<state_dir>/.spin/sqlite_key_value.db` unless it is declared. Nothing
    /// connects yet (Redis URLs are only parsed).
    pub fn open(
        state_dir: &Path,
        runtime_config: &RuntimeConfig,
        fault: Option<KvFault>,
        max_value_bytes: Option<usize>,
    ) -> Result<Self, Error> {
        let mut managers: BTreeMap<String, Arc<dyn StoreManager>> = BTreeMap::new();
        for (label, config) in &runtime_config.key_value_stores {
            let manager: Arc<dyn StoreManager> = match config {
                StoreConfig::Spin { path } => {
                    let location = match path {
                        Some(p) => sqlite::Location::Path(p.clone()),
                        None => sqlite::Location::InMemory,
                    };
                    Arc::new(sqlite::SqliteManager::open(location)?)
                }
                StoreConfig::Redis { url } => Arc::new(redis::RedisManager::new(url).map_err(
                    |message| Error::KeyValue {
                        location: format!("label {label:?}"),
                        message,
                    },
                )?),
            };
            managers.insert(label.clone(), manager);
        }
        if !managers.contains_key(DEFAULT_LABEL) {
            let path = state_dir.join(".spin").join("sqlite_key_value.db");
            let manager = sqlite::SqliteManager::open(sqlite::Location::Path(path))?;
            managers.insert(DEFAULT_LABEL.to_owned(), Arc::new(manager));
        }
        Ok(Self {
            managers,
            writes: AtomicU64::new(0),
            fault,
            max_value_bytes,
        })
    }

    /// Whether `label` is configured (a component may list it).
    pub fn is_defined(&self, label: &str) -> bool {
        self.managers.contains_key(label)
    }

    /// The configured labels.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.managers.keys().map(String::as_str)
    }

    /// Where the `default` store keeps its data (Spin's start-up line).
    pub fn default_summary(&self) -> String {
        self.managers[DEFAULT_LABEL].summary()
    }

    async fn open_store(&self, label: &str) -> Result<Arc<dyn Store>, KvError> {
        match self.managers.get(label) {
            Some(manager) => manager.get(label).await,
            None => Err(KvError::NoSuchStore),
        }
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

    async fn set(&self, store: &dyn Store, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.count_write("set", key)?;
        if let Some(max) = self.max_value_bytes
            && value.len() > max
        {
            return Err(KvError::Other(format!(
                "value too large: {} bytes exceeds the limit of {max} bytes",
                value.len()
            )));
        }
        store.set(key, value).await
    }

    async fn delete(&self, store: &dyn Store, key: &str) -> Result<(), KvError> {
        self.count_write("delete", key)?;
        store.delete(key).await
    }
}

impl InstanceState {
    /// The opened store and the host's stores, owned, so the returned future
    /// does not borrow `self` (the store data is not `Sync`).
    fn store_of(
        &self,
        store: &Resource<OpenStore>,
    ) -> wasmtime::Result<(Arc<dyn Store>, Arc<crate::state::App>)> {
        Ok((self.table.get(store)?.store.clone(), self.app.clone()))
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
        let app = self.app.clone();
        let store = match app.kv.open_store(&label).await {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        self.open_stores += 1;
        Ok(Ok(self.table.push(OpenStore { store })?))
    }

    async fn get(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, KvError>> {
        let (store, _) = self.store_of(&store)?;
        Ok(store.get(&key).await)
    }

    async fn set(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let (store, app) = self.store_of(&store)?;
        Ok(app.kv.set(store.as_ref(), &key, &value).await)
    }

    async fn delete(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), KvError>> {
        let (store, app) = self.store_of(&store)?;
        Ok(app.kv.delete(store.as_ref(), &key).await)
    }

    async fn exists(
        &mut self,
        store: Resource<OpenStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, KvError>> {
        let (store, _) = self.store_of(&store)?;
        Ok(store.exists(&key).await)
    }

    async fn get_keys(
        &mut self,
        store: Resource<OpenStore>,
    ) -> wasmtime::Result<Result<Vec<String>, KvError>> {
        let (store, _) = self.store_of(&store)?;
        Ok(store.get_keys().await)
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
    use std::path::PathBuf;

    fn state_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "darkroom-host-kv-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The common layer over one backend: faults, the value cap, labels.
    async fn exercise(kv: &KeyValue) {
        let store = kv.open_store(DEFAULT_LABEL).await.unwrap();
        let store = store.as_ref();
        kv.set(store, "a", b"1").await.unwrap();
        assert!(
            matches!(kv.set(store, "b", b"2").await, Err(KvError::Other(m)) if m.contains("injected fault"))
        );
        kv.set(store, "c", b"3").await.unwrap();
        assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(store.get("b").await.unwrap(), None);
        assert!(
            matches!(kv.set(store, "big", &[0; 11]).await, Err(KvError::Other(m)) if m.contains("too large"))
        );
        kv.delete(store, "a").await.unwrap();
        assert!(!store.exists("a").await.unwrap());
        assert!(store.exists("c").await.unwrap());
        assert_eq!(store.get_keys().await.unwrap(), vec!["c".to_string()]);
        assert!(matches!(
            kv.open_store("other").await,
            Err(KvError::NoSuchStore)
        ));
    }

    #[tokio::test]
    async fn sqlite_set_get_delete_and_faults() {
        let dir = state_dir();
        let kv = KeyValue::open(
            &dir,
            &RuntimeConfig::default(),
            Some(KvFault::FailNthWrite(2)),
            Some(10),
        )
        .unwrap();
        exercise(&kv).await;
        assert!(dir.join(".spin/sqlite_key_value.db").exists());
        assert!(kv.default_summary().contains(".spin/sqlite_key_value.db"));
    }

    #[tokio::test]
    async fn sqlite_labels_share_a_file_but_not_keys() {
        let dir = state_dir();
        let config = RuntimeConfig {
            key_value_stores: vec![
                (
                    "default".into(),
                    StoreConfig::Spin {
                        path: Some(dir.join("kv.db")),
                    },
                ),
                (
                    "other".into(),
                    StoreConfig::Spin {
                        path: Some(dir.join("kv.db")),
                    },
                ),
                ("mem".into(), StoreConfig::Spin { path: None }),
            ],
        };
        let kv = KeyValue::open(&dir, &config, None, None).unwrap();
        let a = kv.open_store("default").await.unwrap();
        let b = kv.open_store("other").await.unwrap();
        a.set("k", b"a").await.unwrap();
        assert_eq!(b.get("k").await.unwrap(), None);
        assert!(kv.default_summary().contains("kv.db"));
        assert_eq!(kv.labels().collect::<Vec<_>>(), ["default", "mem", "other"]);
        assert!(!dir.join(".spin").exists());
    }

    /// A real redis-server, from `DARKROOM_TEST_REDIS_URL` (`./test.sh` starts one).
    fn redis_url() -> Option<String> {
        let url = std::env::var("DARKROOM_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty());
        if url.is_none() {
            eprintln!(
                "SKIPPED: DARKROOM_TEST_REDIS_URL is not set (./test.sh starts a redis-server)"
            );
        }
        url
    }

    /// A fresh database on the test server: index `db`, flushed.
    fn redis_db(base: &str, db: u32) -> String {
        let url = format!("{}/{db}", base.trim_end_matches('/'));
        let client = ::redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_connection().unwrap();
        ::redis::cmd("FLUSHDB").exec(&mut conn).unwrap();
        url
    }

    #[tokio::test]
    async fn redis_set_get_delete_and_faults() {
        let Some(base) = redis_url() else { return };
        let url = redis_db(&base, 11);
        let config = RuntimeConfig {
            key_value_stores: vec![("default".into(), StoreConfig::Redis { url: url.clone() })],
        };
        let kv = KeyValue::open(
            &state_dir(),
            &config,
            Some(KvFault::FailNthWrite(2)),
            Some(10),
        )
        .unwrap();
        assert!(
            kv.default_summary().starts_with("Redis at 127.0.0.1:"),
            "{}",
            kv.default_summary()
        );
        exercise(&kv).await;
        // Keys are stored under their own names, unprefixed (as Spin does).
        let mut conn = ::redis::Client::open(url.as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        assert_eq!(keys, ["c"]);
        let value: Vec<u8> = ::redis::cmd("GET").arg("c").query(&mut conn).unwrap();
        assert_eq!(value, b"3");
    }

    #[tokio::test]
    async fn redis_labels_share_one_keyspace_and_binary_values_round_trip() {
        let Some(base) = redis_url() else { return };
        let url = redis_db(&base, 12);
        let config = RuntimeConfig {
            key_value_stores: vec![
                ("default".into(), StoreConfig::Redis { url: url.clone() }),
                ("other".into(), StoreConfig::Redis { url }),
            ],
        };
        let kv = KeyValue::open(&state_dir(), &config, None, None).unwrap();
        let a = kv.open_store("default").await.unwrap();
        let b = kv.open_store("other").await.unwrap();
        let bytes: Vec<u8> = (0..=255).collect();
        a.set("img/x/chunk/0", &bytes).await.unwrap();
        assert_eq!(b.get("img/x/chunk/0").await.unwrap(), Some(bytes));
        assert_eq!(b.get_keys().await.unwrap(), ["img/x/chunk/0"]);
    }

    #[test]
    fn an_invalid_redis_url_is_a_start_up_error() {
        let config = RuntimeConfig {
            key_value_stores: vec![(
                "default".into(),
                StoreConfig::Redis {
                    url: "http://127.0.0.1:6379".into(),
                },
            )],
        };
        let err = KeyValue::open(&state_dir(), &config, None, None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("Invalid Redis URL"), "{err}");
    }
}

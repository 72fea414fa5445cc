//! The `redis` key-value type, with the semantics of Spin's
//! `crates/key-value-redis/src/store.rs`:
//! - the label is ignored: keys are stored under their own names, unprefixed,
//!   in the database the URL selects (`redis://host:port/N`), so every label
//!   pointed at one URL shares one keyspace;
//! - `get`/`set`/`delete`/`exists` are `GET`/`SET`/`DEL`/`EXISTS`, and
//!   `get-keys` is `KEYS *` (Spin's v2 `get_keys`; only its `wasi:keyvalue`
//!   streaming variant uses `SCAN`, and this host has no `wasi:keyvalue`);
//! - one multiplexed, self-reconnecting `ConnectionManager` per store,
//!   made on the first `open` (so a host starts while Redis is down; `open`
//!   then waits out the manager's connection retries, minutes, and fails with
//!   `other`); `open` pings and ignores a failure;
//! - every Redis error becomes `error::other` with the error's `Debug` text
//!   (Spin's `log_error`); results over Spin's 128 MiB host buffer limit are
//!   refused with Spin's message.

use std::sync::Arc;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::{KvError, Store, StoreManager};

/// Spin's `MAX_HOST_BUFFERED_BYTES`: the most a host call returns.
const MAX_RESULT_BYTES: usize = 128 << 20;

/// A Redis (or Valkey) server, connected on first use.
pub struct RedisManager {
    url: redis::ConnectionInfo,
    summary: String,
    connection: OnceCell<ConnectionManager>,
}

impl RedisManager {
    /// Checks the URL (Spin: `Invalid Redis URL`) without connecting.
    pub fn new(url: &str) -> Result<Self, String> {
        let parsed =
            redis::parse_redis_url(url).ok_or_else(|| format!("Invalid Redis URL {url:?}"))?;
        let info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(parsed)
            .map_err(|e| format!("Invalid Redis URL {url:?}: {e}"))?;
        Ok(Self {
            summary: format!("Redis at {}", info.addr),
            url: info,
            connection: OnceCell::new(),
        })
    }
}

/// Spin's `log_error`: any backend error is `other`, with its `Debug` text.
fn other(e: impl std::fmt::Debug) -> KvError {
    KvError::Other(format!("{e:?}"))
}

fn over_limit() -> KvError {
    KvError::Other(format!(
        "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
    ))
}

#[async_trait::async_trait]
impl StoreManager for RedisManager {
    async fn get(&self, _label: &str) -> Result<Arc<dyn Store>, KvError> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                redis::Client::open(self.url.clone())?
                    .get_connection_manager()
                    .await
            })
            .await
            .map_err(other)?
            .clone();
        // Spin's `after_open`: a failed ping only starts a reconnection.
        let _ = connection.clone().ping::<()>().await;
        Ok(Arc::new(RedisStore { connection }))
    }

    fn summary(&self) -> String {
        self.summary.clone()
    }
}

struct RedisStore {
    connection: ConnectionManager,
}

#[async_trait::async_trait]
impl Store for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let value: Option<Vec<u8>> = self.connection.clone().get(key).await.map_err(other)?;
        if size_of::<Option<Vec<u8>>>() + value.as_ref().map_or(0, Vec::len) > MAX_RESULT_BYTES {
            return Err(over_limit());
        }
        Ok(value)
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.connection.clone().set(key, value).await.map_err(other)
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.connection.clone().del(key).await.map_err(other)
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.connection.clone().exists(key).await.map_err(other)
    }

    async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        let keys: Vec<String> = self.connection.clone().keys("*").await.map_err(other)?;
        let bytes = size_of::<Vec<String>>()
            + keys
                .iter()
                .map(|k| size_of::<String>() + k.len())
                .sum::<usize>();
        if bytes > MAX_RESULT_BYTES {
            return Err(over_limit());
        }
        Ok(keys)
    }
}

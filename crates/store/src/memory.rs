//! An in-memory [`KeyValue`] for native tests, with the platform's limits and fault
//! injection, so tests can prove what happens when a write fails half-way.

use crate::{Error, KeyValue, Result};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A `Mutex<BTreeMap>` key-value store.
///
/// Writes (`set` and `delete`) are counted from 1. Faults make a chosen write fail with
/// [`Error::Backend`] without changing anything, like a KV service that dropped the
/// request. `max_value_bytes` makes oversized `set`s fail with [`Error::TooLarge`], as
/// Fermyon's 1 MB cap does; keys longer than 255 bytes fail with [`Error::InvalidKey`].
#[derive(Debug, Default)]
pub struct MemoryKv {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<String, Vec<u8>>,
    writes: u64,
    listings: u64,
    max_value_bytes: Option<usize>,
    fail_write: Option<u64>,
    fail_writes_after: Option<u64>,
}

/// Fermyon's key length cap.
const MAX_BACKEND_KEY_BYTES: usize = 255;

impl MemoryKv {
    /// An empty store without limits or faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse values longer than `max` bytes (builder style).
    pub fn with_max_value_bytes(self, max: usize) -> Self {
        self.lock().max_value_bytes = Some(max);
        self
    }

    /// Make write number `n` (1-based, counted since creation) fail.
    pub fn fail_nth_write(&self, n: u64) {
        self.lock().fail_write = Some(n);
    }

    /// Make every write after the first `n` (counted since creation) fail.
    pub fn fail_writes_after(&self, n: u64) {
        self.lock().fail_writes_after = Some(n);
    }

    /// Remove all injected faults.
    pub fn clear_faults(&self) {
        let mut inner = self.lock();
        inner.fail_write = None;
        inner.fail_writes_after = None;
    }

    /// Number of writes attempted so far, failed ones included.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Number of `get_keys` calls so far (the one costly operation on a large store).
    pub fn listings(&self) -> u64 {
        self.lock().listings
    }

    /// A copy of every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().map.keys().cloned().collect()
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the store from the others.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Counts a write and decides whether it is the injected fault.
    fn begin_write(&mut self, key: &str) -> Result<()> {
        self.writes += 1;
        let n = self.writes;
        if self.fail_write == Some(n) || self.fail_writes_after.is_some_and(|after| n > after) {
            return Err(Error::Backend(format!(
                "injected fault on write {n} ({key})"
            )));
        }
        check_key(key)
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_BACKEND_KEY_BYTES {
        return Err(Error::InvalidKey(format!("{} bytes", key.len())));
    }
    Ok(())
}

impl KeyValue for MemoryKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.lock().map.get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        let mut inner = self.lock();
        inner.begin_write(key)?;
        if inner.max_value_bytes.is_some_and(|max| value.len() > max) {
            return Err(Error::TooLarge);
        }
        inner.map.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let mut inner = self.lock();
        inner.begin_write(key)?;
        inner.map.remove(key);
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.lock().map.contains_key(key))
    }

    fn get_keys(&self) -> Result<Vec<String>> {
        let mut inner = self.lock();
        inner.listings += 1;
        Ok(inner.map.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_and_caps() {
        let kv = MemoryKv::new().with_max_value_bytes(3);
        kv.fail_nth_write(2);
        kv.set("a", b"1").unwrap();
        assert!(matches!(kv.set("b", b"2"), Err(Error::Backend(_))));
        assert!(!kv.exists("b").unwrap());
        assert!(matches!(kv.set("c", b"1234"), Err(Error::TooLarge)));
        kv.fail_writes_after(3);
        assert!(kv.delete("a").is_err());
        assert!(kv.exists("a").unwrap());
        kv.clear_faults();
        kv.delete("a").unwrap();
        assert!(kv.is_empty());
        assert_eq!(kv.writes(), 5);
        assert!(matches!(
            kv.set(&"k".repeat(256), b""),
            Err(Error::InvalidKey(_))
        ));
    }
}

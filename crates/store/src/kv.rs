//! The key-value trait the store is written against.
//!
//! It mirrors Spin's `spin_sdk::key_value::Store` (KV 2.0): no transactions, no prefix
//! listing, values capped by the platform. Components implement it over Spin KV; native
//! tests use [`MemoryKv`](crate::MemoryKv).

use crate::Result;
use std::rc::Rc;
use std::sync::Arc;

/// A minimal key-value store: the subset of Spin KV the blob store needs.
pub trait KeyValue {
    /// The value of `key`, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value`, replacing any previous value.
    fn set(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key`; removing an absent key is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Whether `key` is present.
    fn exists(&self, key: &str) -> Result<bool>;
    /// All keys, in no particular order (Spin KV has no prefix listing).
    fn get_keys(&self) -> Result<Vec<String>>;
}

macro_rules! forward_kv {
    ($($ty:ty),*) => {$(
        impl<K: KeyValue + ?Sized> KeyValue for $ty {
            fn get(&self, key: &str) -> Result<Option<Vec<u8>>> { (**self).get(key) }
            fn set(&self, key: &str, value: &[u8]) -> Result<()> { (**self).set(key, value) }
            fn delete(&self, key: &str) -> Result<()> { (**self).delete(key) }
            fn exists(&self, key: &str) -> Result<bool> { (**self).exists(key) }
            fn get_keys(&self) -> Result<Vec<String>> { (**self).get_keys() }
        }
    )*};
}

// So one backend can be shared: `Store<&Kv>`, `Store<Arc<MemoryKv>>` across threads, an
// `Rc<SpinKv>` owned by a streamed response.
forward_kv!(&K, Arc<K>, Rc<K>, Box<K>);

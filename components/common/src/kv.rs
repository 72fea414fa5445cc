//! [`store::KeyValue`] over a Spin key-value store.

use spin_sdk::key_value::{Error as SpinError, Store as SpinStore};
use store::{Error, KeyValue};

/// The Spin store behind the core `store` crate. Opens the `default` label, the only
/// one darkroom's components list in `key_value_stores`.
pub struct SpinKv(SpinStore);

impl SpinKv {
    pub fn open_default() -> Result<Self, Error> {
        SpinStore::open_default().map(Self).map_err(backend)
    }
}

fn backend(err: SpinError) -> Error {
    Error::Backend(format!("key-value: {err:?}"))
}

impl KeyValue for SpinKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.0.get(key).map_err(backend)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        self.0.set(key, value).map_err(backend)
    }
    fn delete(&self, key: &str) -> Result<(), Error> {
        self.0.delete(key).map_err(backend)
    }
    fn exists(&self, key: &str) -> Result<bool, Error> {
        self.0.exists(key).map_err(backend)
    }
    fn get_keys(&self) -> Result<Vec<String>, Error> {
        self.0.get_keys().map_err(backend)
    }
}

/// The app's blob store over Spin KV, with the chunk size from settings.
pub fn open_store(settings: &api::Settings) -> Result<store::Store<SpinKv>, api::ApiError> {
    let kv = SpinKv::open_default()?;
    Ok(store::Store::new(kv, settings.kv_chunk_bytes)?.with_inline(settings.kv_inline_blobs))
}

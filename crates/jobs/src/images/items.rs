//! An image job's items: resolved once at creation (every listed id checked, or the
//! whole listing paged through for `"all"`) and frozen under `job/{id}/items`, so every
//! unit of the job, and every run of it, sees the same images in the same order however
//! the collection changes meanwhile.

use crate::{Error, Result, chunked, keys};
use serde_json::Value;
use store::{KeyValue, Store};

/// Length of an image id (hex SHA-256); the frozen list is ids back to back.
pub const ID_LEN: usize = 64;

/// Listing page size when resolving `"all"`.
const PAGE: usize = 1000;

/// Resolves `input.images` (a list of ids, or `"all"`) to the job's ids. A listed id
/// that names no stored image is [`Error::NotFound`] naming it; repeats are dropped
/// (first kept). `"all"` is every listed image, sorted by id so the same collection
/// always shards the same way. More than `max` images is [`Error::TooLarge`].
pub fn resolve<K: KeyValue>(
    kv: &K,
    images: &Value,
    chunk_size: u32,
    max: u64,
) -> Result<Vec<String>> {
    let store = Store::new(kv, chunk_size.clamp(1, store::MAX_CHUNK_BYTES))?;
    let too_many = |n: u64| {
        Error::TooLarge(format!(
            "input.images: {n} images, more than max_job_images = {max}"
        ))
    };
    let ids = match images {
        Value::String(s) if s == "all" => {
            let mut ids = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = store.list(PAGE, cursor.as_deref())?;
                ids.extend(page.records.into_iter().map(|r| r.id));
                if ids.len() as u64 > max {
                    return Err(too_many(ids.len() as u64));
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        Value::Array(list) => {
            if list.len() as u64 > max {
                return Err(too_many(list.len() as u64));
            }
            let mut seen = std::collections::HashSet::new();
            let mut ids = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let id = v.as_str().ok_or_else(|| {
                    Error::Invalid(format!("input.images[{i}]: must be an image id (a string)"))
                })?;
                let shown: String = id.chars().take(80).collect();
                if !store::is_valid_id(id) || !store.has_image(id)? {
                    return Err(Error::NotFound(format!(
                        "input.images[{i}]: no image {shown:?}"
                    )));
                }
                if seen.insert(id) {
                    ids.push(id.to_owned());
                }
            }
            ids
        }
        _ => {
            return Err(Error::Invalid(
                "input.images: a list of image ids, or \"all\"".into(),
            ));
        }
    };
    if ids.is_empty() {
        return Err(Error::Invalid("input.images: no images to process".into()));
    }
    Ok(ids)
}

/// Writes the frozen list of job `job`.
pub fn freeze<K: KeyValue>(kv: &K, job: &str, ids: &[String], chunk_size: u32) -> Result<()> {
    let mut bytes = Vec::with_capacity(ids.len() * ID_LEN);
    for id in ids {
        debug_assert_eq!(id.len(), ID_LEN);
        bytes.extend_from_slice(id.as_bytes());
    }
    chunked::put(kv, &keys::job_items(job)?, &bytes, chunk_size)
}

/// The frozen list of job `job` (checked against its manifest).
pub fn read<K: KeyValue>(kv: &K, job: &str) -> Result<Vec<String>> {
    let key = keys::job_items(job)?;
    let bytes =
        chunked::get(kv, &key)?.ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?;
    if !bytes.len().is_multiple_of(ID_LEN) {
        return Err(Error::Corrupt(format!("{key} is not a list of ids")));
    }
    bytes
        .chunks(ID_LEN)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .filter(|s| store::is_valid_id(s))
                .map(str::to_owned)
                .ok_or_else(|| Error::Corrupt(format!("{key} holds a bad id")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::MemoryKv;

    #[test]
    fn lists_are_checked_deduplicated_frozen_and_read_back() {
        let kv = MemoryKv::new();
        let ids = crate::testkit::store_images(&kv, 5, 0);
        // "all": every listed image, sorted by id.
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(resolve(&kv, &json!("all"), 1000, 100).unwrap(), sorted);
        // A list keeps its order and drops repeats.
        let list = json!([ids[3], ids[1], ids[3]]);
        assert_eq!(
            resolve(&kv, &list, 1000, 100).unwrap(),
            vec![ids[3].clone(), ids[1].clone()]
        );
        // An unknown id is a 404 naming it; a malformed one too.
        let unknown = "f".repeat(64);
        match resolve(&kv, &json!([ids[0], unknown]), 1000, 100) {
            Err(Error::NotFound(d)) => {
                assert!(d.contains("input.images[1]") && d.contains(&unknown), "{d}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(&kv, &json!(["x"]), 1000, 100),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            resolve(&kv, &json!([1]), 1000, 100),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            resolve(&kv, &json!("some"), 1000, 100),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            resolve(&kv, &json!([]), 1000, 100),
            Err(Error::Invalid(_))
        ));
        // Over the limit: 413, both ways.
        assert!(matches!(
            resolve(&kv, &json!("all"), 1000, 4),
            Err(Error::TooLarge(_))
        ));
        assert!(matches!(
            resolve(&kv, &json!(ids), 1000, 4),
            Err(Error::TooLarge(_))
        ));

        let job = "a".repeat(32);
        freeze(&kv, &job, &sorted, 100).unwrap();
        assert_eq!(read(&kv, &job).unwrap(), sorted);
        // The list stays what it was when frozen, whatever the store does since.
        crate::testkit::store_images(&kv, 7, 100);
        assert_eq!(read(&kv, &job).unwrap(), sorted);
    }
}

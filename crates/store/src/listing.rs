//! The listing index: one key per image, `idx/{rev:020}/{id}`, so concurrent uploads
//! each write their own key and none can lose another's entry (no shared list value).
//!
//! Listing reads all keys (Spin KV has no prefix scan), keeps the `idx/` ones, and sorts:
//! ascending `rev` is newest first. An entry whose `rev` does not match its record's
//! `created_micros` is stale (the image was re-uploaded, or the record replaced) and is
//! skipped, so every image appears once.

use crate::{Error, ImageRecord, KeyValue, Result, Store, keys};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Records, newest first.
    pub records: Vec<ImageRecord>,
    /// Opaque cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Cursor text: `{rev:020}{id}`, i.e. the last listing key returned without separators
/// (URL-safe; clients treat it as opaque).
fn encode_cursor(rev: u64, id: &str) -> String {
    format!("{rev:020}{id}")
}

fn decode_cursor(cursor: &str) -> Result<String> {
    if cursor.len() != 20 + crate::ID_LEN || !cursor.is_ascii() {
        return Err(Error::InvalidCursor);
    }
    let (rev, id) = cursor.split_at(20);
    let key = format!("{}{rev}/{id}", keys::INDEX_PREFIX);
    keys::parse_index(&key).ok_or(Error::InvalidCursor)?;
    Ok(key)
}

impl<K: KeyValue> Store<K> {
    /// Writes the listing entry of `record` (idempotent: the key is the value).
    ///
    /// Call before [`put_record`](Self::put_record), which commits the image: an entry
    /// without a record is skipped by [`list`](Self::list), so an upload that dies
    /// between the two leaves nothing listed.
    pub fn ensure_listed(&self, record: &ImageRecord) -> Result<()> {
        let key = keys::index(record.created_micros, &record.id)?;
        if self.kv.exists(&key)? {
            return Ok(());
        }
        self.kv.set(&key, b"")
    }

    /// Up to `limit` records (at least 1), newest first, after `cursor`.
    pub fn list(&self, limit: usize, cursor: Option<&str>) -> Result<Page> {
        let limit = limit.max(1);
        let after = cursor.map(decode_cursor).transpose()?;
        let mut entries: Vec<String> = self
            .kv
            .get_keys()?
            .into_iter()
            .filter(|k| keys::parse_index(k).is_some())
            .filter(|k| after.as_ref().is_none_or(|a| k > a))
            .collect();
        entries.sort_unstable();

        let mut records = Vec::new();
        let mut last = None;
        let mut remaining = entries.iter();
        for key in remaining.by_ref() {
            let (rev, id) = keys::parse_index(key).expect("filtered above");
            last = Some((rev, id));
            match self.get_record(id) {
                Ok(Some(record)) if keys::rev(record.created_micros) == rev => records.push(record),
                // A damaged record must not hide every other image from the listing.
                Err(Error::Corrupt(_)) => continue,
                Err(e) => return Err(e),
                Ok(_) => continue, // stale entry, or a delete / upload in flight
            }
            if records.len() == limit {
                break;
            }
        }
        let next = match last {
            Some((rev, id)) if remaining.len() > 0 => Some(encode_cursor(rev, id)),
            _ => None,
        };
        Ok(Page { records, next })
    }
}

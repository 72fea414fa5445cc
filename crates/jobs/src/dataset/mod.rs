//! Datasets: CSV (header row) or NDJSON records stored as chunks with a row-offset
//! index, so a shard reads its row range without the rest of the file.

mod csv_records;
pub mod distinct;
mod ingest;
mod rows;

pub use ingest::{
    IngestLimits, chunks_owned, ingest, ingest_stored, ingest_to, is_number, remove_chunks,
    store_chunks,
};
pub use rows::{Rows, read_rows};

use crate::{Error, Result, chunked, keys};
use serde::{Deserialize, Serialize};
use store::KeyValue;

/// The body's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// The format a `Content-Type` names: `text/csv` or `application/x-ndjson`
    /// (`application/jsonl`, `application/json-seq` alike); `None` for anything else.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" => Some(Format::Csv),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// A column's inferred type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Number,
    String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// The record of a stored dataset (`ds/{id}/m`), its commit point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// SHA-256 of the bytes.
    pub id: String,
    pub format: Format,
    /// Data rows (the CSV header not counted).
    pub rows: u64,
    pub bytes: u64,
    pub created_micros: u64,
    pub columns: Vec<Column>,
    /// The upload token its chunks are stored under (`dsc/{upload}/{n}`).
    pub upload: String,
    pub chunk_size: u32,
    /// Each chunk's digest ([`chunk_digest`](crate::chunked::chunk_digest); a bare
    /// SHA-256 in older records), checked by every range read.
    pub chunk_sha: Vec<String>,
    /// Rows between two row-offset index entries.
    pub stride: u32,
    /// Byte offset of the first data row.
    pub data_start: u64,
    /// Each column's approximate distinct count ([`distinct`]; empty in older records
    /// and for NDJSON): what an `aggregate` sizes its reduce by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distinct: Vec<u64>,
}

impl Dataset {
    pub fn column(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    /// The row-offset index (`ds/{id}/idx`).
    pub fn index<K: KeyValue>(&self, kv: &K) -> Result<Vec<u64>> {
        let raw = kv
            .get(&keys::dataset_index(&self.id)?)?
            .ok_or_else(|| Error::Corrupt(format!("dataset {} has no index", self.id)))?;
        if raw.len() % 8 != 0 {
            return Err(Error::Corrupt(format!(
                "dataset {} index has a bad length",
                self.id
            )));
        }
        Ok(raw
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }

    /// Stored chunk `n`, checked against its hash.
    pub fn chunk<K: KeyValue>(&self, kv: &K, n: u32) -> Result<Vec<u8>> {
        let key = keys::dataset_chunk(&self.upload, n)?;
        let bytes = kv
            .get(&key)?
            .ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?;
        if self
            .chunk_sha
            .get(n as usize)
            .is_none_or(|digest| !crate::chunked::chunk_matches(&bytes, digest))
        {
            return Err(Error::Corrupt(format!("{key} fails its checksum")));
        }
        Ok(bytes)
    }

    /// Reads the whole file, chunk by chunk, into `out` (for `GET /datasets/{id}`).
    pub fn read_all<K: KeyValue>(&self, kv: &K, out: &mut impl std::io::Write) -> Result<()> {
        let mut reader =
            chunked::RangeReader::new(kv, self.chunk_size, &self.chunk_sha, 0..self.bytes, |n| {
                keys::dataset_chunk(&self.upload, n)
            });
        std::io::copy(&mut reader, out).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(())
    }
}

/// The dataset `id`, `None` when absent (or when `id` is not a dataset id).
pub fn get<K: KeyValue>(kv: &K, id: &str) -> Result<Option<Dataset>> {
    crate::state::read_by_id(kv, keys::dataset_record(id))
}

/// One page of datasets, newest first; `next` continues after the last one.
pub fn list<K: KeyValue>(
    kv: &K,
    limit: usize,
    after: Option<&str>,
) -> Result<(Vec<Dataset>, Option<String>)> {
    keys::page(kv, keys::DATASET_LIST_PREFIX, limit, after, |id| {
        get(kv, id)
    })
}

/// Deletes dataset `id`: the record first (readers see it gone at once), then its
/// listing entry, index and chunks. `false` when there was nothing.
pub fn delete<K: KeyValue>(kv: &K, id: &str) -> Result<bool> {
    let Some(ds) = get(kv, id)? else {
        return Ok(false);
    };
    kv.delete(&keys::dataset_record(id)?)?;
    kv.delete(&keys::dataset_listing(ds.created_micros, id)?)?;
    kv.delete(&keys::dataset_index(id)?)?;
    for n in 0..ds.chunk_sha.len() {
        kv.delete(&keys::dataset_chunk(&ds.upload, n as u32)?)?;
    }
    Ok(true)
}

//! Reading a row range of a stored dataset through its row-offset index.

use super::csv_records::CsvRecords;
use super::{Dataset, Format};
use crate::chunked::RangeReader;
use crate::{Error, Result, keys};
use std::io::{BufRead, BufReader};
use std::ops::Range;
use store::KeyValue;

/// A row handed to a task: its cells in the dataset's column order.
pub type Rows<'a> = &'a [&'a str];

/// Calls `f` with every row in `range` (0-based data rows), reading only the chunks
/// that hold them: from the index entry at or before the range's start to the entry
/// after its end.
pub fn read_rows<K: KeyValue>(
    kv: &K,
    ds: &Dataset,
    index: &[u64],
    range: Range<u64>,
    mut f: impl FnMut(Rows<'_>) -> Result<()>,
) -> Result<()> {
    let range = range.start.min(ds.rows)..range.end.min(ds.rows);
    if range.is_empty() {
        return Ok(());
    }
    let stride = u64::from(ds.stride.max(1));
    let block = (range.start / stride) as usize;
    let start = *index
        .get(block)
        .ok_or_else(|| Error::Corrupt("row index too short".into()))?;
    let end = index
        .get(range.end.div_ceil(stride) as usize)
        .copied()
        .unwrap_or(ds.bytes);
    let mut skip = range.start - block as u64 * stride;
    let mut left = range.end - range.start;
    let reader = RangeReader::new(kv, ds.chunk_size, &ds.chunk_sha, start..end, |n| {
        keys::dataset_chunk(&ds.upload, n)
    });
    let io = |e: std::io::Error| match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(err)) => *err,
        Some(Err(other)) => Error::Corrupt(other.to_string()),
        None => Error::Corrupt("dataset read failed".into()),
    };
    match ds.format {
        Format::Csv => {
            let mut records = CsvRecords::new(reader);
            records
                .for_each(io, |rec| {
                    if skip > 0 {
                        skip -= 1;
                        return Ok(true);
                    }
                    f(rec.cells)?;
                    left -= 1;
                    Ok(left > 0)
                })
                .map_err(|e| match e {
                    Error::BadData { .. } => Error::corrupt("stored row", e),
                    other => other,
                })?;
            if left > 0 {
                return Err(Error::Corrupt(
                    "the dataset ends before its row count".into(),
                ));
            }
        }
        Format::Ndjson => {
            let mut lines = BufReader::with_capacity(64 << 10, reader);
            let mut line = Vec::new();
            let mut cells: Vec<String> = vec![String::new(); ds.columns.len()];
            while left > 0 {
                line.clear();
                if lines.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    return Err(Error::Corrupt(
                        "the dataset ends before its row count".into(),
                    ));
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&line).map_err(|e| Error::corrupt("stored row", e))?;
                for (cell, column) in cells.iter_mut().zip(&ds.columns) {
                    cell.clear();
                    match object.get(&column.name) {
                        None | Some(serde_json::Value::Null) => {}
                        Some(serde_json::Value::String(s)) => cell.push_str(s),
                        Some(other) => cell.push_str(&other.to_string()),
                    }
                }
                let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                f(&refs)?;
                left -= 1;
            }
        }
    }
    Ok(())
}

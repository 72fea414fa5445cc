//! Streaming validation of a CSV or NDJSON body while its bytes go into chunks.
//!
//! The body is read once: a [`Tee`] hands every byte both to the parser and to a
//! [`ChunkWriter`], enforcing the byte and line limits as it goes. Nothing becomes
//! visible until the record is written last; a refused body has its chunks removed.

use super::csv_records::{self, CsvRecords};
use super::distinct::Distinct;
use super::{Column, ColumnType, Dataset, Format};
use crate::chunked::{ChunkSink, ChunkWriter};
use crate::{Error, Result, keys};
use std::io::{BufRead, BufReader, Read};
use store::KeyValue;

/// Limits of one ingest.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Largest body accepted (`max_dataset_bytes`).
    pub max_bytes: u64,
    /// Longest physical line accepted (`max_dataset_line_bytes`).
    pub max_line_bytes: u64,
    /// Most columns accepted.
    pub max_columns: usize,
    /// Chunk size in the KV (`kv_chunk_bytes`).
    pub chunk_size: u32,
    /// Rows between two entries of the row-offset index.
    pub stride: u32,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_line_bytes: 1 << 20,
            max_columns: 1000,
            chunk_size: 1_000_000,
            stride: 1024,
        }
    }
}

/// Validates and stores a dataset; answers it and whether it is new (`false`: the same
/// bytes were stored already, and this upload's chunks were removed again).
pub fn ingest<K: KeyValue, R: Read>(
    kv: &K,
    body: R,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
) -> Result<(Dataset, bool)> {
    ingest_chunks(kv, body, format, upload, limits, created_micros, false)
}

/// [`ingest`] of a body already stored as the chunks `dsc/{upload}/{n}` of
/// `limits.chunk_size` bytes (a resumable upload's parts, which `body` reads back): the
/// same checks, limits and answer, and the chunks become the dataset's without being
/// written again. A refused body's chunks stay where they are, for their owner to remove.
pub fn ingest_stored<K: KeyValue, R: Read>(
    kv: &K,
    body: R,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
) -> Result<(Dataset, bool)> {
    ingest_chunks(kv, body, format, upload, limits, created_micros, true)
}

fn ingest_chunks<K: KeyValue, R: Read>(
    kv: &K,
    body: R,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
    in_place: bool,
) -> Result<(Dataset, bool)> {
    keys::dataset_chunk(upload, 0)?;
    let key = move |n| keys::dataset_chunk(upload, n);
    let writer = if in_place {
        ChunkWriter::in_place(kv, limits.chunk_size, key)
    } else {
        ChunkWriter::new(kv, limits.chunk_size, key)
    };
    ingest_into(kv, body, writer, format, upload, limits, created_micros)
}

/// [`ingest`] with the bytes going to `sink` (which stores them as the chunks
/// `dsc/{upload}/{n}` of `sink.chunk_size()` bytes) instead of this instance's writer.
pub fn ingest_to<K: KeyValue, R: Read, W: ChunkSink>(
    kv: &K,
    body: R,
    sink: W,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
) -> Result<(Dataset, bool)> {
    keys::dataset_chunk(upload, 0)?;
    ingest_into(kv, body, sink, format, upload, limits, created_micros)
}

/// What a store helper does for [`ingest_to`]: stores `body` as the chunks
/// `dsc/{upload}/{n}`, hashing it, without parsing it; answers (size, SHA-256, chunk
/// digests). A failed or oversized body has its chunks removed.
pub fn store_chunks<K: KeyValue, R: Read>(
    kv: &K,
    mut body: R,
    upload: &str,
    limits: &IngestLimits,
) -> Result<(u64, String, Vec<String>)> {
    keys::dataset_chunk(upload, 0)?;
    let mut writer = ChunkWriter::new(kv, limits.chunk_size, move |n| {
        keys::dataset_chunk(upload, n)
    });
    let (mut buf, mut size) = (vec![0u8; 256 << 10], 0u64);
    let stored = loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break writer.finish(),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // The ingest stopped sending (it refused the body): not a fault here.
            Err(e) => break Err(Error::Invalid(format!("the body was cut off: {e}"))),
        };
        size += n as u64;
        if size > limits.max_bytes {
            break Err(over_max_bytes(limits.max_bytes));
        }
        if let Err(e) = writer.write(&buf[..n]) {
            break Err(e);
        }
    };
    if stored.is_err() {
        remove_chunks(kv, upload, chunks_owned(size, limits.chunk_size));
    }
    stored
}

fn over_max_bytes(max_bytes: u64) -> Error {
    Error::TooLarge(format!(
        "the dataset exceeds max_dataset_bytes ({max_bytes} bytes)"
    ))
}

/// How many chunks an upload that stopped after `bytes` bytes may own: the last one may
/// or may not have been written when it stopped.
pub fn chunks_owned(bytes: u64, chunk_size: u32) -> u64 {
    bytes / u64::from(chunk_size.max(1)) + 1
}

/// Removes the chunks `dsc/{upload}/0..count` (best effort; absent ones are fine): what
/// a refused upload, a failed one or a second copy of stored bytes leaves behind.
pub fn remove_chunks<K: KeyValue>(kv: &K, upload: &str, count: u64) {
    for n in 0..count {
        if let Ok(key) = keys::dataset_chunk(upload, n as u32) {
            let _ = kv.delete(&key);
        }
    }
}

fn ingest_into<K: KeyValue, R: Read, W: ChunkSink>(
    kv: &K,
    body: R,
    writer: W,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
) -> Result<(Dataset, bool)> {
    let tee = Tee::new(body, writer, limits);
    let (parsed, tee) = match format {
        Format::Csv => parse_csv(tee, limits),
        Format::Ndjson => parse_ndjson(tee, limits),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            tee.writer.abort();
            return Err(e);
        }
    };
    commit(
        kv,
        tee.writer,
        parsed,
        format,
        upload,
        limits,
        created_micros,
    )
}

fn commit<K: KeyValue, W: ChunkSink>(
    kv: &K,
    writer: W,
    parsed: Parsed,
    format: Format,
    upload: &str,
    limits: &IngestLimits,
    created_micros: u64,
) -> Result<(Dataset, bool)> {
    let chunk_size = writer.chunk_size();
    let (bytes, id, chunk_sha) = match writer.finish() {
        Ok(done) => done,
        Err(e) => {
            remove_chunks(kv, upload, chunks_owned(parsed.bytes_seen, chunk_size));
            return Err(e);
        }
    };
    if let Some(existing) = super::get(kv, &id)? {
        remove_chunks(kv, upload, chunk_sha.len() as u64);
        return Ok((existing, false));
    }
    let dataset = Dataset {
        id: id.clone(),
        format,
        rows: parsed.rows,
        bytes,
        created_micros,
        columns: parsed.columns,
        upload: upload.to_owned(),
        chunk_size,
        chunk_sha,
        stride: limits.stride,
        data_start: parsed.data_start,
        distinct: parsed.distinct,
    };
    let index: Vec<u8> = parsed.index.iter().flat_map(|o| o.to_le_bytes()).collect();
    let listing = keys::dataset_listing(created_micros, &id)?;
    let (index_key, record_key) = (keys::dataset_index(&id)?, keys::dataset_record(&id)?);
    let written = kv
        .set(&index_key, &index)
        .and_then(|()| kv.set(&listing, b""))
        .and_then(|()| {
            kv.set(
                &record_key,
                &serde_json::to_vec(&dataset).expect("record serialises"),
            )
        });
    if let Err(e) = written {
        let _ = kv.delete(&listing);
        let _ = kv.delete(&index_key);
        remove_chunks(kv, upload, dataset.chunk_sha.len() as u64);
        return Err(e.into());
    }
    Ok((dataset, true))
}

/// What parsing found.
struct Parsed {
    rows: u64,
    columns: Vec<Column>,
    index: Vec<u64>,
    data_start: u64,
    bytes_seen: u64,
    /// Per column, when the parser counted them.
    distinct: Vec<u64>,
}

impl Parsed {
    /// What a parser found: `rows` rows, one column per name with its inferred type.
    fn new(
        rows: u64,
        names: Vec<String>,
        infer: &[Infer],
        index: Vec<u64>,
        data_start: u64,
    ) -> Self {
        let columns = names
            .into_iter()
            .zip(infer)
            .map(|(n, inf)| inf.column(n))
            .collect();
        Parsed {
            rows,
            columns,
            index,
            data_start,
            bytes_seen: 0,
            distinct: Vec::new(),
        }
    }
}

/// Per-column type inference: a column is a number when it has a value and every
/// non-empty value is one.
#[derive(Default, Clone)]
struct Infer {
    seen: bool,
    all_numbers: bool,
}

impl Infer {
    fn new() -> Self {
        Self {
            seen: false,
            all_numbers: true,
        }
    }
    fn see(&mut self, value: &str) {
        if !value.is_empty() {
            self.seen = true;
            // A column known to hold text needs no more number checks.
            self.all_numbers = self.all_numbers && is_number(value);
        }
    }
    fn column(&self, name: String) -> Column {
        let kind = if self.seen && self.all_numbers {
            ColumnType::Number
        } else {
            ColumnType::String
        };
        Column { name, kind }
    }
}

/// `-?digits(.digits)?([eE][+-]?digits)?`: what both `rust_decimal` and `f64` read,
/// and no `inf`/`NaN`.
pub fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-') || b.first() == Some(&b'+'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    let mut frac = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac = digits(&mut i);
    }
    if int + frac == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse_csv<R: Read, W: ChunkSink>(
    tee: Tee<R, W>,
    limits: &IngestLimits,
) -> (Result<Parsed>, Tee<R, W>) {
    let mut records = CsvRecords::new(tee);
    let mut names: Vec<String> = Vec::new();
    let mut infer: Vec<Infer> = Vec::new();
    let mut sketches: Vec<Distinct> = Vec::new();
    let (mut rows, mut index, mut data_start) = (0u64, Vec::new(), None);
    let result = records.for_each(
        |e| Error::Corrupt(format!("io: {e}")),
        |rec| {
            if data_start.is_none() {
                names = header(rec.cells, limits)?;
                infer = vec![Infer::new(); names.len()];
                sketches = vec![Distinct::default(); names.len()];
                data_start = Some(rec.end);
                return Ok(true);
            }
            if rec.cells.len() != names.len() {
                return Err(bad(
                    rec.line,
                    rec.cells.len().min(names.len()),
                    format!(
                        "the header has {} fields, this row {}",
                        names.len(),
                        rec.cells.len()
                    ),
                ));
            }
            for ((inf, sketch), cell) in infer.iter_mut().zip(&mut sketches).zip(rec.cells) {
                inf.see(cell);
                sketch.see(cell.as_bytes());
            }
            if rows % u64::from(limits.stride) == 0 {
                index.push(rec.start);
            }
            rows += 1;
            Ok(true)
        },
    );
    let open_quote = records.open_quote();
    let tee = records.into_inner();
    let result = result.and_then(|()| {
        let Some(data_start) = data_start else {
            return Err(Error::BadData {
                line: 1,
                column: None,
                reason: "the body is empty".into(),
            });
        };
        if rows == 0 {
            return Err(Error::BadData {
                line: 2,
                column: None,
                reason: "the header row is not followed by any data row".into(),
            });
        }
        let mut parsed = Parsed::new(rows, names, &infer, index, data_start);
        parsed.bytes_seen = tee.bytes;
        parsed.distinct = sketches.iter().map(Distinct::estimate).collect();
        Ok(parsed)
    });
    (result.map_err(|e| tee.explain(e, open_quote)), tee)
}

/// The header's column names: distinct, at most `max_columns`.
fn header(cells: &[&str], limits: &IngestLimits) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(cells.len());
    for (i, &name) in cells.iter().enumerate() {
        if names.iter().any(|n| n == name) {
            return Err(bad(1, i, format!("the header names column {name:?} twice")));
        }
        names.push(name.to_owned());
    }
    if names.len() > limits.max_columns {
        return Err(bad(
            1,
            limits.max_columns,
            format!("more than {} columns", limits.max_columns),
        ));
    }
    Ok(names)
}

fn bad(line: u64, field_index: usize, reason: String) -> Error {
    Error::BadData {
        line,
        column: Some(field_index as u64 + 1),
        reason,
    }
}

fn parse_ndjson<R: Read, W: ChunkSink>(
    tee: Tee<R, W>,
    limits: &IngestLimits,
) -> (Result<Parsed>, Tee<R, W>) {
    let mut reader = BufReader::with_capacity(64 << 10, tee);
    let result = ndjson_records(&mut reader, limits);
    let tee = reader.into_inner();
    let result = result.map_err(|e| tee.explain(e, None));
    (
        result.map(|mut p| {
            p.bytes_seen = tee.bytes;
            p
        }),
        tee,
    )
}

fn ndjson_records<R: BufRead>(reader: &mut R, limits: &IngestLimits) -> Result<Parsed> {
    let mut names: Vec<String> = Vec::new();
    let mut infer: Vec<Infer> = Vec::new();
    let (mut rows, mut index, mut offset, mut line_no) = (0u64, Vec::new(), 0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::Corrupt(format!("io: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let start = offset;
        offset += n as u64;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&line)
            .map_err(|e| Error::BadData {
                line: line_no,
                column: Some(e.column() as u64),
                reason: format!("not a JSON object: {e}"),
            })?;
        for (key, value) in &object {
            let i = match names.iter().position(|n| n == key) {
                Some(i) => i,
                None if names.len() < limits.max_columns => {
                    names.push(key.clone());
                    infer.push(Infer::new());
                    names.len() - 1
                }
                None => {
                    return Err(Error::BadData {
                        line: line_no,
                        column: None,
                        reason: format!("more than {} distinct keys", limits.max_columns),
                    });
                }
            };
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::Number(_) => infer[i].seen = true,
                _ => {
                    infer[i].seen = true;
                    infer[i].all_numbers = false;
                }
            }
        }
        if rows % u64::from(limits.stride) == 0 {
            index.push(start);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::BadData {
            line: 1,
            column: None,
            reason: "the body is empty".into(),
        });
    }
    Ok(Parsed::new(rows, names, &infer, index, 0))
}

/// Passes the body through to the parser while storing it in chunks and enforcing the
/// byte and line limits.
struct Tee<R, W> {
    inner: R,
    writer: W,
    max_bytes: u64,
    max_line: u64,
    bytes: u64,
    line: u64,
    /// Bytes of the current line so far.
    column: u64,
    failure: Option<Error>,
}

impl<R: Read, W: ChunkSink> Tee<R, W> {
    fn new(inner: R, writer: W, limits: &IngestLimits) -> Self {
        Self {
            inner,
            writer,
            max_bytes: limits.max_bytes,
            max_line: limits.max_line_bytes,
            bytes: 0,
            line: 1,
            column: 0,
            failure: None,
        }
    }

    /// The error to report: a limit or store failure the tee saw wins over what the
    /// parser made of the aborted read.
    fn explain(&self, parser: Error, open_quote: Option<(u64, u64)>) -> Error {
        match &self.failure {
            Some(Error::TooLarge(d)) => Error::TooLarge(d.clone()),
            Some(Error::Store(e)) => Error::Store(clone_store(e)),
            Some(other) => Error::Corrupt(other.to_string()),
            // A quote still open at or before the bad row swallowed its delimiters:
            // the quote is the error to name, not the field count it caused.
            None => match (parser, open_quote) {
                (Error::BadData { line, .. }, Some((quote_line, column))) if quote_line <= line => {
                    csv_records::never_closed(quote_line, column)
                }
                (parser, _) => parser,
            },
        }
    }

    fn scan(&mut self, bytes: &[u8]) -> Result<()> {
        self.bytes += bytes.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(over_max_bytes(self.max_bytes));
        }
        let mut from = 0;
        for newline in memchr::memchr_iter(b'\n', bytes)
            .map(Some)
            .chain(std::iter::once(None))
        {
            self.column += (newline.unwrap_or(bytes.len()) - from) as u64;
            if self.column > self.max_line {
                return Err(Error::TooLarge(format!(
                    "line {} is longer than max_dataset_line_bytes ({} bytes)",
                    self.line, self.max_line
                )));
            }
            if let Some(n) = newline {
                self.line += 1;
                self.column = 0;
                from = n + 1;
            }
        }
        self.writer.write(bytes)
    }
}

fn clone_store(e: &store::Error) -> store::Error {
    match e {
        store::Error::Backend(d) => store::Error::Backend(d.clone()),
        store::Error::TooLarge => store::Error::TooLarge,
        other => store::Error::Corrupt(other.to_string()),
    }
}

impl<R: Read, W: ChunkSink> Read for Tee<R, W> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.failure.is_some() {
            return Err(std::io::Error::other("ingest stopped"));
        }
        let n = self.inner.read(out)?;
        if let Err(e) = self.scan(&out[..n]) {
            self.failure = Some(e);
            return Err(std::io::Error::other("ingest stopped"));
        }
        Ok(n)
    }
}

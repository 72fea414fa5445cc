//! Values larger than one KV value, split into chunks under a key prefix.
//!
//! The same commit rule as `store`'s blobs: chunks first, a manifest last, so a reader
//! sees either nothing or every chunk. Job outputs are deterministic, so two writers of
//! one value write the same bytes and the last manifest is as good as the first.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use store::blob::INLINE;
use store::{BlobManifest, KeyValue};

/// A chunk's integrity digest, checked each time a shard reads it: the store's fast
/// one ([`store::fast_digest`]); the dataset as a whole keeps its SHA-256 (its id).
pub use store::{digest_matches as chunk_matches, fast_digest as chunk_digest};

// A value under one chunk is stored whole in its `{prefix}/m` key, framed as a small
// blob is ([`store::blob::inline_frame`]: [`INLINE`], a header, a newline, the bytes),
// its header its [`chunk_digest`].
//
// Why: most job values (a shard's partial, a reduce's output for a few groups) are far
// below one chunk, and a chunk plus a manifest is two store commits where this is one.
// Under Spin's SQLite store a commit is a journal written, four `fsync`s and a journal
// removed, so a 10-shard job spent ~11 of its ~46 commits on chunks of small values.

/// The length of a [`chunk_digest`]: `xxh3:` and 16 hex digits.
const INLINE_DIGEST_LEN: usize = 21;

/// Writes `bytes` under `prefix`: in one key when they fit in one (see [`INLINE`]), else as
/// `{prefix}/0..n` and then `{prefix}/m`.
pub fn put<K: KeyValue>(kv: &K, prefix: &str, bytes: &[u8], chunk_size: u32) -> Result<()> {
    let mut writer = ValueWriter::new(kv, prefix, chunk_size);
    writer.chunks.write(bytes)?;
    writer.commit()
}

/// Whether the value under `prefix` is committed.
pub fn exists<K: KeyValue>(kv: &K, prefix: &str) -> Result<bool> {
    Ok(kv.exists(&format!("{prefix}/m"))?)
}

/// The value under `prefix`, verified against its manifest; `None` when not committed.
pub fn get<K: KeyValue>(kv: &K, prefix: &str) -> Result<Option<Vec<u8>>> {
    reader(kv, prefix)?.map(ValueReader::read_all).transpose()
}

/// Deletes the value under `prefix` (manifest first); absent is fine.
pub fn delete<K: KeyValue>(kv: &K, prefix: &str) -> Result<()> {
    let chunks = match kv.get(&format!("{prefix}/m"))? {
        Some(raw) => serde_json::from_slice::<BlobManifest>(&raw).map_or(0, |m| m.chunks),
        None => 0,
    };
    kv.delete(&format!("{prefix}/m"))?;
    for n in 0..chunks {
        kv.delete(&format!("{prefix}/{n}"))?;
    }
    Ok(())
}

/// Where a dataset ingest sends the bytes it parses: [`ChunkWriter`] stores and hashes them
/// in this instance; the `jobs` component hands them to another instance that stores and
/// hashes them while this one parses (a second core for one upload).
pub trait ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Every byte is stored: (size, SHA-256 of the whole, [`chunk_digest`] per chunk).
    fn finish(self) -> Result<(u64, String, Vec<String>)>;
    /// Stops, and removes every chunk written so far (best effort).
    fn abort(self);
    fn chunk_size(&self) -> u32;
}

impl<K: KeyValue> ChunkSink for ChunkWriter<'_, K> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        ChunkWriter::write(self, bytes)
    }

    fn finish(self) -> Result<(u64, String, Vec<String>)> {
        ChunkWriter::finish(self)
    }

    fn abort(self) {
        ChunkWriter::abort(&self)
    }

    fn chunk_size(&self) -> u32 {
        ChunkWriter::chunk_size(self)
    }
}

/// Streams bytes into fixed-size chunks as they arrive, hashing the whole (SHA-256) and
/// each chunk ([`chunk_digest`]),
/// so an ingest never holds more than one chunk.
pub struct ChunkWriter<'a, K: KeyValue> {
    kv: &'a K,
    key: Box<dyn Fn(u32) -> Result<String> + 'a>,
    chunk_size: usize,
    buf: Vec<u8>,
    written: u32,
    size: u64,
    whole: Sha256,
    chunk_sha: Vec<String>,
    /// The chunks are stored already (a resumable upload's parts): hash, never write.
    in_place: bool,
}

impl<'a, K: KeyValue> ChunkWriter<'a, K> {
    /// A writer over bytes already stored at `key(n)` in chunks of `chunk_size`: it
    /// hashes them as [`new`](Self::new) would, and writes and removes nothing.
    pub fn in_place(kv: &'a K, chunk_size: u32, key: impl Fn(u32) -> Result<String> + 'a) -> Self {
        Self {
            in_place: true,
            ..Self::new(kv, chunk_size, key)
        }
    }

    pub fn new(kv: &'a K, chunk_size: u32, key: impl Fn(u32) -> Result<String> + 'a) -> Self {
        let chunk_size = chunk_size.max(1) as usize;
        Self {
            kv,
            key: Box::new(key),
            chunk_size,
            buf: Vec::with_capacity(chunk_size),
            written: 0,
            size: 0,
            whole: Sha256::new(),
            chunk_sha: Vec::new(),
            in_place: false,
        }
    }

    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        self.whole.update(bytes);
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (self.chunk_size - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == self.chunk_size {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if !self.in_place {
            self.kv.set(&(self.key)(self.written)?, &self.buf)?;
        }
        self.chunk_sha.push(chunk_digest(&self.buf));
        self.written += 1;
        self.buf.clear();
        Ok(())
    }

    /// Writes the last chunk; answers (size, SHA-256 of everything, [`chunk_digest`] per chunk).
    pub fn finish(mut self) -> Result<(u64, String, Vec<String>)> {
        self.flush()?;
        Ok((
            self.size,
            hex::encode(self.whole.clone().finalize()),
            std::mem::take(&mut self.chunk_sha),
        ))
    }

    /// Removes every chunk written so far (best effort): an ingest that failed leaves nothing.
    pub fn abort(&self) {
        if self.in_place {
            return;
        }
        for n in 0..self.written {
            if let Ok(key) = (self.key)(n) {
                let _ = self.kv.delete(&key);
            }
        }
    }

    pub fn chunk_size(&self) -> u32 {
        self.chunk_size as u32
    }
}

/// Writes a value under `prefix` as it is produced (chunks as they fill, the manifest on
/// [`commit`](Self::commit)), so a reduce that merges streams never holds its output.
pub struct ValueWriter<'a, K: KeyValue> {
    kv: &'a K,
    prefix: String,
    chunks: ChunkWriter<'a, K>,
}

impl<'a, K: KeyValue> ValueWriter<'a, K> {
    pub fn new(kv: &'a K, prefix: &str, chunk_size: u32) -> Self {
        let base = prefix.to_owned();
        Self {
            kv,
            prefix: prefix.to_owned(),
            chunks: ChunkWriter::new(kv, chunk_size, move |n| Ok(format!("{base}/{n}"))),
        }
    }

    /// Writes the last chunk and then the manifest: the value's commit point. A value that
    /// never filled a chunk goes whole into the manifest's key instead ([`INLINE`]).
    pub fn commit(self) -> Result<()> {
        let chunk_size = self.chunks.chunk_size();
        let inline_len = 1 + INLINE_DIGEST_LEN + 1 + self.chunks.buf.len();
        if self.chunks.written == 0 && inline_len <= self.chunks.chunk_size {
            let digest = chunk_digest(&self.chunks.buf);
            debug_assert_eq!(digest.len(), INLINE_DIGEST_LEN);
            let value = store::blob::inline_frame(digest.as_bytes(), &self.chunks.buf);
            self.kv.set(&format!("{}/m", self.prefix), &value)?;
            return Ok(());
        }
        let (size, sha256, chunk_sha) = self.chunks.finish()?;
        let manifest = BlobManifest {
            size,
            chunks: chunk_sha.len() as u32,
            chunk_size,
            content_type: "application/json".into(),
            sha256,
            digest: None,
            dims: None,
            made_from: None,
            parts: None,
            inline: false,
        };
        self.kv.set(
            &format!("{}/m", self.prefix),
            &serde_json::to_vec(&manifest).expect("manifest serialises"),
        )?;
        Ok(())
    }
}

impl<K: KeyValue> std::io::Write for ValueWriter<'_, K> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.chunks.write(bytes).map_err(std::io::Error::other)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a committed value one chunk at a time (so merging many values holds one chunk
/// of each), checking the size and SHA-256 of the whole when the last byte is read (a
/// value stored whole in its manifest's key is checked against its digest at once).
pub struct ValueReader<K: KeyValue> {
    kv: K,
    prefix: String,
    /// `None` for a value stored whole in its manifest's key: it is all in `chunk`,
    /// checked already, with nothing to fetch.
    manifest: Option<BlobManifest>,
    next: u32,
    chunk: Vec<u8>,
    at: usize,
    read: u64,
    whole: Sha256,
}

/// A reader of the value under `prefix`; `None` when it is not committed.
pub fn reader<K: KeyValue>(kv: K, prefix: &str) -> Result<Option<ValueReader<K>>> {
    let Some(raw) = kv.get(&format!("{prefix}/m"))? else {
        return Ok(None);
    };
    if raw.first() == Some(&INLINE) {
        return inline_reader(kv, prefix, raw).map(Some);
    }
    let manifest: BlobManifest =
        serde_json::from_slice(&raw).map_err(|e| Error::corrupt(prefix, e))?;
    Ok(Some(ValueReader {
        kv,
        prefix: prefix.to_owned(),
        manifest: Some(manifest),
        next: 0,
        chunk: Vec::new(),
        at: 0,
        read: 0,
        whole: Sha256::new(),
    }))
}

/// A reader over a value stored whole in its manifest's key ([`INLINE`]), checked first.
fn inline_reader<K: KeyValue>(kv: K, prefix: &str, mut raw: Vec<u8>) -> Result<ValueReader<K>> {
    let damaged = || Error::Corrupt(format!("{prefix} fails its checksum"));
    let (header, at) = store::blob::inline_header(&raw).ok_or_else(damaged)?;
    let digest = std::str::from_utf8(header).map_err(|_| damaged())?.to_owned();
    let bytes = raw.split_off(at);
    if !chunk_matches(&bytes, &digest) {
        return Err(damaged());
    }
    Ok(ValueReader {
        kv,
        prefix: prefix.to_owned(),
        manifest: None,
        next: 0,
        read: 0,
        chunk: bytes,
        at: 0,
        whole: Sha256::new(),
    })
}

impl<K: KeyValue> ValueReader<K> {
    /// The whole value, checked like a streamed read.
    pub fn read_all(mut self) -> Result<Vec<u8>> {
        let size = match &self.manifest {
            Some(manifest) => {
                usize::try_from(manifest.size).map_err(|e| Error::corrupt(&self.prefix, e))?
            }
            None => self.chunk.len(),
        };
        let mut bytes = Vec::with_capacity(size.min(64 << 20));
        bytes.append(&mut self.chunk);
        while self.advance()? {
            bytes.append(&mut self.chunk);
        }
        Ok(bytes)
    }

    /// Loads the next chunk; `false` at the end, after checking the whole value.
    fn advance(&mut self) -> Result<bool> {
        let Some(manifest) = &self.manifest else {
            return Ok(false);
        };
        if self.next >= manifest.chunks {
            if self.read != manifest.size
                || hex::encode(self.whole.clone().finalize()) != manifest.sha256
            {
                return Err(Error::Corrupt(format!(
                    "{} fails its checksum",
                    self.prefix
                )));
            }
            return Ok(false);
        }
        let key = format!("{}/{}", self.prefix, self.next);
        self.chunk = self
            .kv
            .get(&key)?
            .ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?;
        self.whole.update(&self.chunk);
        self.read += self.chunk.len() as u64;
        self.next += 1;
        self.at = 0;
        Ok(true)
    }
}

impl<K: KeyValue> std::io::Read for ValueReader<K> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.chunk.len() {
            if out.is_empty() || !self.advance().map_err(std::io::Error::other)? {
                return Ok(0);
            }
        }
        let take = (self.chunk.len() - self.at).min(out.len());
        out[..take].copy_from_slice(&self.chunk[self.at..self.at + take]);
        self.at += take;
        Ok(take)
    }
}

/// Reads bytes `start..end` of a chunked value whose chunk hashes are known, fetching
/// one chunk at a time and checking each, so a shard reads its rows without the file.
pub struct RangeReader<'a, K: KeyValue> {
    kv: &'a K,
    key: Box<dyn Fn(u32) -> Result<String> + 'a>,
    chunk_size: u64,
    chunk_sha: &'a [String],
    pos: u64,
    end: u64,
    current: Option<(u32, Vec<u8>)>,
}

impl<'a, K: KeyValue> RangeReader<'a, K> {
    pub fn new(
        kv: &'a K,
        chunk_size: u32,
        chunk_sha: &'a [String],
        range: std::ops::Range<u64>,
        key: impl Fn(u32) -> Result<String> + 'a,
    ) -> Self {
        Self {
            kv,
            key: Box::new(key),
            chunk_size: u64::from(chunk_size.max(1)),
            chunk_sha,
            pos: range.start,
            end: range.end,
            current: None,
        }
    }

    fn chunk(&mut self, n: u32) -> Result<&[u8]> {
        if self.current.as_ref().is_none_or(|(have, _)| *have != n) {
            let key = (self.key)(n)?;
            let bytes = self
                .kv
                .get(&key)?
                .ok_or_else(|| Error::Corrupt(format!("{key} is missing")))?;
            if self
                .chunk_sha
                .get(n as usize)
                .is_none_or(|digest| !chunk_matches(&bytes, digest))
            {
                return Err(Error::Corrupt(format!("{key} fails its checksum")));
            }
            self.current = Some((n, bytes));
        }
        Ok(&self.current.as_ref().expect("just set").1)
    }
}

impl<K: KeyValue> std::io::Read for RangeReader<'_, K> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end || out.is_empty() {
            return Ok(0);
        }
        let (n, offset) = (
            (self.pos / self.chunk_size) as u32,
            (self.pos % self.chunk_size) as usize,
        );
        let remaining = (self.end - self.pos) as usize;
        let chunk = self.chunk(n).map_err(std::io::Error::other)?;
        let available = chunk.len().saturating_sub(offset);
        if available == 0 {
            return Err(std::io::Error::other(Error::Corrupt(format!(
                "chunk {n} is short"
            ))));
        }
        let take = available.min(out.len()).min(remaining);
        out[..take].copy_from_slice(&chunk[offset..offset + take]);
        self.pos += take as u64;
        Ok(take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use store::{MemoryKv, content_id};

    #[test]
    fn chunk_digests_catch_a_changed_byte_and_old_sha256_digests_still_check() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        let digest = chunk_digest(&bytes);
        assert!(
            digest.starts_with("xxh3:") && digest.len() == 5 + 16,
            "{digest}"
        );
        assert!(chunk_matches(&bytes, &digest));
        let mut changed = bytes.clone();
        changed[4321] ^= 1;
        assert!(!chunk_matches(&changed, &digest));
        assert!(chunk_matches(&bytes, &content_id(&bytes)));
        assert!(!chunk_matches(&changed, &content_id(&bytes)));
        assert!(!chunk_matches(&bytes, "xxh3:not-hex"));
    }

    #[test]
    fn values_round_trip_and_ranges_read_across_chunks() {
        let kv = MemoryKv::new();
        let bytes: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        put(&kv, "v", &bytes, 1000).unwrap();
        assert_eq!(get(&kv, "v").unwrap().unwrap(), bytes);
        kv.set("v/1", b"x").unwrap();
        assert!(matches!(get(&kv, "v"), Err(Error::Corrupt(_))));
        delete(&kv, "v").unwrap();
        assert!(kv.is_empty());

        let mut w = ChunkWriter::new(&kv, 1000, |n| Ok(format!("c/{n}")));
        for piece in bytes.chunks(333) {
            w.write(piece).unwrap();
        }
        let (size, sha, shas) = w.finish().unwrap();
        assert_eq!((size, sha, shas.len()), (2500, content_id(&bytes), 3));
        let mut r = RangeReader::new(&kv, 1000, &shas, 990..2010, |n| Ok(format!("c/{n}")));
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, bytes[990..2010]);
    }

    #[test]
    fn values_stream_in_and_out_and_damage_is_caught() {
        use std::io::Write;
        let kv = MemoryKv::new();
        let bytes: Vec<u8> = (0..2500u32).map(|i| (i % 241) as u8).collect();
        let mut w = ValueWriter::new(&kv, "s", 1000);
        for piece in bytes.chunks(7) {
            w.write_all(piece).unwrap();
        }
        w.commit().unwrap();
        assert_eq!(get(&kv, "s").unwrap().unwrap(), bytes);
        let mut got = Vec::new();
        reader(&kv, "s")
            .unwrap()
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, bytes);
        assert!(reader(&kv, "absent").unwrap().is_none());

        kv.set("s/2", b"damaged").unwrap();
        let mut got = Vec::new();
        assert!(
            reader(&kv, "s")
                .unwrap()
                .unwrap()
                .read_to_end(&mut got)
                .is_err()
        );
        kv.delete("s/1").unwrap();
        assert!(
            reader(&kv, "s")
                .unwrap()
                .unwrap()
                .read_to_end(&mut Vec::new())
                .is_err()
        );
    }

    #[test]
    fn a_value_under_one_chunk_is_one_key_checked_like_chunks() {
        use std::io::Write;
        let kv = MemoryKv::new();
        assert_eq!(chunk_digest(b"any").len(), INLINE_DIGEST_LEN);
        for len in [0usize, 1, 500, 1000 - 23] {
            let bytes: Vec<u8> = (0..len as u32).map(|i| (i % 239) as u8).collect();
            put(&kv, "p", &bytes, 1000).unwrap();
            let mut keys = kv.get_keys().unwrap();
            keys.sort();
            assert_eq!(keys, ["p/m"], "{len} bytes: one key, one commit");
            assert!(exists(&kv, "p").unwrap());
            assert_eq!(get(&kv, "p").unwrap().unwrap(), bytes, "{len} bytes");
            let mut got = Vec::new();
            reader(&kv, "p")
                .unwrap()
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            assert_eq!(got, bytes, "{len} bytes, streamed");
            if len > 0 {
                // A changed byte, or a cut value, fails its digest.
                let mut raw = kv.get("p/m").unwrap().unwrap();
                let last = raw.len() - 1;
                raw[last] ^= 1;
                kv.set("p/m", &raw).unwrap();
                assert!(
                    matches!(get(&kv, "p"), Err(Error::Corrupt(_))),
                    "{len} bytes"
                );
                raw.truncate(last);
                kv.set("p/m", &raw).unwrap();
                assert!(
                    matches!(get(&kv, "p"), Err(Error::Corrupt(_))),
                    "{len} bytes"
                );
            }
            delete(&kv, "p").unwrap();
            assert!(kv.is_empty());
        }
        // One byte past what fits with the header: chunks and a manifest, as before.
        let bytes = vec![7u8; 1000 - 22];
        put(&kv, "q", &bytes, 1000).unwrap();
        assert_eq!(kv.get_keys().unwrap().len(), 2);
        assert_eq!(get(&kv, "q").unwrap().unwrap(), bytes);
        // Streamed in pieces that never fill a chunk: one key too.
        let mut w = ValueWriter::new(&kv, "s", 1000);
        for piece in bytes[..900].chunks(7) {
            w.write_all(piece).unwrap();
        }
        w.commit().unwrap();
        assert!(kv.get("s/0").unwrap().is_none());
        assert_eq!(get(&kv, "s").unwrap().unwrap(), bytes[..900]);
    }
}

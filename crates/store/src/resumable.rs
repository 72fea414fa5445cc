//! Resumable uploads (the storage side of tus 1.0): a file of known length arrives in
//! any number of `PATCH` requests, each of which may be cut, and its bytes land directly
//! in fixed-size chunks that become the final blob's (or dataset's) chunks.
//!
//! ```text
//! upl/{uid}/info        the upload (JSON), written once at creation
//! {parts}/{n}           full chunk n of the file, written once when it fills
//! upl/{uid}/d/{start}/{end}  a piece: bytes `start..end`, inside a chunk not yet full
//! upl/{uid}/s/{start}   the piece's end offset (decimal), written after it: its commit
//! upl/{uid}/done        what completing the upload made (JSON), written once
//! ```
//! No key is read, modified and written back, and none is shared between uploads. The
//! offset is derived from what exists: the chunks present from 0 (a chunk is written
//! whole, in order, so they form a prefix), then the chain of pieces of the next chunk
//! (each piece starts where the previous one ended). A `PATCH` cut at any point leaves
//! either its chunk or piece written or not, never half, so the derived offset is always
//! one from which resuming yields the same file. Pieces of a chunk are read back and
//! joined into it when it fills, and then deleted.
//!
//! A piece's data key names its end as well as its start, so a `PATCH` cut by the client
//! and still finishing while the client resumes from an earlier `HEAD` cannot pair one
//! writer's end with the other's bytes: both write the file's own bytes at their
//! offsets, and whichever end marker lands last names data of that length.
//! Concurrent `PATCH`es of one upload with different bytes are the client's error (tus
//! has no locking): the state stays readable, and the completed file is hashed, so a
//! mixed result cannot pass as the file the client meant.

use crate::blob::{from_json, to_json};
use crate::{Error, KeyValue, Result, Store, keys};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// Length of an upload id in hex characters (128 random bits).
pub const UPLOAD_ID_LEN: usize = 32;

/// Whether `uid` can name an upload: 32 lowercase hex characters.
pub fn is_valid_upload_id(uid: &str) -> bool {
    uid.len() == UPLOAD_ID_LEN && uid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One resumable upload, as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// Total length the client declared (`Upload-Length`).
    pub length: u64,
    /// Length of every chunk but the last.
    pub chunk_size: u32,
    /// The key base of the chunks (`{parts}/{n}`): where the finished blob keeps them.
    pub parts: String,
    /// What the file becomes: `image` or `dataset`.
    pub kind: String,
    /// The client's file name, if it sent one (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The client's declared media type (a dataset's format comes from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub created_micros: u64,
    /// After this an unfinished upload is gone (answers 404) and is swept.
    pub expires_micros: u64,
}

impl Upload {
    /// Number of chunks the finished file has.
    pub fn chunks(&self) -> u32 {
        self.length.div_ceil(u64::from(self.chunk_size.max(1))) as u32
    }

    /// Length of chunk `n`.
    fn chunk_len(&self, n: u32) -> u64 {
        let c = u64::from(self.chunk_size);
        c.min(self.length.saturating_sub(u64::from(n) * c))
    }
}

/// Where an upload stands: its offset and what the next `PATCH` builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Bytes stored, from 0 without gaps: `Upload-Offset`.
    pub offset: u64,
    /// Full chunks stored.
    full: u32,
    /// Pieces of chunk `full`, `(start, end)`, in order.
    pieces: Vec<(u64, u64)>,
}

impl Progress {
    pub fn is_complete(&self, upload: &Upload) -> bool {
        self.offset == upload.length
    }
}

/// What one [`append_upload`](Store::append_upload) stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The new offset.
    pub offset: u64,
    /// The body failed before its end (a cut connection); what arrived is kept.
    pub cut: bool,
    /// The body went on past the upload's length or `max_bytes`; nothing past the
    /// offset answered was stored.
    pub overflow: bool,
}

fn info_key(uid: &str) -> Result<String> {
    Ok(format!("{}info", upload_prefix(uid)?))
}
fn done_key(uid: &str) -> Result<String> {
    Ok(format!("{}done", upload_prefix(uid)?))
}
fn piece_data(uid: &str, start: u64, end: u64) -> Result<String> {
    Ok(format!("{}d/{start}/{end}", upload_prefix(uid)?))
}
fn piece_end(uid: &str, start: u64) -> Result<String> {
    Ok(format!("{}s/{start}", upload_prefix(uid)?))
}

/// `upl/{uid}/`: the prefix of an upload's own keys.
pub fn upload_prefix(uid: &str) -> Result<String> {
    if !is_valid_upload_id(uid) {
        return Err(Error::InvalidKey(format!("not an upload id: {:?}", uid.get(..40).unwrap_or(uid))));
    }
    Ok(format!("upl/{uid}/"))
}

/// The chunk base of an image upload: `upl/{uid}/c`.
pub fn image_parts(uid: &str) -> Result<String> {
    Ok(format!("{}c", upload_prefix(uid)?))
}

impl<K: KeyValue> Store<K> {
    /// Records a new upload `uid` (its one write: nothing else exists until a `PATCH`).
    pub fn create_upload(&self, uid: &str, upload: &Upload) -> Result<()> {
        if !(1..=crate::MAX_CHUNK_BYTES).contains(&upload.chunk_size) {
            return Err(Error::InvalidConfig(format!("chunk size {}", upload.chunk_size)));
        }
        keys::base_chunk(&upload.parts, upload.chunks())?;
        self.kv.set(&info_key(uid)?, &to_json(upload))
    }

    /// The upload `uid`, `None` when there is none (never created, terminated, swept).
    pub fn upload(&self, uid: &str) -> Result<Option<Upload>> {
        match self.kv.get(&info_key(uid)?)? {
            Some(raw) => Ok(Some(from_json(&raw, "upload")?)),
            None => Ok(None),
        }
    }

    /// The offset of `upload`, derived from the chunks and pieces that exist.
    pub fn upload_progress(&self, uid: &str, upload: &Upload) -> Result<Progress> {
        let total = upload.chunks();
        let has = |n: u32| -> Result<bool> { self.kv.exists(&keys::base_chunk(&upload.parts, n)?) };
        // Chunks are a prefix: find the first missing one by galloping, then bisecting.
        let (mut lo, mut hi) = (0u32, 1u32.min(total));
        while hi < total && has(hi - 1)? {
            lo = hi;
            hi = (hi * 2).min(total);
        }
        if hi > 0 && has(hi - 1)? {
            lo = hi;
        }
        // Invariant: chunks < lo exist; the first missing one is in lo..hi.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if has(mid)? {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let full = lo;
        let c = u64::from(upload.chunk_size);
        let mut at = u64::from(full) * c;
        let mut pieces = Vec::new();
        if full < total {
            let chunk_end = at + upload.chunk_len(full);
            while let Some(raw) = self.kv.get(&piece_end(uid, at)?)? {
                let end: u64 = std::str::from_utf8(&raw).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                if end <= at || end >= chunk_end {
                    return Err(Error::Corrupt(format!("upload {uid}: piece at {at} ends at {end}")));
                }
                pieces.push((at, end));
                at = end;
            }
        }
        Ok(Progress { offset: at.min(upload.length), full, pieces })
    }

    /// Appends `body` at `progress` (the caller checked the client's `Upload-Offset`
    /// against it), reading at most `max_bytes`, and answers the new offset. Chunks are
    /// written as they fill; what is left of a chunk not yet full becomes one piece. A
    /// body that fails midway (a cut connection) keeps what arrived.
    pub fn append_upload(
        &self,
        uid: &str,
        upload: &Upload,
        progress: &Progress,
        body: &mut impl Read,
        max_bytes: u64,
    ) -> Result<Appended> {
        let c = u64::from(upload.chunk_size);
        let mut n = progress.full;
        let mut buf: Vec<u8> = Vec::with_capacity(upload.chunk_len(n) as usize);
        for &(start, end) in &progress.pieces {
            let data = self
                .kv
                .get(&piece_data(uid, start, end)?)?
                .filter(|d| d.len() as u64 == end - start)
                .ok_or_else(|| Error::Corrupt(format!("upload {uid}: piece at {start} is missing or short")))?;
            buf.extend_from_slice(&data);
        }
        let mut unsaved_from = progress.offset; // bytes of buf from here on are not stored yet
        let (mut received, mut cut, mut overflow) = (0u64, false, false);
        while u64::from(n) < u64::from(upload.chunks()) {
            let want = upload.chunk_len(n) as usize;
            let mut filled = buf.len();
            buf.resize(want, 0);
            while filled < want && !cut {
                let room = (want - filled).min((max_bytes - received) as usize);
                if room == 0 {
                    overflow = has_more(body);
                    break;
                }
                match body.read(&mut buf[filled..filled + room]) {
                    Ok(0) => break,
                    Ok(k) => {
                        filled += k;
                        received += k as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => cut = true,
                }
            }
            buf.truncate(filled);
            if filled < want {
                break;
            }
            let last = n + 1 == upload.chunks();
            if last && !cut && has_more(body) {
                // Past the declared length: store none of this last chunk's new bytes.
                overflow = true;
                buf.truncate((unsaved_from - u64::from(n) * c) as usize);
                break;
            }
            self.kv.set(&keys::base_chunk(&upload.parts, n)?, &buf)?;
            if n == progress.full {
                for &(start, end) in &progress.pieces {
                    let _ = piece_end(uid, start).and_then(|k| self.kv.delete(&k));
                    let _ = piece_data(uid, start, end).and_then(|k| self.kv.delete(&k));
                }
            }
            n += 1;
            buf.clear();
            unsaved_from = u64::from(n) * c;
            if cut || overflow {
                break;
            }
        }
        let chunk_start = u64::from(n) * c;
        let offset = (chunk_start + buf.len() as u64).min(upload.length);
        if offset > unsaved_from {
            let piece = &buf[(unsaved_from - chunk_start) as usize..];
            self.kv.set(&piece_data(uid, unsaved_from, offset)?, piece)?;
            self.kv.set(&piece_end(uid, unsaved_from)?, offset.to_string().as_bytes())?;
        }
        Ok(Appended { offset, cut, overflow })
    }

    /// Chunk `n` of a complete upload, checked for its length.
    pub fn upload_chunk(&self, upload: &Upload, n: u32) -> Result<Vec<u8>> {
        let key = keys::base_chunk(&upload.parts, n)?;
        let chunk = self.kv.get(&key)?.ok_or_else(|| Error::Corrupt(format!("missing chunk {key}")))?;
        if chunk.len() as u64 != upload.chunk_len(n) {
            return Err(Error::Corrupt(format!("chunk {key} has the wrong length")));
        }
        Ok(chunk)
    }

    /// The bytes of a complete upload as a [`Read`], one chunk in memory at a time.
    pub fn upload_reader<'a>(&'a self, upload: &'a Upload) -> UploadReader<'a, K> {
        UploadReader { store: self, upload, next: 0, chunk: Vec::new(), at: 0 }
    }

    /// Records what completing upload `uid` made (written once, by the completing request).
    pub fn finish_upload(&self, uid: &str, result: &[u8]) -> Result<()> {
        self.kv.set(&done_key(uid)?, result)
    }

    /// What completing upload `uid` made, once it is done.
    pub fn upload_result(&self, uid: &str) -> Result<Option<Vec<u8>>> {
        self.kv.get(&done_key(uid)?)
    }

    /// Removes upload `uid`: its record first (from then on it is gone), then its pieces
    /// and result, and its chunks when `with_parts` (an upload that made nothing; a
    /// finished one's chunks belong to what it made). Every key is the upload's own.
    pub fn delete_upload(&self, uid: &str, upload: &Upload, with_parts: bool) -> Result<()> {
        let prefix = upload_prefix(uid)?;
        let parts = format!("{}/", upload.parts);
        self.kv.delete(&info_key(uid)?)?;
        for key in self.kv.get_keys()? {
            if key.starts_with(&prefix) && !key.starts_with(&parts) {
                self.kv.delete(&key)?;
            }
        }
        if with_parts {
            self.delete_upload_parts(upload)?;
        }
        Ok(())
    }

    /// Removes the chunks of `upload` (a finished upload whose file was stored already:
    /// a re-upload of an image the store has).
    pub fn delete_upload_parts(&self, upload: &Upload) -> Result<()> {
        for n in 0..upload.chunks() {
            self.kv.delete(&keys::base_chunk(&upload.parts, n)?)?;
        }
        Ok(())
    }

    /// The SHA-256 (lowercase hex: the image's id) and the [`fast_digest`](crate::fast_digest)
    /// (what reads check) of a complete upload, read one chunk at a time.
    pub fn hash_upload(&self, upload: &Upload) -> Result<(String, String)> {
        use sha2::Digest;
        let mut whole = sha2::Sha256::new();
        let mut fast = xxhash_rust::xxh3::Xxh3::new();
        for n in 0..upload.chunks() {
            let chunk = self.upload_chunk(upload, n)?;
            whole.update(&chunk);
            fast.update(&chunk);
        }
        Ok((hex::encode(whole.finalize()), crate::id::xxh3_digest(fast.digest())))
    }

    /// Removes every upload that expired before `now_micros`: unfinished ones with their
    /// chunks, finished ones without (their chunks are the blob's). Answers how many.
    pub fn sweep_uploads(&self, now_micros: u64) -> Result<usize> {
        let mut swept = 0;
        for key in self.kv.get_keys()? {
            let Some(uid) = key.strip_prefix("upl/").and_then(|k| k.strip_suffix("/info")) else {
                continue;
            };
            if !is_valid_upload_id(uid) {
                continue;
            }
            let Ok(Some(upload)) = self.upload(uid) else { continue };
            if upload.expires_micros < now_micros {
                let finished = self.upload_result(uid)?.is_some();
                self.delete_upload(uid, &upload, !finished)?;
                swept += 1;
            }
        }
        Ok(swept)
    }
}

/// Whether `body` has at least one more byte (a read error counts as no).
fn has_more(body: &mut impl Read) -> bool {
    let mut one = [0u8; 1];
    loop {
        match body.read(&mut one) {
            Ok(k) => return k > 0,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A complete upload's bytes, read chunk by chunk ([`Store::upload_reader`]).
pub struct UploadReader<'a, K: KeyValue> {
    store: &'a Store<K>,
    upload: &'a Upload,
    next: u32,
    chunk: Vec<u8>,
    at: usize,
}

impl<K: KeyValue> Read for UploadReader<'_, K> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.chunk.len() {
            if out.is_empty() || self.next >= self.upload.chunks() {
                return Ok(0);
            }
            self.chunk = self.store.upload_chunk(self.upload, self.next).map_err(std::io::Error::other)?;
            self.next += 1;
            self.at = 0;
        }
        let take = (self.chunk.len() - self.at).min(out.len());
        out[..take].copy_from_slice(&self.chunk[self.at..self.at + take]);
        self.at += take;
        Ok(take)
    }
}
